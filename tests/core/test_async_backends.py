"""How ``avalidate()`` asks a sync backend without blocking the loop (issue 16 §2): on the loop
through its non-blocking twin, else in tokensmith's bounded worker pool; what crosses the
thread boundary (results, refusals, failures, cancellation); the pool's two bounds; and the
refusal of ``validate()`` over async backends. The loop-lag test is test_event_loop_lag.py.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tests.support.jwks_server import JWKSServer
from tests.support.wait import await_until, wait_until
from tokensmith import KeySet, MemoryKeyStore, Signer, Validator, VerifiedToken
from tokensmith._backends import nowait_twin
from tokensmith._offload import MAX_PENDING, WORKERS, pending, run_blocking
from tokensmith.errors import (
    AlgorithmMismatch,
    BackendUnavailable,
    ConfigurationError,
    TokenRevoked,
    UnknownKey,
)
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.keys import Key
from tokensmith.keyset import RotationPolicy
from tokensmith.revocation import (
    AsyncRedisRevocationList,
    MemoryRevocationList,
    NonBlockingRevocationList,
    RedisRevocationList,
    SQLiteRevocationList,
)
from tokensmith.stores import FileKeyStore, NonBlockingKeySource
from tokensmith.testing import FakeClock

LOOP = "MainThread"  # asyncio.run() runs the loop on the calling thread
POOL = "tokensmith-backend"


def _thread() -> str:
    return threading.current_thread().name.rsplit("_", 1)[0]


class Recording:
    """A third-party sync key source over a store; records the thread of every call."""

    def __init__(self, store: MemoryKeyStore) -> None:
        self.store = store
        self.threads: list[str] = []

    def verification_key(self, kid: str | None, alg: str) -> Key:
        self.threads.append(_thread())
        return self.store.verification_key(kid, alg)


class SaysNonBlocking(Recording):
    """Declares that it never blocks, with the documented one line."""

    verification_key_nowait = Recording.verification_key


class RecordingStore(MemoryKeyStore):
    """A subclass that overrides ``verification_key`` alone: the parent's twin must not be
    trusted for it."""

    threads: list[str]

    def verification_key(self, kid: str | None, alg: str) -> Key:
        self.threads.append(_thread())
        return super().verification_key(kid, alg)


class RecordingRevocations(MemoryRevocationList):
    """A subclass overriding ``is_revoked`` alone (the parent's alias is not trusted)."""

    threads: list[str]

    def is_revoked(self, token: VerifiedToken) -> bool:
        self.threads.append(_thread())
        return super().is_revoked(token)


def _validator(keys: Any, clock: FakeClock, revocation: Any = None) -> Validator:
    return Validator(keys, issuer=ISSUER, audience=AUDIENCE, clock=clock, revocation=revocation)


# --- where a sync backend is asked ---------------------------------------------------------------


def test_a_source_that_says_nothing_is_asked_in_the_pool(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    source = Recording(store)
    asyncio.run(_validator(source, clock).avalidate(signer.issue("u", audience=AUDIENCE)))
    assert source.threads == [POOL]
    assert not isinstance(source, NonBlockingKeySource)


def test_a_source_declaring_its_twin_is_asked_on_the_loop(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    source = SaysNonBlocking(store)
    asyncio.run(_validator(source, clock).avalidate(signer.issue("u", audience=AUDIENCE)))
    assert source.threads == [LOOP]
    assert isinstance(source, NonBlockingKeySource)


def test_tokensmith_memory_backends_answer_on_the_loop(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    revocations = MemoryRevocationList(clock=clock)
    assert isinstance(store, NonBlockingKeySource)
    assert isinstance(revocations, NonBlockingRevocationList)
    validator = _validator(store, clock, revocations)
    token = signer.issue("u", audience=AUDIENCE, jti="j1")
    assert asyncio.run(validator.avalidate(token)).subject == "u"
    assert pending() == 0
    revocations.revoke("j1", issuer=ISSUER, expires_at=clock() + 600)
    with pytest.raises(TokenRevoked):
        asyncio.run(validator.avalidate(token))


def test_a_subclass_overriding_the_lookup_alone_is_asked_in_the_pool(
    signer: Signer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    keys = RecordingStore(store.keyset, clock=clock)
    keys.threads = []
    revocations = RecordingRevocations(clock=clock)
    revocations.threads = []
    asyncio.run(
        _validator(keys, clock, revocations).avalidate(signer.issue("u", audience=AUDIENCE))
    )
    assert keys.threads == [POOL]
    assert revocations.threads == [POOL]


def test_a_twin_replaced_on_the_instance_or_async_is_not_trusted(store: MemoryKeyStore) -> None:
    assert nowait_twin(store, "verification_key", "verification_key_nowait") is not None
    replaced = MemoryKeyStore(store.keyset)
    replaced.verification_key_nowait = replaced.verification_key  # type: ignore[method-assign]
    assert nowait_twin(replaced, "verification_key", "verification_key_nowait") is None

    class AsyncTwin(Recording):
        async def verification_key_nowait(self, kid: str | None, alg: str) -> Key:
            raise AssertionError

    assert nowait_twin(AsyncTwin(store), "verification_key", "verification_key_nowait") is None
    assert nowait_twin(object(), "verification_key", "verification_key_nowait") is None


def test_a_rotation_due_goes_to_the_pool_once(signer: Signer, clock: FakeClock) -> None:
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900)
    store = MemoryKeyStore(policy=policy, clock=clock)
    assert store.verification_key_nowait(None, "ES256") is None  # maintenance due: may generate
    own = Signer(store, issuer=ISSUER, ttl=600, clock=clock)  # maintains (signing_key)
    token = own.issue("u", audience=AUDIENCE)
    key = store.verification_key_nowait(None, "ES256")
    assert isinstance(key, Key)
    assert asyncio.run(_validator(store, clock).avalidate(token)).subject == "u"


# --- what crosses the thread boundary ------------------------------------------------------------


class Failing:
    """A sync source (no twin, so asked in the pool) raising what it was given."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def verification_key(self, kid: str | None, alg: str) -> Key:
        raise self.error


class FailingTwin(Failing):
    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        raise self.error


class NotAKey(Recording):
    def verification_key_nowait(self, kid: str | None, alg: str) -> object:
        return "not a key"


@pytest.mark.parametrize("kind", [Failing, FailingTwin])
def test_a_failure_in_the_pool_or_the_twin_is_backend_unavailable(
    kind: Callable[[Exception], Any], signer: Signer, clock: FakeClock
) -> None:
    token = signer.issue("u", audience=AUDIENCE)
    with pytest.raises(BackendUnavailable) as caught:
        asyncio.run(_validator(kind(KeyError("kid")), clock).avalidate(token))
    assert type(caught.value) is BackendUnavailable
    assert isinstance(caught.value.__cause__, KeyError)
    assert "KeyError" in str(caught.value) and "kid" not in str(caught.value).split("with")[0]
    with pytest.raises(UnknownKey) as refusal:  # a refusal crosses as it is
        asyncio.run(_validator(kind(UnknownKey("no such key")), clock).avalidate(token))
    assert type(refusal.value) is UnknownKey


def test_a_twin_answering_something_else_than_a_key_is_backend_unavailable(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        asyncio.run(
            _validator(NotAKey(store), clock).avalidate(signer.issue("u", audience=AUDIENCE))
        )
    assert type(caught.value) is BackendUnavailable


class FailingRevocations(MemoryRevocationList):
    def is_revoked_nowait(self, token: VerifiedToken) -> bool | None:  # type: ignore[override]
        raise OSError("disk")


class SlowRevocations(MemoryRevocationList):
    """Its twin always says it would block."""

    def is_revoked_nowait(self, token: VerifiedToken) -> bool | None:  # type: ignore[override]
        return None


def test_revocation_twins_fail_closed_and_defer_to_the_pool(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    token = signer.issue("u", audience=AUDIENCE, jti="j1")
    with pytest.raises(BackendUnavailable) as caught:
        asyncio.run(_validator(store, clock, FailingRevocations(clock=clock)).avalidate(token))
    assert type(caught.value) is BackendUnavailable
    slow = SlowRevocations(clock=clock)
    slow.revoke("j1", issuer=ISSUER, expires_at=math.inf)
    with pytest.raises(TokenRevoked):
        asyncio.run(_validator(store, clock, slow).avalidate(token))

    class Raising(MemoryRevocationList):
        def is_revoked_nowait(self, token: VerifiedToken) -> bool | None:  # type: ignore[override]
            raise BackendUnavailable("down")

    with pytest.raises(BackendUnavailable):
        asyncio.run(_validator(store, clock, Raising(clock=clock)).avalidate(token))

    class Refusing(FailingTwin):
        pass

    with pytest.raises(UnknownKey):
        asyncio.run(_validator(Refusing(UnknownKey("x")), clock).avalidate(token))


# --- the pool's bounds, cancellation -------------------------------------------------------------


class Blocking:
    """A sync source whose calls wait until released; counts the calls running at once."""

    def __init__(self, store: MemoryKeyStore) -> None:
        self.store = store
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = 0

    def verification_key(self, kid: str | None, alg: str) -> Key:
        with self.lock:
            self.running += 1
            self.started += 1
            self.most = max(self.most, self.running)
        try:
            assert self.release.wait(30), "never released"
            return self.store.verification_key(kid, alg)
        finally:
            with self.lock:
                self.running -= 1


def test_the_pool_runs_at_most_its_workers_and_refuses_beyond_its_queue(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    source = Blocking(store)
    validator = _validator(source, clock)
    token = signer.issue("u", audience=AUDIENCE)

    async def main() -> None:
        calls = [asyncio.ensure_future(validator.avalidate(token)) for _ in range(MAX_PENDING)]
        await await_until(lambda: source.started == WORKERS, what="the workers busy")
        await await_until(lambda: pending() == MAX_PENDING, what="the queue full")
        with pytest.raises(BackendUnavailable) as caught:  # at once, not after a wait
            await validator.avalidate(token)
        assert type(caught.value) is BackendUnavailable
        assert "too many blocking backend calls" in str(caught.value)
        source.release.set()
        results = await asyncio.gather(*calls)
        assert {r.subject for r in results} == {"u"}

    asyncio.run(main())
    assert source.most == WORKERS
    assert source.started == MAX_PENDING
    wait_until(lambda: pending() == 0, what="every slot freed")


def test_a_cancelled_request_stops_waiting_and_frees_its_thread(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    source = Blocking(store)
    validator = _validator(source, clock)
    token = signer.issue("u", audience=AUDIENCE)

    async def main() -> None:
        running = [asyncio.ensure_future(validator.avalidate(token)) for _ in range(WORKERS)]
        await await_until(lambda: source.started == WORKERS, what="the workers busy")
        queued = asyncio.ensure_future(validator.avalidate(token))
        await await_until(lambda: pending() == WORKERS + 1, what="one call queued")
        for call in (*running, queued):
            call.cancel()
        results = await asyncio.gather(*running, queued, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert pending() == WORKERS  # the queued call is dropped; running ones cannot be
        source.release.set()  # the backend returns (its own timeout, in real life)...

    asyncio.run(main())
    wait_until(lambda: pending() == 0, what="the threads freed")  # ...and no thread is stuck
    assert source.started == WORKERS  # the cancelled queued call never ran


def test_the_caller_context_reaches_the_thread() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> str:
        var.set("request-1")
        return await run_blocking(var.get)

    assert asyncio.run(main()) == "request-1"


def test_a_pool_that_cannot_start_threads_is_backend_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tokensmith._offload as offload

    class Closed:
        def submit(self, *args: object) -> None:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(offload, "_executor", Closed())
    with pytest.raises(BackendUnavailable) as caught:
        asyncio.run(run_blocking(print))
    assert type(caught.value) is BackendUnavailable
    assert pending() == 0


# --- validate() over async backends --------------------------------------------------------------


def test_validate_over_async_backends_says_what_to_do(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    remote = AsyncRemoteJWKS("https://issuer.test/jwks.json")
    import redis.asyncio

    client: Any = redis.asyncio.Redis.from_url("redis://127.0.0.1:9")  # never connected
    revocations = AsyncRedisRevocationList(client)
    token = signer.issue("u", audience=AUDIENCE)
    cases: list[tuple[Validator, list[str]]] = [
        (_validator(remote, clock), ["AsyncRemoteJWKS", "sync twin is RemoteJWKS"]),
        (
            _validator(store, clock, revocations),
            ["AsyncRedisRevocationList", "sync twin is RedisRevocationList"],
        ),
        (_validator(remote, clock, revocations), ["key source", "revocation list"]),
    ]
    for validator, named in cases:
        assert validator.requires_async
        with pytest.raises(ConfigurationError) as caught:
            validator.validate(token)
        assert type(caught.value) is ConfigurationError
        message = str(caught.value)
        assert "await validator.avalidate(token)" in message
        assert all(name in message for name in named), message

    class OwnAsync:
        async def verification_key(self, kid: str | None, alg: str) -> Key:
            return store.verification_key(kid, alg)

    with pytest.raises(ConfigurationError, match=r"\(OwnAsync\) is async\. Call"):
        _validator(OwnAsync(), clock).validate(token)
    assert not _validator(store, clock).requires_async


# --- each backend's twin -------------------------------------------------------------------------


def test_remote_jwks_twin_answers_from_its_cache_only(store: MemoryKeyStore) -> None:
    clock = FakeClock(1_700_000_000.0)
    with JWKSServer() as server:
        server.serve_store(store, max_age=300)
        remote = RemoteJWKS(server.url(), clock=clock)
        kid = store.keyset.signing_key(store.clock()).kid
        assert remote.verification_key_nowait(kid, "ES256") is None  # no set yet
        key = remote.verification_key(kid, "ES256")
        assert remote.verification_key_nowait(kid, "ES256") is key  # fresh
        with pytest.raises(AlgorithmMismatch):
            remote.verification_key_nowait(kid, "RS256")
        assert remote.verification_key_nowait("unknown", "ES256") is None  # may refetch
        clock.advance(301)  # expired
        assert remote.verification_key_nowait(kid, "ES256") is None
        with remote._lock:  # noqa: SLF001 - another thread refreshing: the stale key serves
            assert remote.verification_key_nowait(kid, "ES256") is key
        assert remote.verification_key(kid, "ES256") == key
        clock.advance(301)
        server.mode = "500"  # the refresh fails: the stale set serves until retry_at
        assert remote.verification_key(kid, "ES256") == key
        assert remote.verification_key_nowait(kid, "ES256") is key  # through decide()
        assert server.count == 3  # the first fetch, the refresh, the failed refresh


def test_file_store_twin_answers_until_a_reload_is_due(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900)
    store = FileKeyStore(tmp_path / "keys", policy=policy, clock=clock, reload_interval=5)
    key = store.signing_key()
    assert store.verification_key_nowait(key.kid, key.alg) == key
    assert store.verification_key_nowait("unknown", key.alg) is None  # a look at the file first
    with pytest.raises(AlgorithmMismatch):
        store.verification_key_nowait(key.kid, "RS256")
    with pytest.raises(UnknownKey):
        store.verification_key_nowait(None, "RS256")
    clock.advance(6)
    assert store.verification_key_nowait(key.kid, key.alg) is None  # a stat is due


@pytest.mark.redis
def test_redis_revocation_twin_answers_from_the_warm_cache_only(
    redis_url: str, store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    import redis

    from tokensmith.revocation import LocalCache

    client: Any = redis.Redis.from_url(redis_url)
    validator = _validator(store, clock)
    token = asyncio.run(validator.avalidate(signer.issue("u", audience=AUDIENCE)))
    plain = RedisRevocationList(client, clock=clock)
    assert plain.is_revoked_nowait(token) is None
    with RedisRevocationList(client, clock=clock, local_cache=LocalCache(max_staleness=5)) as rl:
        wait_until(lambda: rl.cache_live, what="the subscription")
        assert rl.is_revoked_nowait(token) is None  # not seen yet
        assert rl.is_revoked(token) is False
        assert rl.is_revoked_nowait(token) is False  # warm
        clock.advance(6)
        assert rl.is_revoked_nowait(token) is None  # too old
    client.close()


def test_sqlite_has_no_twin(tmp_path: Path) -> None:
    with SQLiteRevocationList(tmp_path / "r.db") as rl:
        assert nowait_twin(rl, "is_revoked", "is_revoked_nowait") is None
        assert not isinstance(rl, NonBlockingRevocationList)


def test_key_set_itself_is_not_a_key_source() -> None:
    assert not isinstance(KeySet.generate(), NonBlockingKeySource)


def test_an_async_audit_sink_is_refused_when_the_validator_is_built(
    store: MemoryKeyStore, clock: FakeClock
) -> None:
    """Both faces call the sink synchronously: an async one would never run."""

    async def sink(event: object) -> None:
        raise AssertionError

    class Sink:
        async def __call__(self, event: object) -> None:
            raise AssertionError

    for audit in (sink, Sink()):
        with pytest.raises(ConfigurationError, match="AsyncQueueSink") as caught:
            Validator(store, issuer=ISSUER, audience=AUDIENCE, audit=audit)  # type: ignore[arg-type]
        assert type(caught.value) is ConfigurationError


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own() -> None:
    """The parent's pool threads do not exist in a forked child (gunicorn --preload): an
    inherited pool would queue the child's calls forever."""
    assert asyncio.run(run_blocking(threading.current_thread)).name.startswith(POOL)
    with warnings.catch_warnings():  # 3.12+ warns on fork() with threads: the child is simple
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            done = asyncio.run(asyncio.wait_for(run_blocking(lambda: "ran"), 10))
            code = 0 if done == "ran" and pending() == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
