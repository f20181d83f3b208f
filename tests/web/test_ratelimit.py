"""tokensmith.web.ratelimit: GCRA in memory and in Redis (one script per check, across processes)."""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import ROOT
from tests.support.faces import assert_twins
from tokensmith._redis import encode_key_part
from tokensmith.errors import (
    BackendUnavailable,
    ConfigurationError,
    NetworkNotAllowed,
    Throttled,
    TokensmithError,
)
from tokensmith.testing import FakeClock
from tokensmith.web.ratelimit import (
    AsyncRedisRateLimiter,
    AsyncRefusalThrottle,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    RefusalThrottle,
    client_key,
)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def limiters(kind: str, clock: FakeClock, rate: float, burst: int, client: Any = None) -> Any:
    if kind == "memory":
        return MemoryRateLimiter(rate, burst, clock=clock)
    return RedisRateLimiter(client, rate, burst, clock=clock)


@pytest.fixture
def cluster_client(redis_cluster: Any) -> Iterator[Any]:
    """A client of the real 3-node Redis Cluster (conftest), flushed before and after."""
    from tests.support.redis import RedisTarget

    redis_cluster.flush()
    client = RedisTarget(redis_cluster.url, cluster=True).client()
    yield client
    client.close()
    redis_cluster.flush()


_REDIS_CLIENTS = {"redis": "redis_client", "redis-cluster": "cluster_client"}


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
def make(request: pytest.FixtureRequest, clock: FakeClock) -> Any:
    name = _REDIS_CLIENTS.get(request.param)
    client = request.getfixturevalue(name) if name else None
    return lambda rate, burst: limiters(request.param, clock, rate, burst, client)


