"""Null, empty and negative claim values (issue 13 items 1, 3 and 4).

One rule for ``null``: it never satisfies anything. A claim the policy requires (``required_claims``,
``iss``/``aud`` when the policy names them, ``exp`` under ``require_exp``, ``iat`` under ``max_age``)
that is ``null`` is missing (``MissingClaim``); a registered claim that is optional here and ``null``
has the wrong type (``InvalidClaim``). Every verdict is the same with a validated-token cache.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attacks._assert import refused, validated
from tests.attacks.conftest import validator_for
from tests.support.forge import NOW, b64, claims, header_for, signed, signed_raw
from tokensmith import (
    NO_AUDIENCE,
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    ExpiredToken,
    InvalidAudience,
    InvalidClaim,
    Key,
    MissingClaim,
    TokenTooOld,
    Validator,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.errors import TokensmithError
from tokensmith.testing import FakeClock

YEAR_1: int = -62135596800  # 0001-01-01T00:00:00Z, the earliest accepted NumericDate
YEAR_9999: int = 253402300799  # 9999-12-31T23:59:59Z, the latest


def both(hs_key: Key, clock: FakeClock, **options: Any) -> list[Validator]:
    """The same policy without and with a validated-token cache."""
    return [
        validator_for(hs_key, clock=clock, **options),
        validator_for(hs_key, clock=clock, cache=ValidatedTokenCache(), **options),
    ]


def refused_twice(validators: list[Validator], token: str, error: type[TokensmithError]) -> None:
    """Refused exactly alike on the full path and (asked again) with a cache."""
    for validator in validators:
        refused(validator, token, error)
        refused(validator, token, error)


# --- item 1: required means present and not null ------------------------------------------------


@pytest.mark.parametrize("name", ["sub", "jti", "tenant", "iss", "aud", "exp", "nbf", "iat"])
def test_a_required_claim_that_is_null_is_missing(name: str, hs_key: Key, clock: FakeClock) -> None:
    token = signed(header_for(hs_key), {**claims(nbf=NOW), name: None}, hs_key)
    error = None
    for validator in both(hs_key, clock, required_claims=[name]):
        error = refused(validator, token, MissingClaim)
        refused(validator, token, MissingClaim)
    assert isinstance(error, MissingClaim) and error.claim == name


def test_a_required_claim_that_is_absent_is_still_missing(hs_key: Key, clock: FakeClock) -> None:
    body = {k: v for k, v in claims().items() if k != "sub"}
    refused_twice(
        both(hs_key, clock, required_claims=["sub"]),
        signed(header_for(hs_key), body, hs_key),
        MissingClaim,
    )


def test_required_claims_given_as_one_string_name_one_claim(hs_key: Key, clock: FakeClock) -> None:
    validator = validator_for(hs_key, clock=clock, required_claims="sub")
    assert validator.policy.required_claims == frozenset({"sub"})
    assert validated(validator, signed(header_for(hs_key), claims(), hs_key)).subject == "user-1"


@pytest.mark.parametrize("name", ["sub", "jti"])
def test_optional_string_claims_that_are_null_are_invalid(
    name: str, hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), {**claims(), name: None}, hs_key)
    refused_twice(both(hs_key, clock), token, InvalidClaim)


def test_iss_null_is_invalid_under_unchecked_and_missing_when_checked(
    hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), {**claims(), "iss": None}, hs_key)
    refused_twice(both(hs_key, clock, issuer=UNCHECKED), token, InvalidClaim)
    refused_twice(both(hs_key, clock), token, MissingClaim)
    absent = signed(header_for(hs_key), {k: v for k, v in claims().items() if k != "iss"}, hs_key)
    assert validated(validator_for(hs_key, clock=clock, issuer=UNCHECKED), absent).issuer is None


def test_exp_null_is_missing_when_required_and_invalid_when_optional(
    hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), {**claims(), "exp": None}, hs_key)
    refused_twice(both(hs_key, clock), token, MissingClaim)
    refused_twice(both(hs_key, clock, require_exp=False), token, InvalidClaim)


def test_iat_null_is_missing_under_max_age_and_invalid_otherwise(
    hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), {**claims(), "iat": None}, hs_key)
    refused_twice(both(hs_key, clock, max_age=3600), token, MissingClaim)
    refused_twice(both(hs_key, clock), token, InvalidClaim)


@pytest.mark.parametrize("audience", [NO_AUDIENCE, UNSAFE_ANY_AUDIENCE], ids=repr)
def test_aud_null_is_invalid_where_no_audience_is_required(
    audience: object, hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), {**claims(), "aud": None}, hs_key)
    refused_twice(both(hs_key, clock, audience=audience), token, InvalidClaim)


JSON_NON_STRINGS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(["sub", "jti", "iss"]), value=JSON_NON_STRINGS)
def test_string_claims_of_any_other_json_type_are_invalid(
    name: str, value: object, hs_key: Key, clock: FakeClock
) -> None:
    validator = validator_for(hs_key, clock=clock, issuer=UNCHECKED)
    refused(validator, signed(header_for(hs_key), {**claims(), name: value}, hs_key), InvalidClaim)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.sampled_from(["sub", "jti", "tenant", "roles", "exp", "iat"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    nulled=st.data(),
)
def test_any_required_claim_that_is_null_is_missing(
    names: list[str], nulled: st.DataObject, hs_key: Key, clock: FakeClock
) -> None:
    name = nulled.draw(st.sampled_from(names))
    body = {**claims(), "tenant": "t", "roles": ["r"], name: None}
    error = refused(
        validator_for(hs_key, clock=clock, required_claims=names),
        signed(header_for(hs_key), body, hs_key),
        MissingClaim,
    )
    assert isinstance(error, MissingClaim) and error.claim == name


# --- item 3: an empty audience list names no audience -----------------------------------------


def test_empty_audience_list_is_not_this_audience(hs_key: Key, clock: FakeClock) -> None:
    token = signed(header_for(hs_key), claims(aud=[]), hs_key)
    refused_twice(both(hs_key, clock), token, InvalidAudience)


def test_absent_audience_is_missing_when_one_is_required(hs_key: Key, clock: FakeClock) -> None:
    body = {k: v for k, v in claims().items() if k != "aud"}
    refused_twice(both(hs_key, clock), signed(header_for(hs_key), body, hs_key), MissingClaim)


@pytest.mark.parametrize("audience", [NO_AUDIENCE, UNSAFE_ANY_AUDIENCE], ids=repr)
def test_empty_audience_list_passes_where_no_audience_is_required(
    audience: object, hs_key: Key, clock: FakeClock
) -> None:
    for validator in both(hs_key, clock, audience=audience):
        token = signed(header_for(hs_key), claims(aud=[]), hs_key)
        assert validated(validator, token).audience == ()
        assert validated(validator, token).audience == ()


# --- item 4: negative NumericDates are dates ----------------------------------------------------


@pytest.mark.parametrize("exp", [-1, -1.5, 0, YEAR_1, float(YEAR_1)], ids=repr)
def test_exp_before_1970_is_expired(exp: float, hs_key: Key, clock: FakeClock) -> None:
    refused_twice(
        both(hs_key, clock), signed(header_for(hs_key), claims(exp=exp), hs_key), ExpiredToken
    )


@pytest.mark.parametrize("name", ["nbf", "iat"])
@pytest.mark.parametrize("value", [-1, -1.5, YEAR_1])
def test_nbf_and_iat_before_1970_are_in_the_past(
    name: str, value: float, hs_key: Key, clock: FakeClock
) -> None:
    for validator in both(hs_key, clock):
        token = signed(header_for(hs_key), claims(**{name: value}), hs_key)
        assert validated(validator, token).claims[name] == value
        assert validated(validator, token).claims[name] == value


def test_iat_before_1970_is_too_old_under_max_age(hs_key: Key, clock: FakeClock) -> None:
    token = signed(header_for(hs_key), claims(iat=-1), hs_key)
    refused_twice(both(hs_key, clock, max_age=3600), token, TokenTooOld)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [YEAR_1 - 1, YEAR_1 - 0.5, YEAR_9999 + 1, -(2**63), -(2**1100), 2**1100, -1e300],
    ids=repr,
)
def test_dates_outside_years_1_to_9999_are_out_of_range(
    name: str, value: float, hs_key: Key, clock: FakeClock
) -> None:
    token = signed(header_for(hs_key), claims(**{name: value}), hs_key)
    refused_twice(both(hs_key, clock), token, InvalidClaim)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("text", ["1e400", "-1e400"])
def test_infinite_dates_stay_refused(name: str, text: str, hs_key: Key, clock: FakeClock) -> None:
    body = json.dumps({**claims(), name: 0}).replace(f'"{name}": 0', f'"{name}": {text}')
    token = signed_raw(b64(json.dumps(header_for(hs_key)).encode()), b64(body.encode()), hs_key)
    refused_twice(both(hs_key, clock), token, InvalidClaim)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    exp=st.integers(min_value=YEAR_1, max_value=NOW - 31)
    | st.floats(min_value=YEAR_1, max_value=NOW - 31)
)
def test_any_exp_in_the_past_back_to_year_1_is_expired(
    exp: float, hs_key: Key, clock: FakeClock
) -> None:
    validator = validator_for(hs_key, clock=clock)
    refused(validator, signed(header_for(hs_key), claims(exp=exp, iat=None), hs_key), ExpiredToken)
