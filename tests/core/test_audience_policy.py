"""``audience=``: a service's own audiences, ``NO_AUDIENCE``, or the loud ``UNSAFE_ANY_AUDIENCE``
(issue 13 item 2). RFC 7519 §4.1.3: a principal that does not identify itself with a value of a
present ``aud`` MUST reject the token; ``audience=UNCHECKED`` used to accept it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import forge
from tokensmith import (
    NO_AUDIENCE,
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    ConfigurationError,
    InvalidAudience,
    InvalidClaim,
    Key,
    MemoryKeyStore,
    TokenError,
    Validator,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.oauth import access_token_validator
from tokensmith.testing import FakeClock


@pytest.fixture
def key(store: MemoryKeyStore) -> Key:
    return store.signing_key()


def token(key: Key, clock: FakeClock, **changes: Any) -> str:
    now = int(clock())
    body: dict[str, Any] = {"iss": ISSUER, "sub": "u", "iat": now, "exp": now + 600, "jti": "j"}
    body.update(changes)
    return forge({"alg": key.alg, "kid": key.kid, "typ": "JWT"}, body, key)


def faces(store: MemoryKeyStore, clock: FakeClock, audience: object) -> list[Any]:
    """validate() and avalidate(), each without and with a cache (asked twice: miss, then hit)."""
    plain = Validator(store, issuer=ISSUER, audience=audience, clock=clock)  # type: ignore[arg-type]
    cached = Validator(
        store,
        issuer=ISSUER,
        audience=audience,  # type: ignore[arg-type]
        clock=clock,
        cache=ValidatedTokenCache(),
    )

    def sync(v: Validator) -> Any:
        return v.validate

    def asynchronous(v: Validator) -> Any:
        return lambda t: asyncio.run(v.avalidate(t))

    return [make(v) for v in (plain, cached) for make in (sync, asynchronous)]


def outcome(validate: Any, t: str) -> object:
    try:
        return validate(t).audience
    except TokenError as exc:
        return type(exc)


def test_unchecked_audience_is_a_configuration_error_naming_both_choices(
    store: MemoryKeyStore, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Validator(store, issuer=ISSUER, audience=UNCHECKED, clock=clock)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError
    assert "NO_AUDIENCE" in str(info.value) and "UNSAFE_ANY_AUDIENCE" in str(info.value)


def test_a_missing_audience_names_no_audience(store: MemoryKeyStore, clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError) as info:
        Validator(store, issuer=ISSUER, audience=None, clock=clock)  # type: ignore[arg-type]
    assert "NO_AUDIENCE" in str(info.value)


@pytest.mark.parametrize(
    ("aud", "expected"),
    [
        (None, ()),  # no aud member at all
        ([], ()),
        (AUDIENCE, InvalidAudience),  # meant for a service: not for one without an audience
        ("other-api", InvalidAudience),
        (["other-api"], InvalidAudience),
        (["other-api", AUDIENCE], InvalidAudience),
        (5, InvalidClaim),
        ([5], InvalidClaim),
    ],
    ids=repr,
)
def test_no_audience_refuses_any_token_meant_for_an_audience(
    store: MemoryKeyStore, key: Key, clock: FakeClock, aud: object, expected: object
) -> None:
    t = token(key, clock) if aud is None else token(key, clock, aud=aud)
    for validate in faces(store, clock, NO_AUDIENCE):
        assert outcome(validate, t) == expected
        assert outcome(validate, t) == expected


@pytest.mark.parametrize(
    ("aud", "expected"),
    [
        (None, ()),
        ([], ()),
        ("other-api", ("other-api",)),
        (["a", "b"], ("a", "b")),
        (5, InvalidClaim),  # ignoring the value is not ignoring its shape
        ({"a": 1}, InvalidClaim),
    ],
    ids=repr,
)
def test_unsafe_any_audience_ignores_the_value_only(
    store: MemoryKeyStore, key: Key, clock: FakeClock, aud: object, expected: object
) -> None:
    t = token(key, clock) if aud is None else token(key, clock, aud=aud)
    for validate in faces(store, clock, UNSAFE_ANY_AUDIENCE):
        assert outcome(validate, t) == expected


def test_policy_and_repr_name_the_choice(store: MemoryKeyStore, clock: FakeClock) -> None:
    none = Validator(store, issuer=ISSUER, audience=NO_AUDIENCE, clock=clock)
    anything = Validator(store, issuer=ISSUER, audience=UNSAFE_ANY_AUDIENCE, clock=clock)
    assert none.policy.audiences == frozenset()
    assert anything.policy.audiences is None
    assert "audience=NO_AUDIENCE" in repr(none)
    assert "audience=UNSAFE_ANY_AUDIENCE" in repr(anything)


def test_sentinels_are_named_singletons() -> None:
    for sentinel, name in (
        (NO_AUDIENCE, "NO_AUDIENCE"),
        (UNSAFE_ANY_AUDIENCE, "UNSAFE_ANY_AUDIENCE"),
    ):
        assert type(sentinel)() is sentinel
        assert repr(sentinel) == name
        assert sentinel.__doc__
    assert len({id(UNCHECKED), id(NO_AUDIENCE), id(UNSAFE_ANY_AUDIENCE)}) == 3


@pytest.mark.parametrize("sentinel", [NO_AUDIENCE, UNSAFE_ANY_AUDIENCE], ids=repr)
@pytest.mark.parametrize("option", ["issuer", "token_types"])
def test_audience_sentinels_mean_nothing_elsewhere(
    store: MemoryKeyStore, clock: FakeClock, sentinel: object, option: str
) -> None:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, option: sentinel}
    with pytest.raises(ConfigurationError) as info:
        Validator(store, clock=clock, **options)
    assert type(info.value) is ConfigurationError


def test_access_token_profile_audiences(store: MemoryKeyStore, clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError) as info:
        access_token_validator(store, issuer=ISSUER, audience=NO_AUDIENCE)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError and "RFC 9068" in str(info.value)
    with pytest.raises(ConfigurationError):
        access_token_validator(store, issuer=ISSUER, audience=UNCHECKED)  # type: ignore[arg-type]
    introspector = access_token_validator(store, issuer=ISSUER, audience=UNSAFE_ANY_AUDIENCE)
    assert introspector.policy.audiences is None
