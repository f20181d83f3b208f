from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AUDIENCE, ISSUER
from tokensmith import (
    ConfigurationError,
    ExpiredToken,
    ImmatureToken,
    InsufficientScope,
    IssuedInFuture,
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    TokenError,
    TokenRevoked,
    TokenTooOld,
    UnknownKey,
    Validator,
    VerifiedToken,
    revoke_token,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.testing import FakeClock


def make(
    clock: FakeClock, **options: object
) -> tuple[MemoryKeyStore, Signer, Validator, ValidatedTokenCache, MemoryRevocationList]:
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock)
    cache = ValidatedTokenCache(maxsize=4)
    revocations = MemoryRevocationList(clock=clock)
    validator = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        cache=cache,
        revocation=revocations,
        **options,
    )  # type: ignore[arg-type]
    return store, signer, validator, cache, revocations


def test_hit_returns_the_same_view(clock: FakeClock) -> None:
    _, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    first = validator.validate(token)
    assert validator.validate(token) is first
    assert cache.hits == 1
    assert len(cache) == 1
    assert token not in repr(cache)


def test_revoked_token_is_never_served_from_cache(clock: FakeClock) -> None:
    _, signer, validator, _, revocations = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    revoke_token(revocations, validator.validate(token))
    with pytest.raises(TokenRevoked):
        validator.validate(token)


def test_expired_token_is_never_served_from_cache(clock: FakeClock) -> None:
    _, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE, ttl=60)
    validator.validate(token)
    clock.advance(60 + 30)
    with pytest.raises(ExpiredToken):
        validator.validate(token)
    assert len(cache) == 0


def test_max_age_rechecked_on_hit(clock: FakeClock) -> None:
    _, signer, validator, _, _ = make(clock, max_age=100, leeway=0)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    clock.advance(101)
    with pytest.raises(TokenTooOld):
        validator.validate(token)


def test_a_clock_going_back_before_iat_is_refused_on_hit(clock: FakeClock) -> None:
    _, signer, validator, cache, _ = make(clock, leeway=5)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    clock.advance(-5)  # exactly at the leeway: still accepted, from the cache
    validator.validate(token)
    assert cache.hits == 1
    clock.advance(-1)
    with pytest.raises(IssuedInFuture):
        validator.validate(token)


def test_a_clock_going_back_before_nbf_is_refused_on_hit(clock: FakeClock) -> None:
    _, signer, validator, cache, _ = make(clock, leeway=0)
    token = signer.issue("u", audience=AUDIENCE, not_before=clock() + 10)
    clock.advance(10)
    validator.validate(token)
    assert len(cache) == 1
    clock.advance(-1)
    with pytest.raises(ImmatureToken):
        validator.validate(token)
    clock.advance(1)
    validator.validate(token)


def test_per_call_scopes_rechecked_on_hit(clock: FakeClock) -> None:
    _, signer, validator, _, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["a"])
    validator.validate(token, scopes=["a"])
    with pytest.raises(InsufficientScope):
        validator.validate(token, scopes=["b"])


def test_removed_key_evicts_entries(clock: FakeClock) -> None:
    store, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    store.remove(store.signing_key().kid)
    with pytest.raises(UnknownKey):
        validator.validate(token)
    assert len(cache) == 0


def test_replaced_key_object_goes_down_the_full_path(clock: FakeClock) -> None:
    store, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    key = store.signing_key()
    validator.validate(token)
    twin = Key.from_jwk(key.to_jwk(private=True))  # same kid and material, another object
    store.replace(KeySet([twin]))
    validator.validate(token)
    assert cache.get(token)[2] is twin  # re-verified with the new object and re-cached


def test_entry_never_outlives_the_key(clock: FakeClock) -> None:
    key = Key.generate("HS256").with_lifecycle(not_after=clock() + 100)
    store = MemoryKeyStore(KeySet([key]), clock=clock)
    cache = ValidatedTokenCache()
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = Signer(store, issuer=ISSUER, ttl=90, clock=clock).issue("u", audience=AUDIENCE)
    validator.validate(token)
    clock.advance(100)  # the token is within its leeway, its key is not
    with pytest.raises(UnknownKey):
        validator.validate(token)


def test_lru_bound(clock: FakeClock) -> None:
    _, signer, validator, cache, _ = make(clock)
    tokens = [signer.issue(f"u{i}", audience=AUDIENCE) for i in range(6)]
    for token in tokens:
        validator.validate(token)
    assert len(cache) == 4
    validator.validate(tokens[2])
    assert cache.hits == 1


