"""Fixtures for every test folder: an injected clock, key stores, a real redis-server and Redis
Cluster on loopback, and the session-wide check that no issued token reaches a log record.

The helpers behind them live in :mod:`tests.support`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tests.support.redis import RedisClusterServers, RedisServer, RedisTarget
from tokensmith import KeySet, MemoryKeyStore, Signer, Validator, fingerprint
from tokensmith.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def store(clock: FakeClock) -> MemoryKeyStore:
    return MemoryKeyStore(KeySet.generate("ES256"), clock=clock)


@pytest.fixture
def signer(store: MemoryKeyStore, clock: FakeClock) -> Signer:
    return Signer(store, issuer=ISSUER, ttl=600, clock=clock)


@pytest.fixture
def validator(store: MemoryKeyStore, clock: FakeClock) -> Validator:
    return Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server per test process; never skipped (CI installs redis-server)."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of a running, empty Redis (flushed after each test)."""
    import redis

    if redis_server.process is None:
        redis_server.start()
    client: Any = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url
    if redis_server.process is None:  # a test stopped it; bring it back for the next one
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()


# --- the same backends on a real 3-node Redis Cluster (issue 14 item 17) --------------------


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A real Redis Cluster (3 primaries on loopback), started at its first use and once per
    test process; never skipped (redis-cli ships with Debian's redis-server)."""
    cluster = RedisClusterServers()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(params=["single", "cluster"])
def any_redis(request: pytest.FixtureRequest) -> Iterator[RedisTarget]:
    """Parametrizes a test over one redis-server and a real 3-node Redis Cluster."""
    if request.param == "single":
        yield RedisTarget(request.getfixturevalue("redis_url"), cluster=False)
        return
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    cluster.flush()
    yield RedisTarget(cluster.url, cluster=True)
    cluster.flush()


# --- no issued token in any log record (issue 7) ----------------------------------------------
# Every Signer-issued token of the session is recorded, every log record of the session is
# formatted and kept (seen in Logger.callHandlers, so loggers that do not propagate are
# included; the "tokensmith" logger is opened to DEBUG so library records are produced), and
# the session fails if any record contains any issued token. Per xdist worker.

_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class _LogCollector(logging.Handler):
    """Keeps the full text of every record: message, exception, stack and extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.texts: list[str] = []
        self.loggers: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
        self.texts.append(f"{text} {extras!r}" if extras else text)
        self.loggers.append(record.name)


@pytest.fixture(scope="session", autouse=True)
def _no_issued_token_in_logs() -> Iterator[None]:
    issued: list[str] = []
    original = Signer._issue

    def recording(self: Signer, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        issued.append(result[0])
        return result

    Signer._issue = recording  # type: ignore[method-assign]
    collector = _LogCollector()
    call_handlers = logging.Logger.callHandlers

    def collecting(self: logging.Logger, record: logging.LogRecord) -> None:
        collector.handle(record)
        call_handlers(self, record)

    logging.Logger.callHandlers = collecting  # type: ignore[method-assign]
    library = logging.getLogger("tokensmith")
    level = library.level
    library.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        Signer._issue = original  # type: ignore[method-assign]
        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
        library.setLevel(level)
    text = "\n".join(collector.texts)
    leaked = {token for token in issued if token in text}
    loggers = sorted(
        {name for name, t in zip(collector.loggers, collector.texts) if any(x in t for x in leaked)}
    )
    assert not leaked, (
        f"{len(leaked)} issued token(s) appear in log records of loggers {loggers} "
        f"(token fingerprints: {sorted(fingerprint(t) for t in leaked)[:5]})"
    )
