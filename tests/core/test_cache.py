from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    ClaimCheckFailed,
    ConfigurationError,
    ExpiredToken,
    FileKeyStore,
    ImmatureToken,
    InsufficientScope,
    IssuedInFuture,
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    RotationPolicy,
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
from tokensmith.stores import SettledKeySource, trusted_settled_keyset
from tokensmith.testing import FakeClock


def _outcome(v: Validator, token: str) -> object:
    """What a validator answers: the jti, or the refusal's class."""
    try:
        return v.validate(token).jti
    except TokenError as exc:
        return type(exc)


def make(
    clock: FakeClock, **options: Any
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
    )
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
    entry = cache.get(token)
    assert entry is not None and entry[2] is twin  # re-verified with the new object, re-cached


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

    _, signer, validator, cache, _ = make(clock, checks=[check])
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    assert validator.validate(token).subject == "u" and cache.hits == 1  # a hit, check passed
    allowed.clear()
    with pytest.raises(TokenError):
        validator.validate(token)
    with pytest.raises(TokenError):
        asyncio.run(validator.avalidate(token))


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
                assert _outcome(cached, token) == _outcome(plain, token)
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
        assert _outcome(cached, token) == _outcome(plain, token)


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


# --- hits confirmed without asking an in-process store ------------------------------------------


class _Counting:
    """Counts the store's verification_key calls (an instance attribute: the class is intact)."""

    def __init__(self, store: object) -> None:
        self.calls = 0
        inner = store.verification_key  # type: ignore[attr-defined]

        def counted(kid: str | None, alg: str) -> Key:
            self.calls += 1
            return inner(kid, alg)  # type: ignore[no-any-return]

        store.verification_key = counted  # type: ignore[attr-defined]


def test_hits_from_an_in_process_store_do_not_ask_it(clock: FakeClock) -> None:
    store, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    asked = _Counting(store)
    first = validator.validate(token)
    assert asked.calls == 1
    for _ in range(3):
        assert validator.validate(token) is first
        assert asyncio.run(validator.avalidate(token)) is first
    assert asked.calls == 1
    assert cache.hits == 6


def _asks(store: MemoryKeyStore, clock: FakeClock, hits: int = 2) -> int:
    """How often a cached validator asks ``store`` for a key over one miss and ``hits`` hits."""
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    token = Signer(store, issuer=ISSUER, clock=clock).issue("u", audience=AUDIENCE)
    asked = _Counting(store)
    for _ in range(1 + hits):
        validator.validate(token)
    return asked.calls


def test_a_subclass_overriding_verification_key_alone_is_asked_on_every_hit(
    clock: FakeClock,
) -> None:
    """The parent's settled_keyset promised what the parent's lookup answers, not this one."""

    class Filtering(MemoryKeyStore):
        def verification_key(self, kid: str | None, alg: str) -> Key:
            return super().verification_key(kid, alg)

    store = Filtering(KeySet.generate("HS256"), clock=clock)
    assert trusted_settled_keyset(store, clock) is None
    assert _asks(store, clock) == 3


def test_a_subclass_keeping_or_overriding_both_methods_is_trusted(clock: FakeClock) -> None:
    class Plain(MemoryKeyStore):
        pass

    class Both(MemoryKeyStore):
        def verification_key(self, kid: str | None, alg: str) -> Key:
            return super().verification_key(kid, alg)

        def settled_keyset(self, now: float) -> KeySet | None:
            return super().settled_keyset(now)

    for kind in (Plain, Both):
        store = kind(KeySet.generate("HS256"), clock=clock)
        assert trusted_settled_keyset(store, clock) is not None
        assert _asks(store, clock) == 1