def test_custom_checks_rerun_on_hit(clock: FakeClock) -> None:
    allowed = {"u"}

    def check(tok: VerifiedToken) -> bool:
        return tok.subject in allowed

    _, signer, validator, _, _ = make(clock, checks=[check])
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    allowed.clear()
    with pytest.raises(TokenError):
        validator.validate(token)


def test_async_hits(clock: FakeClock) -> None:
    _, signer, validator, cache, revocations = make(clock)
    token = signer.issue("u", audience=AUDIENCE)

    async def run() -> None:
        first = await validator.avalidate(token)
        assert await validator.avalidate(token) is first
        revoke_token(revocations, first)
        with pytest.raises(TokenRevoked):
            await validator.avalidate(token)

    asyncio.run(run())
    assert cache.hits >= 1


def test_async_removed_key(clock: FakeClock) -> None:
    store, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    store.remove(store.signing_key().kid)
    with pytest.raises(UnknownKey):
        asyncio.run(validator.avalidate(token))
    assert len(cache) == 0


def test_cache_configuration(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    cache = ValidatedTokenCache()
    Validator(store, issuer=ISSUER, audience=AUDIENCE, cache=cache)
    with pytest.raises(ConfigurationError):
        Validator(store, issuer=ISSUER, audience=AUDIENCE, cache=cache)
    with pytest.raises(ConfigurationError):
        Validator(store, issuer=ISSUER, audience=AUDIENCE, cache={})  # type: ignore[arg-type]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ConfigurationError):
            ValidatedTokenCache(bad)  # type: ignore[arg-type]
    cache.clear()
    assert "maxsize" in repr(cache)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "issue",
                    "issue_later",
                    "validate",
                    "revoke",
                    "advance",
                    "rewind",
                    "revoke_subject",
                ]
            ),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_cache_is_equivalent_to_no_cache(ops: list[tuple[str, int]]) -> None:
    """Whatever happens, a validator with a cache answers exactly like one without.

    Tokens with and without ``nbf``, a policy with ``max_age`` and leeway, and a clock that
    also goes backwards exercise every bound of a cache entry's time window.
    """
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=120, clock=clock)
    revocations = MemoryRevocationList(clock=clock)
    cached = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        revocation=revocations,
        cache=ValidatedTokenCache(3),
        max_age=90,
        leeway=5,
    )
    plain = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        revocation=revocations,
        max_age=90,
        leeway=5,
    )
    tokens: list[str] = []

    def outcome(v: Validator, token: str) -> object:
        try:
            return v.validate(token).jti
        except TokenError as exc:
            return type(exc)

    for op, n in ops:
        if op == "issue":
            tokens.append(signer.issue(f"u{n % 2}", audience=AUDIENCE, ttl=30 + 20 * n))
        elif op == "issue_later":
            nbf = clock() + 4 * n
            tokens.append(signer.issue(f"u{n % 2}", audience=AUDIENCE, ttl=60, not_before=nbf))
        elif op == "rewind":
            clock.advance(-(3 * n + 1))
        elif tokens:
            token = tokens[n % len(tokens)]
            if op == "validate":
                assert outcome(cached, token) == outcome(plain, token)
            elif op == "revoke":
                try:
                    revoke_token(revocations, plain.validate(token))
                except TokenError:
                    pass
            elif op == "revoke_subject":
                revocations.revoke_subject(
                    f"u{n % 2}", issuer=ISSUER, before=clock(), expires_at=clock() + 300
                )
            else:
                clock.advance(7 * n + 1)
    for token in tokens:
        assert outcome(cached, token) == outcome(plain, token)


def test_free_threaded_builds_take_the_lock_and_answer_alike(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock)
    cache = ValidatedTokenCache()
    cache._free_threaded = True  # as on a build without the GIL
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = signer.issue("u", audience=AUDIENCE)
    assert validator.validate(token) is validator.validate(token)
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.get("not-a-cached-token") is None and cache.misses == 2


def test_threads_hammering_a_tiny_cache_always_get_the_right_answer(clock: FakeClock) -> None:
    """Lookups take no lock on GIL builds: evictions racing with hits must stay harmless."""
    import threading

    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock)
    cache = ValidatedTokenCache(maxsize=2)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    issued = [signer.issue_token(f"u{i}", audience=AUDIENCE) for i in range(5)]
    failures: list[str] = []

    def work(offset: int) -> None:
        for n in range(400):
            one = issued[(n + offset) % len(issued)]
            try:
                if validator.validate(one.token).jti != one.jti:
                    failures.append("wrong token")
            except Exception as exc:  # noqa: BLE001 - any exception is the failure reported
                failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(cache) <= 2 and cache.hits + cache.misses > 0
