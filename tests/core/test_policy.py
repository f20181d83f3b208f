"""tokensmith.policy: the defaults, the named opt-outs and how a Validator's options compile.

The string rule: an option that lists values takes one plain string as that one value, never as
its characters, for every such option and every way in (Validator, the profiles forwarding to
it).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokensmith
from tests.support import AUDIENCE, ISSUER
from tests.support.forge import header_for, signed
from tokensmith import (
    ConfigurationError,
    InvalidTokenType,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    ValidationPolicy,
    Validator,
)
from tokensmith.keys import SUPPORTED_ALGORITHMS
from tokensmith.oauth import access_token_validator
from tokensmith.policy import (
    DEFAULT_SCOPE_CLAIMS,
    DEFAULT_TOKEN_TYPES,
    NO_AUDIENCE,
    UNCHECKED,
    required_scopes,
)
from tokensmith.testing import FakeClock

_STORE = MemoryKeyStore(KeySet([Key.from_secret(bytes(32), "HS256", kid="k")]))
_NAME = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=2, max_size=12
).filter(lambda s: s.strip() == s and " " not in s)


def _policy(**options: Any) -> ValidationPolicy:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, **options}
    return Validator(_STORE, **settings).policy


@pytest.mark.parametrize(
    ("option", "value", "field", "expected"),
    [
        ("algorithms", "HS256", "algorithms", frozenset({"HS256"})),
        ("token_types", "at+jwt", "token_types", frozenset({"at+jwt"})),
        ("token_types", "application/at+JWT", "token_types", frozenset({"at+jwt"})),
        ("issuer", "https://a.test", "issuers", frozenset({"https://a.test"})),
        ("audience", "orders-api", "audiences", frozenset({"orders-api"})),
        ("required_claims", "sub", "required_claims", frozenset({"sub"})),
        ("scope_claims", "scopes", "scope_claims", ("scopes",)),
        ("scopes", "orders:read", "scopes", frozenset({"orders:read"})),
    ],
)
def test_one_string_is_one_value(option: str, value: str, field: str, expected: object) -> None:
    assert getattr(_policy(**{option: value}), field) == expected
    assert getattr(_policy(**{option: [value]}), field) == expected


@given(name=_NAME)
def test_one_string_means_the_same_as_a_list_of_it(name: str) -> None:
    for option, field in (
        ("token_types", "token_types"),
        ("required_claims", "required_claims"),
        ("scope_claims", "scope_claims"),
        ("issuer", "issuers"),
        ("audience", "audiences"),
    ):
        alone = getattr(_policy(**{option: name}), field)
        assert alone == getattr(_policy(**{option: [name]}), field), option
        assert len(alone) == 1, option


@pytest.mark.parametrize("alg", sorted(SUPPORTED_ALGORITHMS))
def test_one_algorithm_name_is_that_algorithm(alg: str) -> None:
    assert _policy(algorithms=alg).algorithms == {alg}


def test_token_types_given_as_one_string_accepts_that_type_and_only_it(clock: FakeClock) -> None:
    key = Key.from_secret(bytes(range(32)), "HS256", kid="k")
    store = MemoryKeyStore(KeySet([key]), clock=clock)
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, token_types="at+jwt"
    )
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": clock() + 60}
    accepted = signed(header_for(key, typ="at+jwt"), claims, key)
    assert validator.validate(accepted).token_type == "at+jwt"
    for typ in ("a", "t", "+", "jwt"):  # its characters, or another type, are not accepted
        with pytest.raises(InvalidTokenType) as info:
            validator.validate(signed(header_for(key, typ=typ), claims, key))
        assert type(info.value) is InvalidTokenType


def test_the_profiles_forwarding_options_follow_the_rule(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet([Key.generate("ES256")]), clock=clock)
    validator = access_token_validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        algorithms="ES256",
        required_claims="tenant",
    )
    assert validator.policy.algorithms == {"ES256"}
    assert "tenant" in validator.policy.required_claims
    token = Signer(store, issuer=ISSUER, clock=clock, token_type="at+jwt").issue(
        "u", audience=AUDIENCE, claims={"client_id": "c", "tenant": "t"}
    )
    assert validator.validate(token).subject == "u"


@pytest.mark.parametrize(
    "option", ["algorithms", "token_types", "issuer", "audience", "required_claims", "scope_claims"]
)
@pytest.mark.parametrize("value", [b"HS256", bytearray(b"x"), {"HS256": 1}, 3, object()])
def test_bytes_mappings_and_non_collections_are_refused(option: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        _policy(**{option: value})
    assert type(info.value) is ConfigurationError
    assert option in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("algorithms", "none"),
        ("algorithms", "hs256"),
        ("algorithms", ()),
        ("token_types", ""),
        ("token_types", ()),
        ("issuer", ""),
        ("audience", ()),
        ("required_claims", ""),
        ("scope_claims", ""),
        ("scope_claims", ()),
        ("scopes", ["a b"]),
        ("checks", "len"),
        ("checks", len),
        ("checks", [1]),
    ],
)
def test_bad_values_are_refused_when_the_validator_is_built(option: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        _policy(**{option: value})
    assert type(info.value) is ConfigurationError


def test_scopes_as_a_string_are_a_space_separated_scope_list() -> None:
    assert _policy(scopes="a b").scopes == {"a", "b"}
    assert required_scopes("orders:read  orders:write") == {"orders:read", "orders:write"}
    assert required_scopes(()) == frozenset()


def test_defaults_and_opt_outs() -> None:
    policy = _policy()
    assert policy.token_types == DEFAULT_TOKEN_TYPES
    assert policy.scope_claims is DEFAULT_SCOPE_CLAIMS
    assert policy.algorithms == SUPPORTED_ALGORITHMS
    opted = _policy(issuer=UNCHECKED, audience=NO_AUDIENCE, token_types=UNCHECKED)
    assert (opted.issuers, opted.audiences, opted.token_types) == (None, frozenset(), None)


def test_pinning_narrows_the_trusted_issuers() -> None:
    policy = _policy(issuer=[ISSUER, "https://b.test"])
    assert policy.pinned_to("https://b.test").issuers == frozenset({"https://b.test"})
    assert _policy(issuer=UNCHECKED).pinned_to(ISSUER).issuers == frozenset({ISSUER})
    with pytest.raises(ConfigurationError):
        policy.pinned_to("https://c.test")


def test_the_policy_class_is_exported_under_its_one_name() -> None:
    assert tokensmith.ValidationPolicy is ValidationPolicy
    assert "ValidationPolicy" in tokensmith.__all__
    assert not hasattr(tokensmith, "Policy")
    assert type(_policy()) is ValidationPolicy