def test_a_store_whose_methods_are_replaced_on_the_instance_is_asked(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    store.settled_keyset = lambda now: store.keyset  # type: ignore[method-assign]
    assert trusted_settled_keyset(store, clock) is None
    looked_up = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    _Counting(looked_up)  # replaces verification_key on the instance before the validator
    assert trusted_settled_keyset(looked_up, clock) is None


def test_a_store_of_your_own_opts_in_with_settled_keyset(clock: FakeClock) -> None:
    """SettledKeySource is a protocol: no base class, two members."""

    class Mine:
        def __init__(self, keyset: KeySet) -> None:
            self._keyset = keyset
            self.clock = clock

        def verification_key(self, kid: str | None, alg: str) -> Key:
            return self._keyset.verification_key(kid, alg, self.clock())

        def settled_keyset(self, now: float) -> KeySet | None:
            return self._keyset

    mine = Mine(KeySet.generate("HS256"))
    assert isinstance(mine, SettledKeySource)
    validator = Validator(
        mine, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    key = mine._keyset.signing_key(clock())
    token = Signer(MemoryKeyStore(KeySet([key]), clock=clock), issuer=ISSUER, clock=clock).issue(
        "u", audience=AUDIENCE
    )
    asked = _Counting(mine)
    first = validator.validate(token)
    assert validator.validate(token) is first and asked.calls == 1
    mine._keyset = KeySet([key])  # a new set holding the same key: verified once more
    assert validator.validate(token).jti == first.jti and asked.calls == 2
    mine.clock = FakeClock()  # another clock: not trusted by a validator built from now on
    assert trusted_settled_keyset(mine, clock) is None


def test_sources_without_settled_keyset_are_never_trusted(clock: FakeClock) -> None:
    class Lookup:
        def __init__(self) -> None:
            self.clock = clock

        def verification_key(self, kid: str | None, alg: str) -> Key:
            raise UnknownKey("none")

    class NotCallable(MemoryKeyStore):
        settled_keyset = None  # type: ignore[assignment]

    assert trusted_settled_keyset(Lookup(), clock) is None
    assert trusted_settled_keyset(NotCallable(KeySet.generate("HS256"), clock=clock), clock) is None
    assert trusted_settled_keyset(object(), clock) is None


def test_a_store_on_another_clock_is_always_asked(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate("HS256"))  # the real clock, the validator's is fake
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    token = Signer(store, issuer=ISSUER, clock=clock).issue("u", audience=AUDIENCE)
    asked = _Counting(store)
    validator.validate(token)
    validator.validate(token)
    assert asked.calls == 2


def test_a_hit_asks_the_store_once_maintenance_is_due(clock: FakeClock) -> None:
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="HS256")
    store = MemoryKeyStore(policy=policy, clock=clock)
    cache = ValidatedTokenCache()
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = Signer(store, issuer=ISSUER, ttl=3600, clock=clock).issue("u", audience=AUDIENCE)
    asked = _Counting(store)
    first = validator.validate(token)
    validator.validate(token)
    assert asked.calls == 1
    due = policy.rotate_every - policy.publish_ahead  # the successor is due to be published
    clock.advance(due - 1)
    assert store.settled_keyset(clock()) is not None
    clock.advance(2)
    assert store.settled_keyset(clock()) is None
    assert validator.validate(token).jti == first.jti  # the hit asked; maintenance ran
    assert asked.calls > 1
    entry = cache.get(token)
    assert entry is not None and entry[5] is store.settled_keyset(clock())  # the new set
    calls = asked.calls
    validator.validate(token)
    assert asked.calls == calls


def test_a_new_key_set_holding_the_same_key_means_one_verification(clock: FakeClock) -> None:
    store, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    store.replace(KeySet([store.signing_key()]))  # the same Key object in a new set
    asked = _Counting(store)
    validator.validate(token)  # full path: parse, ask, verify, re-cache under the new set
    assert asked.calls == 1
    entry = cache.get(token)
    assert entry is not None and entry[5] is store.settled_keyset(clock())
    validator.validate(token)
    assert asked.calls == 1


def test_a_file_store_changed_by_another_process_is_seen_as_without_a_cache(
    clock: FakeClock, tmp_path: Path
) -> None:
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="HS256")
    ours = FileKeyStore(tmp_path / "keys", policy=policy, clock=clock, reload_interval=5)
    theirs = FileKeyStore(tmp_path / "keys", clock=clock, reload_interval=5)
    cache = ValidatedTokenCache()
    cached = Validator(ours, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    plain = Validator(ours, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    token = Signer(ours, issuer=ISSUER, ttl=600, clock=clock).issue("u", audience=AUDIENCE)
    first = cached.validate(token)
    asked = _Counting(ours)
    assert cached.validate(token) is first and asked.calls == 0
    theirs.remove(ours.signing_key().kid)
    asked.calls = 0
    assert cached.validate(token) is first  # not re-read yet: neither validator knows
    assert plain.validate(token).jti == first.jti
    clock.advance(6)  # past the reload interval: the hit asks, the store re-reads the file
    with pytest.raises(UnknownKey):
        cached.validate(token)
    with pytest.raises(UnknownKey):
        plain.validate(token)
    assert len(cache) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["issue", "validate", "advance", "rotate", "remove", "replace"]),
            st.integers(0, 5),
        ),
        max_size=40,
    )
)
def test_a_rotating_store_answers_alike_with_and_without_a_cache(
    ops: list[tuple[str, int]],
) -> None:
    """Rotation, maintenance, removal and replacement never let a hit differ from a miss."""
    clock = FakeClock()
    policy = RotationPolicy(rotate_every=300, publish_ahead=60, verify_for=120, alg="HS256")
    store = MemoryKeyStore(policy=policy, clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=100, clock=clock)
    cached = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache(3)
    )
    plain = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    tokens: list[str] = []

    for op, n in ops:
        if op == "issue":
            tokens.append(signer.issue(f"u{n}", audience=AUDIENCE, ttl=20 + 15 * n))
        elif op == "advance":
            clock.advance(13 * n + 1)
        elif op == "rotate":
            store.rotate()
        elif op == "remove":
            keys = list(store.keyset)
            if len(keys) > 1:
                store.remove(keys[n % len(keys)].kid)
        elif op == "replace":
            store.replace(KeySet(list(store.keyset)))
        elif tokens:
            token = tokens[n % len(tokens)]
            assert _outcome(cached, token) == _outcome(plain, token)
    for token in tokens:
        assert _outcome(cached, token) == _outcome(plain, token)


