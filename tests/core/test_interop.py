"""Interoperability with an independent implementation (PyJWT), both ways, every algorithm.

tokensmith signs and verifies through ``cryptography`` directly; these tests prove the bytes
on the wire are what another JOSE library produces and accepts.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import jwt
import pytest

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.keys import SUPPORTED_ALGORITHMS

ISSUER = "https://issuer.test"
AUDIENCE = "https://api.test"
# PyJWT (2.10 to 2.15 at least) knows RFC 8037's EdDSA but not RFC 9864's Ed25519 / Ed448:
# those are proven against ``cryptography`` itself in test_fully_specified.py
FULLY_SPECIFIED = frozenset({"Ed25519", "Ed448"})
ALGORITHMS = sorted(SUPPORTED_ALGORITHMS & set(jwt.algorithms.get_default_algorithms()))


def _keys(key: Key) -> tuple[Any, Any]:
    """(PyJWT signing key, PyJWT verification key) for ``key``."""
    if key.is_symmetric:
        secret = jwt.PyJWK(key.to_jwk(private=True)).key
        return secret, secret
    return jwt.PyJWK(key.to_jwk(private=True)).key, jwt.PyJWK(key.to_jwk()).key


@pytest.fixture(scope="module", params=ALGORITHMS)
def key(request: pytest.FixtureRequest) -> Key:
    return Key.generate(request.param)


@pytest.mark.parametrize("edwards", ["Ed25519", "Ed448"])
def test_eddsa_curves_interoperate(edwards: Literal["Ed25519", "Ed448"]) -> None:
    key = Key.generate("EdDSA", curve=edwards)
    _round_trips(key)


def test_only_the_fully_specified_names_are_left_to_another_test() -> None:
    assert SUPPORTED_ALGORITHMS - set(ALGORITHMS) <= FULLY_SPECIFIED


def test_tokensmith_tokens_verify_with_pyjwt(key: Key) -> None:
    _round_trips(key)


def _round_trips(key: Key) -> None:
    signer = Signer(MemoryKeyStore(KeySet([key])), issuer=ISSUER, ttl=300)
    token = signer.issue("user-1", audience=AUDIENCE, scopes=["read"])
    _, verifying = _keys(key)
    claims = jwt.decode(token, verifying, algorithms=[key.alg], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == "user-1" and claims["scope"] == "read"
    assert jwt.get_unverified_header(token)["kid"] == key.kid

    signing, _ = _keys(key)
    now = int(time.time())
    foreign = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-2", "iat": now, "exp": now + 60},
        signing,
        algorithm=key.alg,
        headers={"kid": key.kid},
    )
    verified = Validator(MemoryKeyStore(KeySet([key])), issuer=ISSUER, audience=AUDIENCE).validate(
        foreign
    )
    assert verified.subject == "user-2"
