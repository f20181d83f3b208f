"""``avalidate()`` never blocks the event loop, for every pairing of key source and revocation
list (issue 16 §2).

One window of about two seconds serves every pairing at once: the JWKS server takes 2 s to
answer the remote key sets' first fetch, and Redis is paused for 2 s (``CLIENT PAUSE``) while
the Redis revocation lists are asked; the memory, file and SQLite pairings validate again and
again meanwhile. A ticker task measures how late the loop wakes it.

Two verdicts, so that a loaded machine cannot make the test flaky:

* the loop never waited for a backend: a backend called on the loop makes the ticker late by
  about two seconds, on every try, while the scheduling noise of a shared machine stays far
  below :data:`BLOCKED`. Always asserted, on the first try.
* the issue's bound, 20 ms: asserted when the machine can keep it. Each try first times an idle
  loop (the ticker alone) as a control, then the window; a window under the bound passes. If
  no try passes, the test fails when the idle controls were quiet (their median under
  :data:`QUIET`: the lag was ours), and is skipped, naming every lag, when the idle loop alone
  was already late (a machine too loaded to judge 20 ms; seen with eight test runs on two
  cores).

Threads are started before the window (tokensmith's pool and the loop's default executor):
``Thread.start()`` waits until the new thread runs, once per thread and process, which on a
loaded machine is scheduling noise, not the steady state this test is about.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

from tests.support.jwks_server import JWKSServer
from tokensmith import KeySet, MemoryKeyStore, Signer, Validator
from tokensmith._offload import WORKERS, run_blocking
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.keyset import RotationPolicy
from tokensmith.revocation import (
    AsyncRedisRevocationList,
    MemoryRevocationList,
    RedisRevocationList,
    SQLiteRevocationList,
)
from tokensmith.stores import FileKeyStore

T = TypeVar("T")

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ISSUER = "https://issuer.test"
AUDIENCE = "api"
SLOW = 2.0  # how long the JWKS server and Redis take to answer during the window
TICK = 0.005
MAX_LAG = 0.020  # the issue's bound
BLOCKED = 1.0  # a lag this long is the loop blocked by a 2 s backend, never noise
TRIES = 5
CONTROL = 0.5  # seconds of idle ticking before each window
QUIET = 0.005  # idle loops this punctual (the median) mean a machine able to keep the bound
KEY_SOURCES = ("RemoteJWKS", "AsyncRemoteJWKS", "FileKeyStore", "MemoryKeyStore")
REVOCATIONS = ("none", "memory", "sqlite", "redis", "async redis")


class Window:
    """Everything one measurement needs, fresh each try (the remote sets start empty)."""

    def __init__(self, server: JWKSServer, keyset: KeySet, directory: Path, url: str) -> None:
        self.sync_remote = RemoteJWKS(server.url(), issuer=ISSUER)
        self.async_remote = AsyncRemoteJWKS(server.url(), issuer=ISSUER)
        file_store = FileKeyStore(
            directory / "keys",
            policy=RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900),
            reload_interval=0,  # a stat on every lookup: always the thread path
        )
        file_store.replace(keyset)
        self.file_store = file_store
        self.sqlite = _made_elsewhere(lambda: SQLiteRevocationList(directory / "revoked.db"))
        self.sync_client: Any = redis.Redis.from_url(url, socket_timeout=SLOW + 3)
        self.async_client: Any = redis.asyncio.Redis.from_url(url, socket_timeout=SLOW + 3)
        self.revocations: dict[str, Any] = {
            "none": None,
            "memory": MemoryRevocationList(),
            "sqlite": self.sqlite,
            "redis": RedisRevocationList(self.sync_client),
            "async redis": AsyncRedisRevocationList(self.async_client),
        }
        self.sources: dict[str, Any] = {
            "RemoteJWKS": self.sync_remote,
            "AsyncRemoteJWKS": self.async_remote,
            "FileKeyStore": file_store,
            "MemoryKeyStore": MemoryKeyStore(keyset),
        }

    def validator(self, source: str, revocation: str) -> Validator:
        return Validator(
            self.sources[source],
            issuer=ISSUER,
            audience=AUDIENCE,
            revocation=self.revocations[revocation],
        )

    async def close(self) -> None:
        self.sync_remote.close()
        await self.async_remote.aclose()
        self.sqlite.close()
        self.sync_client.close()
        await self.async_client.aclose()


@pytest.fixture
def slow_jwks() -> Iterator[tuple[JWKSServer, KeySet, Signer]]:
    keyset = KeySet.generate("ES256")
    issuer = MemoryKeyStore(keyset)
    with JWKSServer() as server:
        server.serve_store(issuer, max_age=300)
        server.mode = "slow"
        server.delay = SLOW
        yield server, keyset, Signer(issuer, issuer=ISSUER, ttl=600)


async def _ticker(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(TICK)
        lags.append(loop.time() - start - TICK)


async def _pairing(validator: Validator, token: str, remote: bool, until: float) -> str:
    """Validate once (a remote source waits for its slow first fetch), or, for a local source,
    again and again until the window closes; the name of the outcome."""
    loop = asyncio.get_running_loop()
    while True:
        verified = await validator.avalidate(token)
        assert verified.subject == "user"
        if remote or loop.time() >= until:
            return "ok"
        await asyncio.sleep(0.25)


async def _window(window: Window, token: str, redis_url: str) -> float:
    """Run every pairing in one window; the ticker's worst lag. The test's own set-up (the
    validators, the Redis pause) stays off the measured loop."""
    loop = asyncio.get_running_loop()
    validators = [
        (window.validator(source, revocation), "Remote" in source)
        for source in KEY_SOURCES
        for revocation in REVOCATIONS
    ]
    pauser: Any = redis.Redis.from_url(redis_url)
    pauser.ping()  # connected before the window
    await _start_threads()
    lags: list[float] = []
    stop = asyncio.Event()
    ticker = loop.create_task(_ticker(stop, lags))
    try:
        await asyncio.sleep(0.05)  # the ticker is running
        pause = ("CLIENT", "PAUSE", str(int(SLOW * 1000)), "ALL")
        await asyncio.to_thread(pauser.execute_command, *pause)
        until = loop.time() + SLOW
        outcomes = await asyncio.gather(
            *(_pairing(validator, token, remote, until) for validator, remote in validators)
        )
    finally:
        stop.set()
        await ticker
        pauser.close()
    assert outcomes == ["ok"] * len(KEY_SOURCES) * len(REVOCATIONS)
    assert loop.time() - until > -SLOW / 2  # the slow parts were really waited for
    return max(lags)


async def _start_threads() -> None:
    """Every thread of tokensmith's pool and a few of the loop's default executor, started."""
    started = threading.Barrier(WORKERS)
    await asyncio.gather(*(run_blocking(started.wait, 10) for _ in range(WORKERS)))
    default = threading.Barrier(2)
    await asyncio.gather(*(asyncio.to_thread(default.wait, 10) for _ in range(2)))


async def _idle(seconds: float) -> float:
    """The worst lag of the ticker alone: this machine's noise right now."""
    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.get_running_loop().create_task(_ticker(stop, lags))
    await asyncio.sleep(seconds)
    stop.set()
    await ticker
    return max(lags)


