"""Shared fixtures: an injected clock, key stores, and a real redis-server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.redis_server import RedisServer
from tokensmith import KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.testing import FakeClock

ISSUER = "https://auth.example.test"
AUDIENCE = "orders-api"


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
