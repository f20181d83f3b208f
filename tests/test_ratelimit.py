"""tokensmith.ratelimit: GCRA in memory and in Redis (one script per check, across processes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokensmith._redis import encode_key_part
from tokensmith.errors import BackendUnavailable, ConfigurationError, Throttled
from tokensmith.ratelimit import (
    AsyncRedisRateLimiter,
    AsyncRefusalThrottle,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    RefusalThrottle,
)
from tokensmith.testing import FakeClock

ROOT = Path(__file__).resolve().parent.parent


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
    from tests.conftest import RedisTarget

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
    assert len(limiter._tats) == 1
    for i in range(20):  # all busy: the oldest are dropped
        limiter.check(f"busy{i}")
    assert len(limiter._tats) <= 10
    with pytest.raises(ConfigurationError):
        MemoryRateLimiter(1, 1, max_keys=0)
    assert repr(limiter) == "MemoryRateLimiter(rate=1, burst=2)"


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
        from tokensmith.ratelimit import RedisRateLimiter
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


# --- the documentation page runs ---------------------------------------------------------------


def test_docs_page_code_runs() -> None:
    import re as _re
    from pathlib import Path as _Path

    page = _Path(__file__).resolve().parent.parent / "docs" / "rate-limiting.md"
    blocks = _re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), _re.S | _re.M)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "docs_ratelimit"}
    for block in blocks:
        if block.startswith("# not run here"):
            compile(block, str(page), "exec")
            continue
        exec(compile(block, str(page), "exec"), namespace)


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
