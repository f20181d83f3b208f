"""Async services: the anomaly, rate-limit and audit-queue paths never block the event loop.

Each test pauses a real redis-server (``CLIENT PAUSE``) so that every Redis round trip takes
``PAUSE`` seconds, runs one path from a coroutine, and measures the loop with a ticker: a 5 ms
sleep that wakes up late means the loop was blocked. The control test shows the ticker does see
a blocked loop (a sync Redis store called inline from a coroutine). Issue 14, item 11.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import KeySet, MemoryKeyStore, Signer, TokenError, Validator
from tokensmith.errors import ConfigurationError, Throttled
from tokensmith.observability import AsyncQueueSink, AuditEvent, QueueSink, audit_context
from tokensmith.observability.anomaly import (
    AsyncRedisWindows,
    AsyncRefusalBurstDetector,
    AsyncTokenSharingDetector,
    MemoryWindows,
    RedisWindows,
    RefusalBurstDetector,
)
from tokensmith.web.ratelimit import AsyncRedisRateLimiter, AsyncRefusalThrottle, client_key

PAUSE = 0.8  # seconds every Redis command waits while the server is paused
STALL = 0.4  # a loop that stalls this long was blocked (a blocked loop stalls ~PAUSE)
T0 = 1_700_000_000.0


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    with contextlib.suppress(Exception):
        client.execute_command("CLIENT", "UNPAUSE")
    client.close()


def async_client(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


class LoopWatch:
    """The longest time the loop took to wake a 5 ms sleep, beyond the 5 ms."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - started - 0.005)
            self.ticks += 1

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(0.02)  # let a late tick report how late it was
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def paused_run(redis_client: Any, work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Pause Redis, run ``work`` under the loop watch: (seconds it took, worst loop stall)."""
    async with LoopWatch() as watch:
        redis_client.execute_command("CLIENT", "PAUSE", int(PAUSE * 1000), "ALL")
        started = time.perf_counter()
        await work()
        took = time.perf_counter() - started
    return took, watch.worst


@contextlib.asynccontextmanager
async def async_redis(url: str) -> AsyncIterator[Any]:
    client = async_client(url)
    try:
        await client.ping()  # connected before the pause: only the command waits
        yield client
    finally:
        await client.aclose()


def refused(at: float, ip: str) -> AuditEvent:
    return AuditEvent("token.refused", at, code="invalid_signature", ip=ip)


def forged(token: str) -> str:
    head, body, sig = token.split(".")
    return f"{head}.{body}.{'A' * len(sig)}"


# --- the control: the ticker sees a blocked loop ----------------------------------------------


def test_the_watch_sees_a_sync_redis_call_block_the_loop(redis_client: Any) -> None:
    windows = RedisWindows(redis_client)
    windows.add("warm", "m", T0, 60)

    async def blocking() -> None:
        windows.add("k", "m", T0, 60)  # a sync Redis call inside a coroutine: the mistake

    took, worst = asyncio.run(paused_run(redis_client, blocking))
    assert took >= PAUSE / 2 and worst >= PAUSE / 2


# --- anomaly windows and detectors ---------------------------------------------------------------


def test_async_redis_windows_do_not_block_the_loop(redis_url: str, redis_client: Any) -> None:
    async def main() -> tuple[float, float]:
        async with async_redis(redis_url) as client:
            windows = AsyncRedisWindows(client)

            async def work() -> None:
                assert await windows.add("k", "m", T0, 60) == 1

            return await paused_run(redis_client, work)

    took, worst = asyncio.run(main())
    assert took >= PAUSE / 2 and worst < STALL


def test_async_detectors_behind_an_async_queue_do_not_block_the_loop(
    redis_url: str, redis_client: Any
) -> None:
    """A validator's refusal reaches an async detector over Redis; the handler never waits."""
    signals: list[AuditEvent] = []

    async def main() -> tuple[float, float, float]:
        async with async_redis(redis_url) as client:
            detector = AsyncRefusalBurstDetector(
                signals.append, threshold=2, window=60, by=["ip"], store=AsyncRedisWindows(client)
            )
            async with AsyncQueueSink(detector) as audit:
                keys = MemoryKeyStore(KeySet.generate("ES256"))
                token = Signer(keys, issuer=ISSUER).issue("u", audience=AUDIENCE)
                validator = Validator(keys, issuer=ISSUER, audience=AUDIENCE, audit=audit)
                handled = 0.0

                async def work() -> None:
                    nonlocal handled
                    started = time.perf_counter()
                    for _ in range(2):
                        with audit_context(ip="198.51.100.7"), pytest.raises(TokenError):
                            await validator.avalidate(forged(token))
                    handled = time.perf_counter() - started  # the handler did not wait
                    assert await audit.flush()

                took, worst = await paused_run(redis_client, work)
        return took, worst, handled

    took, worst, handled = asyncio.run(main())
    assert took >= PAUSE / 2 and worst < STALL and handled < STALL
    assert [s.detail["signal"] for s in signals] == ["refusal_burst"]


def test_sync_detectors_behind_a_queue_sink_do_not_block_the_loop(
    redis_url: str, redis_client: Any
) -> None:
    """The thread-backed QueueSink is loop-safe too: Redis waits happen on its thread, and
    ``aflush``/``aclose`` wait without blocking the loop."""
    signals: list[AuditEvent] = []
    detector = RefusalBurstDetector(
        signals.append, threshold=2, window=60, by=["ip"], store=RedisWindows(redis_client)
    )
    detector(refused(T0 - 100, "192.0.2.1"))  # the client is connected before the pause
    queue = QueueSink(detector)

    async def work() -> None:
        queue(refused(T0, "198.51.100.7"))
        queue(refused(T0 + 1, "198.51.100.7"))
        assert await queue.aflush()
        await queue.aclose()

    took, worst = asyncio.run(paused_run(redis_client, work))
    assert took >= PAUSE / 2 and worst < STALL
    assert [s.detail["signal"] for s in signals] == ["refusal_burst"] and not queue.running


# --- rate limiting ---------------------------------------------------------------------------


def test_async_rate_limiting_does_not_block_the_loop(redis_url: str, redis_client: Any) -> None:
    async def main() -> tuple[float, float]:
        async with async_redis(redis_url) as client:
            limiter = AsyncRedisRateLimiter(client, 1.0, 2)
            throttle = AsyncRefusalThrottle.redis(client, 2, 60.0)
            key = client_key("2001:db8::1")

            async def work() -> None:
                assert (await limiter.check(key)).allowed
                await throttle.record_refusal(key)
                await throttle.record_refusal(key)
                with pytest.raises(Throttled):
                    await throttle.check(key)

            return await paused_run(redis_client, work)

    took, worst = asyncio.run(main())
    assert took >= PAUSE / 2 and worst < STALL


# --- AsyncQueueSink: behaviour --------------------------------------------------------------------


def test_async_queue_sink_delivers_in_order_to_sync_and_async_sinks() -> None:
    seen: list[tuple[str, str]] = []

    async def slow(event: AuditEvent) -> None:
        await asyncio.sleep(0.001)
        seen.append(("async", event.kind))

    def fast(event: AuditEvent) -> None:
        seen.append(("sync", event.kind))

    async def main() -> AsyncQueueSink:
        audit = AsyncQueueSink(slow, fast)
        audit(AuditEvent("token.issued", T0))  # before start: waits in the buffer
        async with audit:
            assert audit.running and repr(audit) == "AsyncQueueSink(sinks=2, dropped=0)"
            audit(AuditEvent("token.validated", T0))
            assert await audit.flush()
            assert seen == [
                ("async", "token.issued"),
                ("sync", "token.issued"),
                ("async", "token.validated"),
                ("sync", "token.validated"),
            ]
            audit(AuditEvent("token.refused", T0))
        assert not audit.running and seen[-1] == ("sync", "token.refused")  # delivered on close
        audit(AuditEvent("token.refused", T0))  # closed: dropped, counted
        await audit.aclose()  # idempotent
        return audit

    assert asyncio.run(main()).dropped == 1


def test_async_queue_sink_accepts_events_from_other_threads() -> None:
    seen: list[str] = []

    async def main() -> None:
        async with AsyncQueueSink(lambda e: seen.append(e.kind)) as audit:

            def emit() -> None:
                for _ in range(50):
                    audit(AuditEvent("token.validated", T0))

            workers = [threading.Thread(target=emit) for _ in range(4)]
            for worker in workers:
                worker.start()
            for worker in workers:
                await asyncio.to_thread(worker.join)
            await asyncio.to_thread(audit, AuditEvent("token.revoked", T0))  # from the pool
            assert await audit.flush()

    asyncio.run(main())
    assert seen.count("token.validated") == 200 and seen[-1] == "token.revoked"


def test_async_queue_sink_bounds_and_failures(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    async def failing(event: AuditEvent) -> None:
        raise RuntimeError("sink down")

    async def never(event: AuditEvent) -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        audit = AsyncQueueSink(failing, lambda e: seen.append(e.kind), maxsize=2)
        for _ in range(3):
            audit(AuditEvent("token.validated", T0))
        assert audit.dropped == 1
        with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
            await audit.aclose()
        assert seen == ["token.validated"] * 2  # the failing sink did not starve the other
        stuck = AsyncQueueSink(never)
        stuck(AuditEvent("token.validated", T0))
        assert await stuck.flush(timeout=0.05) is False
        await stuck.aclose(timeout=0.05)
        assert stuck.running  # still waiting on its sink; the loop ends it
        assert stuck._task is not None
        stuck._task.cancel()

    asyncio.run(main())
    assert "audit sink function failed on a token.validated event" in caplog.text
    for bad in ({"maxsize": 0}, {"maxsize": True}):
        with pytest.raises(ConfigurationError):
            AsyncQueueSink(seen.append, **bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncQueueSink()
    with pytest.raises(ConfigurationError):
        AsyncQueueSink(5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncQueueSink(lambda e: seen.append(e.kind)).start()  # no running loop


def test_async_detectors_over_memory_windows() -> None:
    out: list[AuditEvent] = []

    async def main() -> None:
        burst = AsyncRefusalBurstDetector(out.append, threshold=2, window=60, by=["ip"])
        shared = MemoryWindows()
        sharing = AsyncTokenSharingDetector(out.append, max_ips=1, window=60, store=shared)
        await burst(refused(T0, "2001:db8::1"))
        await burst(refused(T0 + 1, "2001:db8::2"))  # the same /64
        await burst(AuditEvent("token.validated", T0))  # not a refusal
        for i, ip in enumerate(["198.51.100.7", "::ffff:198.51.100.7", "198.51.100.8"]):
            await sharing(AuditEvent("token.validated", T0 + i, jti="j", ip=ip))
        await sharing(AuditEvent("token.refused", T0, ip="198.51.100.9"))

    asyncio.run(main())
    assert [e.detail["signal"] for e in out] == ["refusal_burst", "token_shared"]
    assert out[1].detail["distinct_ips"] == "2"
