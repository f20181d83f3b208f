"""``scope_claims``: which claims carry the granted scopes (issue 13 item 6).

Node services built on ``jsonwebtoken`` commonly sign ``{"sub", "scopes": [...], "iat", "exp"}``
with HS256 (``expiresIn`` sets ``exp``); ``Validator(scope_claims=...)`` makes such a ``scopes``
array count for ``validate(t, scopes=...)``, on the full path and on a cache hit alike.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith import (
    DEFAULT_SCOPE_CLAIMS,
    NO_AUDIENCE,
    UNCHECKED,
    ConfigurationError,
    InsufficientScope,
    InvalidClaim,
    Key,
    KeySet,
    MemoryKeyStore,
    Validator,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.claims import parse_scopes
from tokensmith.testing import FakeClock

SECRET = b"a node service's shared secret, 32+ bytes long!"
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def node_style(payload: dict[str, Any], secret: bytes = SECRET) -> str:
    """What ``jwt.sign(payload, secret, {expiresIn: '1h'})`` emits: HS256, no kid, no iss/aud."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(payload, separators=(",", ":")).encode())
    tag = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(tag)}"


def payload(**extra: Any) -> dict[str, Any]:
    return {"sub": "user-1", "iat": NOW, "exp": NOW + 3600, **extra}


def validators(**options: Any) -> list[Validator]:
    """Without and with a cache, for a node service (no iss, no aud)."""
    clock = FakeClock(float(NOW))
    store = MemoryKeyStore(KeySet([Key.from_secret(SECRET, "HS256")]), clock=clock)
    settings: dict[str, Any] = {"issuer": UNCHECKED, "audience": NO_AUDIENCE, "clock": clock}
    settings.update(options)
    return [
        Validator(store, **settings),
        Validator(store, cache=ValidatedTokenCache(), **settings),
    ]


def test_a_node_jsonwebtoken_scopes_array_is_invisible_by_default() -> None:
    token = node_style(payload(scopes=["orders:read", "orders:write"]))
    for validator in validators():
        assert validator.validate(token).scopes == frozenset()
        with pytest.raises(InsufficientScope):
            validator.validate(token, scopes=["orders:read"])


@pytest.mark.parametrize("names", [("scopes",), ("scope", "scp", "scopes"), ["scopes"], "scopes"])
def test_scope_claims_names_the_claims_that_grant(names: Any) -> None:
    token = node_style(payload(scopes=["orders:read", "orders:write"]))
    for validator in validators(scope_claims=names):
        for _ in range(2):  # the full path, then (with a cache) a hit
            tok = validator.validate(token, scopes=["orders:read"])
            assert tok.scopes == {"orders:read", "orders:write"}
            assert asyncio.run(validator.avalidate(token, scopes=("orders:write",))) == tok
            with pytest.raises(InsufficientScope):
                validator.validate(token, scopes=["admin"])


def test_granted_scopes_are_the_union_of_every_named_claim() -> None:
    token = node_style(payload(scope="a b", scp=["c"], scopes="d e", roles=["f"]))
    for validator in validators(scope_claims=("scope", "scp", "scopes")):
        assert validator.validate(token).scopes == {"a", "b", "c", "d", "e"}
    for validator in validators():
        assert validator.validate(token).scopes == {"a", "b", "c"}


@pytest.mark.parametrize("name", ["scope", "scp", "scopes"])
def test_each_claim_may_be_a_string_or_an_array(name: str) -> None:
    for value in ("x y", ["x", "y"], "  x   y ", ["y", "x", "x"]):
        token = node_style(payload(**{name: value}))
        for validator in validators(scope_claims=("scope", "scp", "scopes")):
            assert validator.validate(token).scopes == {"x", "y"}


@pytest.mark.parametrize("name", ["scope", "scp", "scopes"])
@pytest.mark.parametrize(
    "value", [None, 1, True, 1.5, {"a": 1}, [1], ["a", None], ["a", ["b"]], [{"a": 1}]], ids=repr
)
def test_anything_else_is_an_invalid_claim_naming_it(name: str, value: object) -> None:
    token = node_style(payload(**{name: value}))
    for validator in validators(scope_claims=("scope", "scp", "scopes")):
        for _ in range(2):
            with pytest.raises(InvalidClaim) as info:
                validator.validate(token)
            assert type(info.value) is InvalidClaim
            assert info.value.claim == name and repr(name) in str(info.value)


def test_claims_not_named_are_not_judged() -> None:
    token = node_style(payload(scopes=5))
    for validator in validators():
        assert validator.validate(token).scopes == frozenset()


@pytest.mark.parametrize(
    "bad", [(), [], [""], [5], ["scope", None], b"scope", {"scope": 1}, None, 5]
)
def test_scope_claims_must_name_claims(bad: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        validators(scope_claims=bad)
    assert type(info.value) is ConfigurationError


def test_the_default_and_the_policy() -> None:
    assert DEFAULT_SCOPE_CLAIMS == ("scope", "scp")
    (validator, _) = validators()
    assert validator.policy.scope_claims == DEFAULT_SCOPE_CLAIMS
    (named, _) = validators(scope_claims=["scopes", "scope", "scopes"])
    assert named.policy.scope_claims == ("scopes", "scope")  # order kept, duplicates dropped


def test_parse_scopes_follows_the_same_rules() -> None:
    assert parse_scopes({"scope": "a b", "scp": ["c"]}) == {"a", "b", "c"}
    assert parse_scopes({"scopes": ["a"]}, ("scopes",)) == {"a"}
    assert parse_scopes({}) == frozenset()
    with pytest.raises(InvalidClaim) as info:
        parse_scopes({"scope": "a", "scp": [1]})
    assert info.value.claim == "scp"


scope_values = st.one_of(
    st.text(alphabet="ab :", max_size=8),
    st.lists(st.text(alphabet="ab:", min_size=1, max_size=4), max_size=4),
    st.none(),
    st.integers(),
    st.lists(st.integers(), min_size=1, max_size=2),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["scope", "scp", "scopes", "other"]), scope_values))
def test_scopes_are_granted_exactly_as_the_rule_says(claims: dict[str, Any]) -> None:
    names = ("scope", "scp", "scopes")
    granted: set[str] = set()
    expected: set[str] | type[InvalidClaim] = granted
    for name in names:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, str):
            granted |= set(value.split())
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            granted |= set(value)
        else:
            expected = InvalidClaim
            break
    token = node_style(payload(**claims))
    for validator in validators(scope_claims=names):
        try:
            got: object = set(validator.validate(token).scopes)
        except InvalidClaim as exc:
            got = type(exc)
        assert got == expected


def test_the_table_of_remembered_scope_strings_is_bounded() -> None:
    from tokensmith import _claims

    long = " ".join(f"s{i}" for i in range(400))  # longer than any string worth remembering
    assert parse_scopes({"scope": long}) == {f"s{i}" for i in range(400)}
    assert long not in _claims.SCOPE_SETS
    for i in range(_claims.SCOPE_SETS_MAX + 10):
        assert parse_scopes({"scope": f"a{i} b"}) == {f"a{i}", "b"}
        assert len(_claims.SCOPE_SETS) <= _claims.SCOPE_SETS_MAX
