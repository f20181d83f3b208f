"""Hostile ``kid`` values: they are only ever a dictionary key, never a path, a query or a
command, and oversized ones are refused before any lookup."""

from __future__ import annotations

import pytest

from tests.attacks._assert import refused, validated
from tests.support.forge import claims, header_for, hmac_forged, signed
from tokensmith import (
    Key,
    KeySet,
    MemoryKeyStore,
    TokenTooLarge,
    UnknownKey,
    Validator,
)
from tokensmith.testing import FakeClock

HOSTILE_KIDS = [
    "../../../../../../dev/null",
    "/dev/null",
    "..\\..\\..\\windows\\win.ini",
    "file:///etc/passwd",
    "' OR '1'='1",
    "x' UNION SELECT 'secret' --",
    '"; DROP TABLE keys; --',
    "$(touch /tmp/pwned)",
    "`id`",
    "| id",
    "kid\x00.pem",
    "\x00",
    "hs-1\x00",
    "hs-1 ",
    " hs-1",
    "HS-1",
    "hs-1\u200b",
    "h\u0455-1",  # Cyrillic dze, looks like "s"
    "%2e%2e%2f",
    "{{7*7}}",
    "a" * 256,  # at the length limit: a lookup, no match
]


@pytest.mark.parametrize("kid", HOSTILE_KIDS)
def test_hostile_kid_is_unknown(kid: str, hs_key: Key, hs_validator: Validator) -> None:
    # Signed with the real key, even: the kid must match exactly.
    refused(hs_validator, signed(header_for(hs_key, kid=kid), claims(), hs_key), UnknownKey)
    # The /dev/null trick: HMAC keyed with the empty string (what reading /dev/null yields).
    refused(hs_validator, hmac_forged(header_for(hs_key, kid=kid), claims(), b""), UnknownKey)


@pytest.mark.parametrize("length", [257, 1000, 5000])
def test_overlong_kid_is_refused_before_lookup(length: int, hs_key: Key, clock: FakeClock) -> None:
    lookups: list[object] = []

    class Spy:
        def verification_key(self, kid: str | None, alg: str) -> Key:
            lookups.append(kid)
            return hs_key

    validator = Validator(
        Spy(), issuer="https://auth.example.test", audience="orders-api", clock=clock
    )
    refused(validator, signed(header_for(hs_key, kid="k" * length), claims(), hs_key), UnknownKey)
    assert lookups == []


def test_megabyte_kid_is_too_large(hs_key: Key, hs_validator: Validator) -> None:
    token = signed(header_for(hs_key, kid="k" * 1_000_000), claims(), hs_key)
    refused(hs_validator, token, TokenTooLarge)


@pytest.mark.parametrize("kid", [0, 1.5, True, [], ["hs-1"], {"kid": "hs-1"}, "", None])
def test_kid_of_the_wrong_type_is_refused(
    kid: object, hs_key: Key, hs_validator: Validator
) -> None:
    # kid: null is not "no kid": RFC 7515 §4.1.4 makes kid a string when present.
    token = signed({"alg": "HS256", "kid": kid, "typ": "JWT"}, claims(), hs_key)
    refused(hs_validator, token, UnknownKey)


def test_the_key_set_never_treats_kid_as_a_path(clock: FakeClock) -> None:
    key = Key.from_secret(b"k" * 32, "HS256", kid="../../etc/passwd")
    store = MemoryKeyStore(KeySet([key]), clock=clock)
    validator = Validator(
        store, issuer="https://auth.example.test", audience="orders-api", clock=clock
    )
    # A kid that *is* a path-looking string works only as an exact dictionary key.
    assert validated(validator, signed(header_for(key), claims(), key)).key_id == key.kid
    refused(validator, signed(header_for(key, kid="../etc/passwd"), claims(), key), UnknownKey)
