"""Cross-issuer forgery: a key of one trusted issuer signs a token claiming another trusted
issuer (the multi-tenant form of key confusion). A key source merging both issuers' keys
accepts it; ``MultiIssuerValidator`` verifies each token with its claimed issuer's keys only.
Tokens are built by the stdlib forger, not the signer.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.attacks._assert import refused, validated
from tests.support.forge import (
    AUDIENCE,
    NOW,
    b64,
    claims,
    header_for,
    segment,
    signed,
    signed_raw,
)
from tokensmith import (
    InvalidIssuer,
    InvalidJSON,
    InvalidSignature,
    Key,
    KeySet,
    MemoryKeyStore,
    UnknownKey,
)
from tokensmith.issuers import MultiIssuerValidator
from tokensmith.testing import FakeClock

A = "https://tenant-a.example"
B = "https://tenant-b.example"


@pytest.fixture
def keys() -> dict[str, Key]:
    return {A: Key.generate("ES256", kid="a-1"), B: Key.generate("ES256", kid="b-1")}


@pytest.fixture
def router(keys: dict[str, Key], clock: FakeClock) -> MultiIssuerValidator:
    stores = {iss: MemoryKeyStore(KeySet([k.public_key()]), clock=clock) for iss, k in keys.items()}
    return MultiIssuerValidator(stores, audience=AUDIENCE, clock=clock)


def payload(iss: str, **extra: Any) -> dict[str, Any]:
    return {**claims(iss=iss, exp=NOW + 300), **extra}


def test_each_issuers_own_tokens_pass(router: MultiIssuerValidator, keys: dict[str, Key]) -> None:
    for iss, key in keys.items():
        token = signed(header_for(key), payload(iss), key)
        assert validated(router, token).issuer == iss  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header",
    [
        {"kid": "a-1"},  # A's key named by its own kid
        {"kid": "b-1"},  # A's key under B's kid
        {},  # no kid at all
    ],
)
def test_a_key_of_a_claiming_b_is_refused(
    router: MultiIssuerValidator, keys: dict[str, Key], header: dict[str, str]
) -> None:
    token = signed({"alg": "ES256", "typ": "JWT", **header}, payload(B), keys[A])
    expected = UnknownKey if header.get("kid") == "a-1" else InvalidSignature
    refused(router, token, expected)  # type: ignore[arg-type]


def test_an_iss_swapped_after_signing_is_refused(
    router: MultiIssuerValidator, keys: dict[str, Key]
) -> None:
    head, _, signature = signed(header_for(keys[A]), payload(A), keys[A]).split(".")
    refused(router, f"{head}.{segment(payload(B))}.{signature}", UnknownKey)  # type: ignore[arg-type]


def test_a_duplicated_iss_cannot_route_one_way_and_verify_another(
    router: MultiIssuerValidator, keys: dict[str, Key]
) -> None:
    body = b'{"iss": "%s", "aud": "%s", "exp": %d, "iss": "%s"}' % (
        B.encode(),
        AUDIENCE.encode(),
        NOW + 300,
        A.encode(),
    )
    head = segment(header_for(keys[A]))
    refused(router, signed_raw(head, b64(body), keys[A]), InvalidJSON)  # type: ignore[arg-type]


def test_an_untrusted_issuer_is_refused_before_any_key(
    router: MultiIssuerValidator, keys: dict[str, Key]
) -> None:
    token = signed(header_for(keys[A]), payload("https://tenant-c.example"), keys[A])
    refused(router, token, InvalidIssuer)  # type: ignore[arg-type]
