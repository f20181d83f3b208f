"""Registered claims of the wrong type or out of range: each refused as ``InvalidClaim``
itself (not ``ExpiredToken`` etc.: a string ``exp`` is not "expired", it is invalid). A ``null``
``exp`` where the policy requires one is missing (``MissingClaim``); see test_claim_values.py
for null, empty and negative values."""

from __future__ import annotations

import math

import pytest

from tests.attacks._assert import refused, validated
from tests.support.forge import NOW, b64, claims, header_for, signed, signed_raw
from tokensmith import (
    InvalidAudience,
    InvalidClaim,
    Key,
    MissingClaim,
    Validator,
)

BAD_TIMES: list[object] = [
    str(NOW + 600),
    "1700000600.0",
    "",
    True,
    False,
    [NOW + 600],
    {"$date": NOW + 600},
    -62135596801,  # 0000-12-31T23:59:59Z: before the earliest accepted NumericDate (year 1)
    -(2**63),
    2**64,
    2**64 + 1,
    2**1000,
    253402300800,  # 10000-01-01T00:00:00Z: beyond the largest accepted NumericDate
    1e300,
    None,  # null is not a NumericDate either
]


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
def test_time_claims_of_the_wrong_type_or_range(
    name: str, value: object, hs_key: Key, hs_validator: Validator
) -> None:
    token = signed(header_for(hs_key), {**claims(), name: value}, hs_key)
    required = name == "exp" and value is None  # require_exp: a null exp is a missing one
    refused(hs_validator, token, MissingClaim if required else InvalidClaim)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_time_claims_nan_and_infinity(
    name: str, text: str, hs_key: Key, hs_validator: Validator
) -> None:
    from tokensmith import InvalidJSON

    body = claims()
    body[name] = 0
    raw = b64(__import__("json").dumps(body).replace(f'"{name}": 0', f'"{name}": {text}').encode())
    token = signed_raw(b64(__import__("json").dumps(header_for(hs_key)).encode()), raw, hs_key)
    # NaN/Infinity are not JSON: refused by the parser; 1e400 parses as inf: out of range.
    refused(hs_validator, token, InvalidJSON if text[-1].isalpha() else InvalidClaim)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_time_claims_as_floats_are_fine(name: str, hs_key: Key, hs_validator: Validator) -> None:
    value = {"exp": NOW + 600.5, "nbf": NOW - 0.5, "iat": NOW - 0.25}[name]
    tok = validated(hs_validator, signed(header_for(hs_key), claims(**{name: value}), hs_key))
    assert math.isfinite(tok.claims[name])


def test_zero_is_a_valid_but_old_time(hs_key: Key, hs_validator: Validator) -> None:
    assert validated(hs_validator, signed(header_for(hs_key), claims(iat=0, nbf=0), hs_key))


@pytest.mark.parametrize(
    "aud",
    [
        [["orders-api"]],
        [[]],
        {"aud": "orders-api"},
        ["orders-api", 1],
        ["orders-api", None],
        ["orders-api", ["orders-api"]],
        ["orders-api", {"x": 1}],
        1,
        True,
        1.5,
    ],
    ids=repr,
)
def test_audience_shapes(aud: object, hs_key: Key, hs_validator: Validator) -> None:
    refused(hs_validator, signed(header_for(hs_key), claims(aud=aud), hs_key), InvalidClaim)


@pytest.mark.parametrize("aud", ["", [""], "ORDERS-API", "orders-api ", ["orders-api\x00"]])
def test_audience_near_misses(aud: object, hs_key: Key, hs_validator: Validator) -> None:
    refused(hs_validator, signed(header_for(hs_key), claims(aud=aud), hs_key), InvalidAudience)


def test_audience_null_is_missing(hs_key: Key, hs_validator: Validator) -> None:
    body = {**claims(), "aud": None}
    refused(hs_validator, signed(header_for(hs_key), body, hs_key), MissingClaim)


@pytest.mark.parametrize("name", ["iss", "sub", "jti"])
@pytest.mark.parametrize("value", [1, True, [], ["x"], {"x": 1}, 1.5])
def test_string_claims_of_the_wrong_type(
    name: str, value: object, hs_key: Key, hs_validator: Validator
) -> None:
    refused(hs_validator, signed(header_for(hs_key), claims(**{name: value}), hs_key), InvalidClaim)


@pytest.mark.parametrize(
    "extra",
    [{"scope": [1]}, {"scope": 1}, {"scp": [1]}, {"scp": {"a": 1}}, {"scope": None}, {"scp": None}],
)
def test_scope_shapes(extra: dict[str, object], hs_key: Key, hs_validator: Validator) -> None:
    # A space-separated string or an array of strings; anything else, null included, refuses
    # (a grant of unknown shape is never read as "nothing" or as something else).
    body = {**claims(), **extra}
    refused(hs_validator, signed(header_for(hs_key), body, hs_key), InvalidClaim)


def test_a_scope_array_grants_its_scopes(hs_key: Key, hs_validator: Validator) -> None:
    body = {**claims(), "scope": ["a", "b"], "scp": "c"}
    assert validated(hs_validator, signed(header_for(hs_key), body, hs_key)).scopes == {
        "a",
        "b",
        "c",
    }
