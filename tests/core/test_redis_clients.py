"""Issue 14 item 16: every Redis client tokensmith builds has one set of tight settings.

Each ``from_url`` (revocation lists, refresh store, replay store, rate limiters, anomaly
windows, key store) makes its client through ``tokensmith._redis``: 0.5 s to connect and per
reply, one immediate retry. A request handler waiting on a dead or hung Redis must answer 503
within about a second, never block for redis-py's defaults (no timeout, seconds of backoff).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.redis import RedisServer, RedisTarget
from tokensmith import BackendUnavailable, ConfigurationError, RotationPolicy
from tokensmith._redis import (
    SOCKET_TIMEOUT,
    check_prefix,
    client_options,
    connect,
    connect_async,
    encode_key_part,
)
from tokensmith.observability.anomaly import AsyncRedisWindows, RedisWindows
from tokensmith.refresh.redis import RedisRefreshStore
from tokensmith.replay import RedisJtiReplayStore
from tokensmith.revocation.redis import AsyncRedisRevocationList, RedisRevocationList
from tokensmith.stores.redis import RedisKeyStore
from tokensmith.testing import FakeClock, verified_token
from tokensmith.web.ratelimit import AsyncRedisRateLimiter, RedisRateLimiter

pytestmark = pytest.mark.redis

POLICY = RotationPolicy(rotate_every=30 * 86400)
KEK = secrets.token_bytes(32)

# name -> (make from a URL, one operation that needs Redis)
SYNC: dict[str, tuple[Callable[..., Any], Callable[[Any], object]]] = {
    "revocation": (
        lambda url, **kw: RedisRevocationList.from_url(url, **kw),
        lambda rl: rl.is_revoked(verified_token(expires_at=time.time() + 60)),
    ),
    "refresh": (
        lambda url, **kw: RedisRefreshStore.from_url(url, **kw),
        lambda store: store.find("a" * 64, family_id="f"),
    ),
    "replay": (
        lambda url, **kw: RedisJtiReplayStore.from_url(url, **kw),
        lambda store: store.use("iss", "jti", expires_at=time.time() + 60),
    ),
    "ratelimit": (
        lambda url, **kw: RedisRateLimiter.from_url(url, 1.0, 5, **kw),
        lambda limiter: limiter.check("k"),
    ),
    "anomaly": (
        lambda url, **kw: RedisWindows.from_url(url, **kw),
        lambda windows: windows.add("k", "m", time.time(), 60),
    ),
    "keystore": (
        lambda url, **kw: RedisKeyStore.from_url(url, policy=POLICY, kek=KEK, **kw),
        lambda store: store.signing_key(),
    ),
}
ASYNC: dict[str, Callable[..., Any]] = {
    "anomaly": lambda url, **kw: AsyncRedisWindows.from_url(url, **kw),
    "revocation": lambda url, **kw: AsyncRedisRevocationList.from_url(url, **kw),
    "ratelimit": lambda url, **kw: AsyncRedisRateLimiter.from_url(url, 1.0, 5, **kw),
}


def _close(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if callable(close):
        close()


def _assert_tight(client: Any, *, cluster: bool) -> None:
    if cluster:  # (redis-py's sync cluster client drops health_check_interval)
        options = client.nodes_manager.connection_kwargs
        retries = client.retry.get_retries()
    else:
        options = client.connection_pool.connection_kwargs
        retries = options["retry"].get_retries()
        assert options["health_check_interval"] == 30
    assert options["socket_timeout"] == SOCKET_TIMEOUT
    assert options["socket_connect_timeout"] == SOCKET_TIMEOUT
    assert retries == 1


@pytest.mark.parametrize("name", sorted(SYNC))
def test_every_sync_from_url_uses_the_shared_client_options(
    name: str, any_redis: RedisTarget
) -> None:
    make, _ = SYNC[name]
    backend = make(any_redis.url, cluster=any_redis.cluster)
    try:
        _assert_tight(backend._client, cluster=any_redis.cluster)
    finally:
        _close(backend)


@pytest.mark.parametrize("name", sorted(ASYNC))
def test_every_async_from_url_uses_the_shared_client_options(
    name: str, any_redis: RedisTarget
) -> None:
    async def main() -> None:
        backend = ASYNC[name](any_redis.url, cluster=any_redis.cluster)
        client = backend._client
        if any_redis.cluster:
            assert client.retry.get_retries() == 1
            options = client.connection_kwargs
        else:
            options = client.connection_pool.connection_kwargs
            assert options["retry"].get_retries() == 1
        assert options["socket_timeout"] == SOCKET_TIMEOUT
        assert options["socket_connect_timeout"] == SOCKET_TIMEOUT
        await backend.aclose()

    asyncio.run(main())


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A TCP server on loopback that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


def _within(seconds: float, action: Callable[[], object]) -> BaseException | None:
    """Run ``action`` in a thread; the exception it raised, or fail if it is still blocked."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:  # reported to the test below
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("name", sorted(SYNC))
def test_a_hung_redis_costs_seconds_not_forever(name: str, silent_url: str) -> None:
    """A Redis that accepts but never answers: ``BackendUnavailable`` within ~2 s (two attempts
    of 0.5 s per reply); a default redis-py client would wait forever."""
    make, operation = SYNC[name]
    started = time.monotonic()

    def attempt() -> None:
        backend = make(silent_url)
        try:
            operation(backend)
        finally:
            _close(backend)

    error = _within(8, attempt)
    assert type(error) is BackendUnavailable, error
    assert time.monotonic() - started < 4