class _AskedStore(MemoryKeyStore):
    """Its own verification_key: the validator cannot know what it does, so it asks on every
    hit (see trusted_settled_keyset)."""

    def verification_key(self, kid: str | None, alg: str) -> Key:
        return super().verification_key(kid, alg)


def _asked(clock: FakeClock) -> tuple[_AskedStore, Signer]:
    store = _AskedStore(KeySet.generate("HS256"), clock=clock)
    return store, Signer(store, issuer=ISSUER, clock=clock)


def test_an_asked_source_returning_another_key_object_means_a_full_verification(
    clock: FakeClock,
) -> None:
    store, signer = _asked(clock)
    cache = ValidatedTokenCache()
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = signer.issue("u", audience=AUDIENCE)
    first = validator.validate(token)
    assert asyncio.run(validator.avalidate(token)) is first
    twin = Key.from_jwk(store.signing_key().to_jwk(private=True))
    store.replace(KeySet([twin]))
    again = validator.validate(token)
    assert again is not first and again.jti == first.jti
    assert (entry := cache.get(token)) is not None and entry[2] is twin
    store.replace(KeySet([Key.from_jwk(twin.to_jwk(private=True))]))
    assert asyncio.run(validator.avalidate(token)) is not again


def test_an_entry_gone_before_its_key_is_confirmed_means_the_full_path(clock: FakeClock) -> None:
    class Racing(ValidatedTokenCache):
        def header(self, token: str) -> object:
            self.discard(token)  # another thread evicted it in between
            return super().header(token)

    store, signer = _asked(clock)
    cache = Racing()
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = signer.issue("u", audience=AUDIENCE)
    first = validator.validate(token)
    assert validator.validate(token).jti == first.jti
    assert asyncio.run(validator.avalidate(token)).jti == first.jti
    assert len(cache) == 1


@pytest.mark.parametrize("face", ["sync", "async"])
def test_an_asked_source_refusing_on_a_hit_empties_the_entry(clock: FakeClock, face: str) -> None:
    store, signer = _asked(clock)
    cache = ValidatedTokenCache()
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)
    token = signer.issue("u", audience=AUDIENCE)
    validator.validate(token)
    store.remove(store.signing_key().kid)

    def again() -> object:
        if face == "sync":
            return validator.validate(token)
        return asyncio.run(validator.avalidate(token))

    with pytest.raises(UnknownKey):
        again()
    assert len(cache) == 0


@pytest.mark.parametrize("face", ["sync", "async"])
def test_custom_checks_rerun_on_a_hit_the_key_source_confirmed(clock: FakeClock, face: str) -> None:
    allowed = {"u"}

    def check(tok: VerifiedToken) -> bool:
        return tok.subject in allowed

    store, signer = _asked(clock)
    cache = ValidatedTokenCache()
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache, checks=[check]
    )
    token = signer.issue("u", audience=AUDIENCE)

    def again() -> VerifiedToken:
        if face == "sync":
            return validator.validate(token)
        return asyncio.run(validator.avalidate(token))

    first = again()
    assert again() is first and cache.hits == 1  # confirmed by the source, check passed
    allowed.clear()
    with pytest.raises(ClaimCheckFailed) as info:
        again()
    assert type(info.value) is ClaimCheckFailed
    assert len(cache) == 0  # refused for what it is: the entry is gone


def test_a_token_without_exp_is_cached_for_its_window_only(clock: FakeClock) -> None:
    from tests.support.forge import header_for, signed

    key = Key.generate("HS256")
    store = MemoryKeyStore(KeySet([key]), clock=clock)
    cache = ValidatedTokenCache()
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache, require_exp=False
    )
    token = signed(header_for(key), {"iss": ISSUER, "aud": AUDIENCE, "sub": "u"}, key)
    first = validator.validate(token)
    assert first.expires_at is None
    assert validator.validate(token) is first and cache.hits == 1


def test_an_entry_evicted_between_lookup_and_move_is_still_served(clock: FakeClock) -> None:
    """Another thread evicts the entry between the lock-free lookup and the LRU move."""
    from collections import OrderedDict

    class Evicting(OrderedDict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            entry = super().get(key, default)
            self.pop(key, None)
            return entry

    _, signer, validator, cache, _ = make(clock)
    token = signer.issue("u", audience=AUDIENCE)
    first = validator.validate(token)
    cache._entries = Evicting(cache._entries)  # type: ignore[assignment]
    assert validator.validate(token) is first
    assert len(cache) == 0