def test_the_loop_never_waits_for_a_backend(
    slow_jwks: tuple[JWKSServer, KeySet, Signer],
    redis_url: str,
    tmp_path: Path,
) -> None:
    server, keyset, signer = slow_jwks
    token = signer.issue("user", audience=AUDIENCE)
    tries: list[tuple[float, float]] = []  # (idle control, window)
    for attempt in range(TRIES):
        window = Window(server, keyset, tmp_path / str(attempt), redis_url)
        sqlite_threads: set[str] = set()

        async def main(window: Window = window, seen: set[str] = sqlite_threads) -> float:
            try:
                return await _window(window, token, redis_url)
            finally:
                seen.update(_sqlite_threads(window))
                await window.close()

        control = asyncio.run(_idle(CONTROL))
        started = time.monotonic()
        worst = asyncio.run(main())
        assert time.monotonic() - started >= SLOW  # the window lasted the slow answers
        assert worst < BLOCKED, f"the loop was blocked for {worst:.3f} s"
        # the SQLite list was asked only in tokensmith's worker threads, never on the loop
        assert sqlite_threads == {"tokensmith-backend"}
        tries.append((control, worst))
        if worst < MAX_LAG:
            return
    shown = [f"idle {c * 1000:.1f} ms, window {w * 1000:.1f} ms" for c, w in tries]
    if statistics.median(control for control, _ in tries) < QUIET:
        pytest.fail(f"the loop lagged beyond 20 ms while backends were slow: {shown}")
    pytest.skip(f"too loaded to judge 20 ms (no backend blocked the loop): {shown}")


def _made_elsewhere(make: Callable[[], T]) -> T:
    """``make()`` in a thread that then ends: the loop's thread holds no SQLite connection, so
    one opened there later would show in :func:`_sqlite_threads`."""
    made: list[T] = []
    thread = threading.Thread(target=lambda: made.append(make()))
    thread.start()
    thread.join()
    return made[0]


def _sqlite_threads(window: Window) -> set[str]:
    """The names of the threads that opened a connection to the SQLite list (the pool's
    names end with a number)."""
    pool: Any = window.sqlite._pool  # noqa: SLF001 - which threads opened a connection
    threads: list[threading.Thread | None] = [ref() for ref, _ in pool._connections]  # noqa: SLF001
    return {t.name.rsplit("_", 1)[0] for t in threads if t is not None}