def test_a_key_store_reload_while_redis_is_down_costs_no_backoff(
    redis_server: RedisServer, redis_url: str
) -> None:
    """The key-store example of docs/redis.md: with a plain ``redis.Redis(host, port)`` each
    reload attempt during an outage slept through redis-py's backoff (6-9 s measured); with
    ``from_url`` it fails at once and the replica keeps signing with its cached set."""
    clock = FakeClock(time.time())
    store = RedisKeyStore.from_url(redis_url, policy=POLICY, kek=KEK, clock=clock)
    try:
        kid = store.signing_key().kid
        redis_server.stop()
        for _ in range(3):
            clock.advance(2)  # past reload_interval: every call attempts a reload
            started = time.monotonic()
            assert store.signing_key().kid == kid
            assert time.monotonic() - started < 1.5
    finally:
        store.close()


def test_from_url_refuses_bad_arguments() -> None:
    for bad_url in ("", None, 5):
        with pytest.raises(ConfigurationError):
            connect(bad_url)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            connect_async(bad_url)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        connect("redis://127.0.0.1:1/0", cluster="yes")  # type: ignore[arg-type]


def test_an_unreachable_cluster_is_backend_unavailable() -> None:
    from tests.support.redis import free_port

    with pytest.raises(BackendUnavailable) as caught:
        RedisRefreshStore.from_url(f"redis://127.0.0.1:{free_port()}", cluster=True)
    assert type(caught.value) is BackendUnavailable


def test_client_options_are_fresh_and_tight() -> None:
    first, second = client_options(), client_options()
    assert first is not second and first["retry"] is not second["retry"]
    assert first["socket_timeout"] == first["socket_connect_timeout"] == 0.5


@pytest.mark.parametrize(
    "make",
    [
        lambda client, prefix: RedisRevocationList(client, prefix=prefix),
        lambda client, prefix: RedisRefreshStore(client, prefix=prefix),
        lambda client, prefix: RedisJtiReplayStore(client, prefix=prefix),
        lambda client, prefix: RedisRateLimiter(client, 1.0, 1, prefix=prefix),
        lambda client, prefix: RedisWindows(client, prefix=prefix),
        lambda client, prefix: RedisKeyStore(client, policy=POLICY, kek=KEK, prefix=prefix),
    ],
)
def test_every_backend_checks_its_prefix_the_same_way(make: Any, redis_url: str) -> None:
    """One prefix rule everywhere: a string of at most 256 characters without braces."""
    client = connect(redis_url)
    try:
        for bad in ("a{b", "a}b", "x" * 257, 5, None):
            with pytest.raises(ConfigurationError):
                make(client, bad)
        _close(make(client, "tenant-a:"))  # closes the shared client too, where it does
    finally:
        client.close()


def test_key_parts_are_encoded_the_same_way() -> None:
    assert check_prefix("p:") == "p:"
    assert encode_key_part("{a}:b|c") == "e2F9OmJ8Yw"
    assert encode_key_part("\udcff") == "7bO_"


@pytest.mark.parametrize("name", sorted(SYNC))
def test_from_url_with_a_bad_option_refuses_and_closes_its_client(
    name: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    made: list[Any] = []
    closed: list[int] = []
    from_url, close = redis.Redis.from_url, redis.Redis.close

    def recording_from_url(url: str, **options: Any) -> Any:
        client = from_url(url, **options)
        made.append(client)
        return client

    def recording_close(self: Any) -> None:
        closed.append(id(self))  # (other tests' clients may be collected meanwhile)
        close(self)

    monkeypatch.setattr(redis.Redis, "from_url", recording_from_url)
    monkeypatch.setattr(redis.Redis, "close", recording_close)
    make, _ = SYNC[name]
    with pytest.raises(ConfigurationError) as caught:
        make(redis_url, prefix="a{b")
    assert type(caught.value) is ConfigurationError
    assert len(made) == 1
    assert id(made[0]) in closed


def test_a_client_we_cannot_copy_subscribes_through_itself() -> None:
    from tokensmith._redis import async_subscription_client, subscription_client

    assert subscription_client(object()) is None
    assert asyncio.run(async_subscription_client(object())) is None


def test_refusal_throttles_built_from_a_url_use_the_shared_client_options(
    redis_url: str,
) -> None:
    from tokensmith.web.ratelimit import AsyncRefusalThrottle, RefusalThrottle

    throttle = RefusalThrottle.redis(redis_url, 3, 30.0)
    limiter: Any = throttle.limiter  # a RedisRateLimiter: its client is checked
    _assert_tight(limiter._client, cluster=False)
    throttle.check("198.51.100.7")

    async def main() -> None:
        twin = AsyncRefusalThrottle.redis(redis_url, 3, 30.0)
        twin_limiter: Any = twin.limiter
        _assert_tight(twin_limiter._client, cluster=False)
        await twin.check("198.51.100.7")
        await twin_limiter.aclose()

    asyncio.run(main())
    limiter.close()