def test_burst_then_steady_rate(make: Any, clock: FakeClock) -> None:
    limiter = make(2.0, 3)  # 2 per second, bursts of 3
    assert isinstance(limiter, RateLimiter)
    decisions = [limiter.check("ip-1") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    denied = limiter.check("ip-1")
    assert denied == Decision(False, pytest.approx(0.5), 0)  # type: ignore[arg-type]
    assert limiter.check("ip-2").allowed  # keys are independent
    clock.advance(0.499)
    assert not limiter.check("ip-1").allowed
    clock.advance(0.001)
    assert limiter.check("ip-1").allowed
    assert not limiter.check("ip-1").allowed
    clock.advance(10)  # fully drained: the whole burst is back
    assert limiter.peek("ip-1").remaining == 3
    assert limiter.check("ip-1", cost=3).remaining == 0
    assert not limiter.peek("ip-1").allowed


def test_peek_does_not_count(make: Any, clock: FakeClock) -> None:
    limiter = make(1.0, 2)
    for _ in range(5):
        assert limiter.peek("k") == Decision(True, 0.0, 2)
    limiter.check("k")
    limiter.check("k")
    peek = limiter.peek("k")
    assert not peek.allowed and peek.retry_after == pytest.approx(1.0)
    limiter.reset("k")
    assert limiter.peek("k").allowed


def test_denied_cost_is_not_counted(make: Any, clock: FakeClock) -> None:
    limiter = make(1.0, 3)
    limiter.check("k", cost=2)
    assert not limiter.check("k", cost=2).allowed
    assert limiter.check("k", cost=1).allowed  # the denied check took nothing


@pytest.mark.parametrize(
    ("rate", "burst"),
    [(0, 1), (-1, 1), (float("inf"), 1), (True, 1), ("1", 1), (1, 0), (1, 1.5), (1, True)],
)
def test_bad_parameters(rate: Any, burst: Any) -> None:
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(rate, burst)


@pytest.mark.parametrize("key", ["", 5, None, "x" * 513])
def test_bad_keys(key: Any) -> None:
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(1, 1).check(key)


@pytest.mark.parametrize("cost", [0, 3, True, 1.0])
def test_bad_cost(cost: Any) -> None:
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(1, 2).check("k", cost=cost)


def test_memory_is_bounded(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(1.0, 2, clock=clock, max_keys=10)
    for i in range(10):
        limiter.check(f"k{i}")
    clock.advance(5)  # all idle now
    limiter.check("new")
    assert len(limiter._tats) == 10 and "new" in limiter._tats
    for i in range(20):  # none limited (one request of a burst of two): the fullest go first
        clock.advance(0.01)
        assert limiter.check(f"busy{i}").allowed
    assert len(limiter._tats) == 10
    assert set(limiter._tats) == {f"busy{i}" for i in range(10, 20)}
    assert limiter.peek("newcomer").allowed  # a peek would find room, but takes none
    assert set(limiter._tats) == {f"busy{i}" for i in range(10, 20)}
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(1, 1, max_keys=0)
    assert repr(limiter) == "MemoryRateLimiter(rate=1, burst=2)"


def test_a_spray_of_other_keys_never_lifts_a_lock_out(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14, item 13: 300 refusals for other names do not reset user:alice's lock-out."""
    throttle = RefusalThrottle.memory(5, 60.0, clock=clock, max_keys=100)
    for _ in range(5):
        throttle.record_refusal("user:alice")
    with pytest.raises(Throttled):
        throttle.check("user:alice")
    for i in range(300):  # spray until full, and far beyond
        clock.advance(0.001)
        throttle.record_refusal(f"user:spray{i}")
    with pytest.raises(Throttled) as info:
        throttle.check("user:alice")
    assert info.value.retry_after == pytest.approx(12.0 - 0.3, abs=0.01)
    limiter = throttle.limiter
    assert isinstance(limiter, MemoryRateLimiter) and limiter._max_keys == 100
    assert len(limiter._tats) == 100 and "user:alice" in limiter._tats


def test_a_full_limiter_of_limited_keys_refuses_new_keys_and_says_so(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = MemoryRateLimiter(1.0, 2, clock=clock, max_keys=3)
    assert limiter.check("a", cost=2).allowed  # each one now limited
    clock.advance(0.5)
    for name in ("b", "c"):
        assert limiter.check(name, cost=2).allowed
    with caplog.at_level("WARNING", logger="tokensmith.web.ratelimit"):
        refused = limiter.check("d")
        assert limiter.peek("d") == refused
        limiter.check("e")
    assert refused == Decision(False, 0.5, 0)  # "a" stops being limited in half a second
    assert len([r for r in caplog.records if "new keys are refused" in r.getMessage()]) == 1
    assert set(limiter._tats) == {"a", "b", "c"}
    clock.advance(0.5)  # "a" may make one request again: no longer limited, it can go
    assert limiter.check("d").allowed and "a" not in limiter._tats
    assert limiter.check("b").allowed is False  # still limited, still held


def test_outdated_heap_pairs_are_dropped(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(1000.0, 5, clock=clock, max_keys=10)
    for _ in range(5000):
        clock.advance(0.01)
        limiter.check("hot")
        limiter.reset("gone")
    assert len(limiter._order) <= 2 * len(limiter._tats) + 1024


# --- client_key: one bucket per client (issue 14, item 4) --------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "203.0.113.7",
        " 203.0.113.7 ",
        "::ffff:203.0.113.7",
        "::FFFF:CB00:7107",
        "0:0:0:0:0:ffff:cb00:7107",
        "[::ffff:203.0.113.7]",
        ipaddress.IPv4Address("203.0.113.7"),
    ],
)
def test_one_ipv4_address_spelled_several_ways_is_one_key(spelling: Any) -> None:
    assert client_key(spelling) == "203.0.113.7"


def test_one_ipv4_address_spelled_several_ways_is_one_bucket(clock: FakeClock) -> None:
    throttle = RefusalThrottle.memory(3, 60.0, clock=clock)
    for spelling in ("203.0.113.7", "::ffff:203.0.113.7", "0:0:0:0:0:ffff:cb00:7107"):
        throttle.record_refusal(client_key(spelling))
    with pytest.raises(Throttled):
        throttle.check(client_key("[::FFFF:203.0.113.7]"))


def test_ipv6_addresses_are_aggregated_to_their_prefix() -> None:
    assert client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert client_key("[2001:DB8:1:2::1]") == "2001:db8:1:2::/64"
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key("2001:db8:1:2::1", ipv6_prefix=48) == "2001:db8:1::/48"
    assert client_key("2001:db8:1:2::1", ipv6_prefix=128) == "2001:db8:1:2::1"
    assert client_key("203.0.113.7", ipv4_prefix=24) == "203.0.113.0/24"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


@pytest.mark.parametrize("bad", ["", "junk", "203.0.113.7:80", "[203.0.113.7]", None, 5])
def test_client_key_refuses_what_is_not_an_address(bad: Any) -> None:
    with pytest.raises(NetworkNotAllowed) as info:
        client_key(bad)
    assert type(info.value) is NetworkNotAllowed


@pytest.mark.parametrize(
    "kwargs",
    [{"ipv6_prefix": 129}, {"ipv6_prefix": -1}, {"ipv4_prefix": 33}, {"ipv4_prefix": True}],
)
def test_client_key_prefix_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        client_key("203.0.113.7", **kwargs)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_thousand_addresses_of_one_slash64_are_throttled_together(
    kind: str, request: pytest.FixtureRequest, clock: FakeClock
) -> None:
    if kind == "memory":
        throttle = RefusalThrottle.memory(5, 60.0, clock=clock)
    else:
        client = request.getfixturevalue("redis_client")
        throttle = RefusalThrottle.redis(client, 5, 60.0, clock=clock)
    throttled = 0
    for i in range(1000):
        key = client_key(f"2001:db8:aa:bb:{i >> 12 & 0xF:x}:{i & 0xFFF:x}:{i * 7919 & 0xFFFF:x}:1")
        try:
            throttle.check(key)
        except Throttled:
            throttled += 1
            continue
        throttle.record_refusal(key)
    assert throttled == 995  # five attempts in all, then the whole /64 waits
    throttle.check(client_key("2001:db8:aa:bc::1"))  # the next /64 is another client


@given(st.text(max_size=50) | st.binary(max_size=20) | st.none() | st.integers())
def test_client_key_answers_a_key_or_refuses(value: Any) -> None:
    try:
        key = client_key(value)
    except TokensmithError as exc:
        error: TokensmithError | None = exc
    else:
        error = None
        assert 0 < len(key) <= 43 and client_key(key.split("/")[0]) == key
    assert error is None or type(error) is NetworkNotAllowed


def test_redis_configuration_and_failures(
    redis_client: Any, redis_server: Any, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError):
        RedisRateLimiter(object(), 1, 1)
    with pytest.raises(ConfigurationError):
        RedisRateLimiter(redis_client, 1, 1, prefix=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):  # a brace would pick the Redis Cluster slot
        RedisRateLimiter(redis_client, 1, 1, prefix="rl{x}:")
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        with pytest.raises(BackendUnavailable):
            RedisRateLimiter(dead, 1, 1).check("k")
        with pytest.raises(BackendUnavailable):
            RedisRateLimiter(dead, 1, 1).reset("k")
        assert RedisRateLimiter(dead, 1, 1, fail_open=True).check("k") == Decision(True, 0.0, 0)
    finally:
        dead.close()
    limiter = RedisRateLimiter(redis_client, 1, 1, clock=clock)
    assert repr(limiter) == "RedisRateLimiter(rate=1, burst=1)"
    limiter.check("k")
    ttl = redis_client.pttl("tokensmith:rl:" + encode_key_part("k"))
    assert 0 < ttl <= 1000  # the key lives only until the bucket drains


def test_redis_limit_is_shared_by_two_processes(redis_url: str) -> None:
    """Two OS processes, one Redis: together they get exactly the burst."""
    script = textwrap.dedent(
        f"""
        import sys, redis
        sys.path.insert(0, {str(ROOT / "src")!r})
        from tokensmith.web.ratelimit import RedisRateLimiter
        client = redis.Redis.from_url(sys.argv[1])
        limiter = RedisRateLimiter(client, 0.001, 10, clock=lambda: 1_700_000_000.0)
        allowed = sum(limiter.check("shared").allowed for _ in range(10))
        client.close()
        print(allowed)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, redis_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    counts = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        counts.append(int(out))
    assert sum(counts) == 10  # 20 attempts, a burst of 10 in total


# --- the brute-force policy --------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
def throttle(request: pytest.FixtureRequest, clock: FakeClock) -> RefusalThrottle:
    if request.param == "memory":
        return RefusalThrottle.memory(3, 30.0, clock=clock)
    client = request.getfixturevalue(_REDIS_CLIENTS[request.param])
    return RefusalThrottle.redis(client, 3, 30.0, clock=clock)


def test_refusal_throttle(throttle: RefusalThrottle, clock: FakeClock) -> None:
    for i in range(3):
        throttle.check("198.51.100.7")  # not locked
        decision = throttle.record_refusal("198.51.100.7")
        assert decision.allowed == (i < 2)
    with pytest.raises(Throttled) as info:
        throttle.check("198.51.100.7")
    assert info.value.retry_after == pytest.approx(10.0)  # one attempt per window/N
    assert info.value.code == "throttled" and info.value.status_code == 429
    throttle.check("198.51.100.8")  # another client is not affected
    clock.advance(9.99)
    with pytest.raises(Throttled):
        throttle.check("198.51.100.7")
    clock.advance(0.01)
    throttle.check("198.51.100.7")  # cooled down enough for one more attempt
    throttle.record_refusal("198.51.100.7")
    with pytest.raises(Throttled):
        throttle.check("198.51.100.7")


def test_redis_time_by_default_shares_one_limit_across_clocks(redis_client: Any) -> None:
    """Without an injected clock the script reads the Redis server's clock, so limiters in
    processes on hosts whose clocks disagree still share one limit and one notion of now."""
    first = RedisRateLimiter(redis_client, 1 / 60, 3, clock=None)
    assert [first.check("client").allowed for _ in range(3)] == [True, True, True]
    second = RedisRateLimiter(redis_client, 1 / 60, 3)
    denied = second.check("client")
    assert not denied.allowed and 50 < denied.retry_after <= 60
    ttl_ms = redis_client.pttl("tokensmith:rl:" + encode_key_part("client"))
    assert 170_000 < ttl_ms <= 180_000  # the bucket drains in 3 x 60 s of server time
    with pytest.raises(ConfigurationError):
        RedisRateLimiter(redis_client, 1, 1, clock="now")  # type: ignore[arg-type]


def test_a_refusal_is_one_round_trip_except_the_one_that_locks(redis_client: Any) -> None:
    throttle = RefusalThrottle.redis(redis_client, 3, 30.0)

    def scripts_run() -> int:
        stats = redis_client.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))

    counts = []
    for _ in range(4):
        before = scripts_run()
        throttle.record_refusal("203.0.113.9")
        counts.append(scripts_run() - before)
    assert counts == [1, 1, 2, 1]  # the third locks (and asks until when); the fourth is refused


@pytest.mark.parametrize(
    ("n", "window"), [(0, 1), (1.5, 1), (True, 1), (1, 0), (1, "x"), (1, float("nan"))]
)
def test_refusal_throttle_configuration(n: Any, window: Any) -> None:
    with pytest.raises(ConfigurationError):
        RefusalThrottle.memory(n, window)


def test_refusal_throttle_needs_a_limiter() -> None:
    with pytest.raises(ConfigurationError):
        RefusalThrottle(object())  # type: ignore[arg-type]


# --- the async twins ---------------------------------------------------------------------------


def _async_redis(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def test_async_limiter_answers_like_the_sync_one_and_shares_its_limit(
    redis_url: str, redis_client: Any, clock: FakeClock
) -> None:
    sync = RedisRateLimiter(redis_client, 1.0, 3, clock=clock)

    async def main() -> list[Decision]:
        client = _async_redis(redis_url)
        try:
            limiter = AsyncRedisRateLimiter(client, 1.0, 3, clock=clock)
            assert repr(limiter) == "AsyncRedisRateLimiter(rate=1, burst=3)"
            answers = [await limiter.check("shared"), await limiter.check("shared")]
            answers.append(sync.check("shared"))  # a sync process counts in the same bucket
            answers.append(await limiter.peek("shared"))
            answers.append(await limiter.check("shared"))
            await limiter.reset("shared")
            answers.append(await limiter.peek("shared"))
            return answers
        finally:
            await client.aclose()

    answers = asyncio.run(main())
    assert [a.allowed for a in answers] == [True, True, True, False, False, True]
    assert answers[3].retry_after == pytest.approx(1.0) and answers[5].remaining == 3


def test_async_refusal_throttle(redis_url: str, clock: FakeClock) -> None:
    async def main() -> None:
        client = _async_redis(redis_url)
        try:
            throttle = AsyncRefusalThrottle.redis(client, 3, 30.0, clock=clock)
            for i in range(3):
                await throttle.check("198.51.100.7")
                assert (await throttle.record_refusal("198.51.100.7")).allowed == (i < 2)
            with pytest.raises(Throttled) as info:
                await throttle.check("198.51.100.7")
            assert info.value.retry_after == pytest.approx(10.0)
            await throttle.check("198.51.100.8")
            clock.advance(10)
            await throttle.check("198.51.100.7")
        finally:
            await client.aclose()

    asyncio.run(main())


def test_async_failures_and_configuration(redis_client: Any) -> None:
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    async def main() -> None:
        dead = redis.asyncio.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        try:
            with pytest.raises(BackendUnavailable):
                await AsyncRedisRateLimiter(dead, 1, 1).check("k")
            with pytest.raises(BackendUnavailable):
                await AsyncRedisRateLimiter(dead, 1, 1).reset("k")
            opened = await AsyncRedisRateLimiter(dead, 1, 1, fail_open=True).check("k")
            assert opened == Decision(True, 0.0, 0)
        finally:
            await dead.aclose()

    asyncio.run(main())
    with pytest.raises(ConfigurationError):
        AsyncRefusalThrottle(RedisRateLimiter(redis_client, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RefusalThrottle(AsyncRedisRateLimiter(redis_client, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncRedisRateLimiter(object(), 1, 1)


@pytest.mark.parametrize("fail_open", ["no", 0, 1, None])
def test_fail_open_must_be_a_flag(redis_client: Any, fail_open: Any) -> None:
    """Only ``True`` opens: a truthy string such as ``"no"`` must not make a limiter fail open."""
    for face in (RedisRateLimiter, AsyncRedisRateLimiter):
        with pytest.raises(ConfigurationError) as caught:
            face(redis_client, 1, 1, fail_open=fail_open)
        assert type(caught.value) is ConfigurationError


def test_a_throttle_built_from_a_url_closes_its_client_when_refused(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As every ``from_url``: a refused option leaves no client (and no connection) behind.
    (An unused ``redis.asyncio`` client holds no connection: the async twin has none to close.)"""
    import redis

    made: list[Any] = []
    closed: list[int] = []
    from_url, close = redis.Redis.from_url, redis.Redis.close

    def recording_from_url(url: str, **options: Any) -> Any:
        client = from_url(url, **options)
        made.append(client)
        return client

    def recording_close(self: Any) -> None:
        closed.append(id(self))
        close(self)

    monkeypatch.setattr(redis.Redis, "from_url", recording_from_url)
    monkeypatch.setattr(redis.Redis, "close", recording_close)
    with pytest.raises(ConfigurationError):
        RefusalThrottle.redis(redis_url, prefix="a{b")
    assert len(made) == 1 and id(made[0]) in closed


def test_the_faces_are_twins() -> None:
    assert_twins(RedisRateLimiter, AsyncRedisRateLimiter, same=["from_url"])
    assert_twins(RefusalThrottle, AsyncRefusalThrottle, sync_only=["memory"], same=["redis"])
