"""Redis revocation lists (sync and asyncio) against a real redis-server on loopback."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from tests.support import ROOT
from tests.support.faces import assert_twins
from tests.support.redis import RedisServer, RedisTarget
from tests.support.wait import await_until, wait_until
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    MemoryKeyStore,
    Signer,
    TokenRevoked,
    Validator,
    revoke_token,
)
from tokensmith._redis import check_prefix, encode_key_part
from tokensmith.observability import AuditEvent
from tokensmith.policy import DEFAULT_LEEWAY
from tokensmith.revocation.redis import (
    AsyncRedisRevocationList,
    LocalCache,
    RedisRevocationList,
)
from tokensmith.testing import (
    AsyncRevocationListContract,
    FakeClock,
    RevocationListContract,
    verified_token,
)

pytestmark = pytest.mark.redis

ISS = "https://issuer.test"


def _client(url: str, **options: Any) -> Any:
    return redis.Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
        **options,
    )


def _async_client(url: str) -> Any:
    return redis.asyncio.Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    connection = _client(redis_url)
    yield connection
    connection.close()


# --- the shared contracts --------------------------------------------------------------------


class TestRedisRevocationContract(RevocationListContract):
    """On one redis-server and on a real 3-node Redis Cluster."""

    @pytest.fixture(autouse=True)
    def _redis(self, any_redis: RedisTarget) -> None:
        self.target = any_redis

    def make_sync_revocation_list(self, clock: FakeClock) -> RedisRevocationList:
        return RedisRevocationList.from_url(
            self.target.url, cluster=self.target.cluster, clock=clock
        )


class TestRedisRevocationWithCacheContract(RevocationListContract):
    @pytest.fixture(autouse=True)
    def _redis(self, any_redis: RedisTarget) -> None:
        self.target = any_redis

    def make_sync_revocation_list(self, clock: FakeClock) -> RedisRevocationList:
        return RedisRevocationList.from_url(
            self.target.url,
            cluster=self.target.cluster,
            clock=clock,
            prefix="cached:",
            local_cache=LocalCache(max_staleness=60),
        )


class TestAsyncRedisRevocationContract(AsyncRevocationListContract):
    @pytest.fixture(autouse=True)
    def _redis(self, any_redis: RedisTarget) -> None:
        self.target = any_redis

    async def make_revocation_list(self, clock: FakeClock) -> AsyncRedisRevocationList:
        return AsyncRedisRevocationList.from_url(
            self.target.url, cluster=self.target.cluster, clock=clock
        )


class TestAsyncRedisRevocationWithCacheContract(AsyncRevocationListContract):
    @pytest.fixture(autouse=True)
    def _redis(self, any_redis: RedisTarget) -> None:
        self.target = any_redis

    async def make_revocation_list(self, clock: FakeClock) -> AsyncRedisRevocationList:
        return AsyncRedisRevocationList.from_url(
            self.target.url,
            cluster=self.target.cluster,
            clock=clock,
            local_cache=LocalCache(max_staleness=60),
        )


# --- key layout, TTLs, injection -------------------------------------------------------------


def test_key_layout_and_cluster_slots(client: Any, clock: FakeClock) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock)
    rl.revoke("j-1", issuer=ISS, expires_at=now + 60)
    rl.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 60)
    rl.revoke_session("s-1", issuer=ISS, expires_at=now + 60)
    tag = f"tokensmith:{{i.{encode_key_part(ISS)}}}:"
    expected = {
        f"{tag}j:{encode_key_part('j-1')}",
        f"{tag}s:{encode_key_part('alice')}",
        f"{tag}x:{encode_key_part('s-1')}",
    }
    assert {k.decode() for k in client.keys("*")} == expected
    assert len({key_slot(k.encode()) for k in expected}) == 1  # one MGET is Cluster-legal
    assert client.get(f"{tag}j:{encode_key_part('j-1')}") == f"inf|{now + 60 + 300!r}".encode()
    rl.close()


def test_jti_ttl_is_remaining_lifetime_plus_grace(client: Any, clock: FakeClock) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock, grace=30)
    rl.revoke("a", issuer=ISS, expires_at=now + 60)
    key = next(iter(client.keys("*j:*")))
    assert 89_000 < client.pttl(key) <= 90_000
    rl.revoke("a", issuer=ISS, expires_at=now + 10)  # an earlier expiry never shortens it
    assert 89_000 < client.pttl(key) <= 90_000
    rl.revoke("a", issuer=ISS, expires_at=now + 600)  # a later one extends it
    assert 629_000 < client.pttl(key) <= 630_000
    rl.revoke("b", issuer=ISS, expires_at=now - 31)  # already past exp + grace: not written
    assert client.keys("*j:Yg") == []
    rl.revoke("c", issuer=ISS, expires_at=math.inf)  # no exp: kept until removed
    assert client.pttl(f"tokensmith:{{i.{encode_key_part(ISS)}}}:j:{encode_key_part('c')}") == -1


def test_watermark_ttl_follows_the_latest_expiry(client: Any, clock: FakeClock) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock, grace=0)
    rl.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 100)
    rl.revoke_subject("alice", issuer=ISS, before=now + 5, expires_at=now + 50)
    key = next(iter(client.keys("*s:*")))
    assert 99_000 < client.pttl(key) <= 100_000
    # the stored watermark is before + skew (the validators' leeway by default)
    assert client.get(key) == f"{now + 5 + DEFAULT_LEEWAY!r}|{now + 100!r}".encode()


def test_stored_expiry_passed_entry_is_replaced_not_merged(client: Any, clock: FakeClock) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock, grace=0)
    rl.revoke_subject("alice", issuer=ISS, before=now + 1000, expires_at=now + 10)
    clock.advance(20)  # the stored entry has expired by our clock (Redis may still hold it)
    rl.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 100)
    token = verified_token(subject="alice", issued_at=now + 500, expires_at=now + 600)
    assert not rl.is_revoked(token)


@pytest.mark.parametrize(
    ("issuer", "jti"),
    [
        ("https://issuer.test}", "a"),
        ("https://issuer.test", "a:j:b"),
        ("https://issuer.test}:j:YQ", ""),
        ("", "{i.aHR0cHM6Ly9pc3N1ZXIudGVzdA}:j:YQ"),
        ("https://issuer.test:", "a"),
        ("https://issuer.test", "a|inf"),
        ("https://issuer.test", "\udcff"),
    ],
)
def test_key_name_injection_is_harmless(
    client: Any, clock: FakeClock, issuer: str, jti: str
) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock)
    rl.revoke("a", issuer=ISS, expires_at=now + 60)
    if jti:
        rl.revoke(jti, issuer=issuer, expires_at=now + 60)  # an attacker-chosen pair
    assert rl.is_revoked(verified_token(jti="a", issuer=ISS, expires_at=now + 60))
    probe = verified_token(jti=jti or "x", issuer=issuer, expires_at=now + 60)
    assert rl.is_revoked(probe) is bool(jti)
    for key in client.keys("*"):
        name = key.decode()
        assert name.count("{") == 1 and name.count("}") == 1  # one hash tag, ours
    if jti:
        assert not rl.is_revoked(verified_token(jti="b", issuer=ISS, expires_at=now + 60))


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.text(), st.text())
def test_key_names_are_injective(issuer_a: str, id_a: str, issuer_b: str, id_b: str) -> None:
    from tokensmith.revocation._redis_core import Core

    core = Core(prefix="p:", grace=0)
    key_a, key_b = core.key("j", issuer_a, id_a), core.key("j", issuer_b, id_b)
    assert (key_a == key_b) == ((issuer_a, id_a) == (issuer_b, id_b))
    tag = key_a[key_a.index("{") + 1 : key_a.index("}")]
    assert tag == f"i.{encode_key_part(issuer_a)}"  # the whole issuer, never a part of an id
    assert key_slot(key_a.encode("utf-8")) == key_slot(core.key("s", issuer_a, id_b).encode())


def test_prefixes_isolate_tenants(client: Any, clock: FakeClock) -> None:
    now = clock()
    tenant_a = RedisRevocationList(client, clock=clock, prefix="tenant-a:")
    tenant_b = RedisRevocationList(client, clock=clock, prefix="tenant-b:")
    tenant_a.revoke("a", issuer=ISS, expires_at=now + 60)
    token = verified_token(jti="a", expires_at=now + 60)
    assert tenant_a.is_revoked(token)
    assert not tenant_b.is_revoked(token)
    assert all(k.startswith(b"tenant-a:") for k in client.keys("*"))


@pytest.mark.parametrize("prefix", ["a{b", "a}b", "x" * 257, 5])
def test_bad_prefix_is_refused(client: Any, prefix: Any) -> None:
    with pytest.raises(ConfigurationError):
        RedisRevocationList(client, prefix=prefix)
    with pytest.raises(ConfigurationError):
        check_prefix(prefix)


@pytest.mark.parametrize(
    "options",
    [
        {"grace": -1},
        {"grace": math.inf},
        {"grace": True},
        {"fail_open": "yes"},
        {"audit": "not callable"},
        {"local_cache": 1.0},
        {"clock": "not callable"},
    ],
)
def test_bad_options_are_refused(client: Any, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RedisRevocationList(client, **options)


def test_an_unknown_option_is_a_configuration_error_naming_it(redis_url: str) -> None:
    """Both faces and both ``from_url`` check the same options the same way."""
    misspelled: dict[str, Any] = {"fail_opne": True}
    sync_client, async_client = _client(redis_url), _async_client(redis_url)
    makers = [
        lambda: RedisRevocationList(sync_client, **misspelled),
        lambda: AsyncRedisRevocationList(async_client, **misspelled),
        lambda: RedisRevocationList.from_url(redis_url, **misspelled),
        lambda: AsyncRedisRevocationList.from_url(redis_url, **misspelled),
    ]
    try:
        for make in makers:
            with pytest.raises(ConfigurationError) as caught:
                make()
            assert type(caught.value) is ConfigurationError
            assert "'fail_opne' (did you mean 'fail_open'?)" in caught.value.message
    finally:
        sync_client.close()
        asyncio.run(async_client.aclose())


@pytest.mark.parametrize("client", [object(), "redis://127.0.0.1:6379/0", None])
def test_a_client_that_is_not_a_redis_client_is_refused(client: object) -> None:
    for face in (RedisRevocationList, AsyncRedisRevocationList):
        with pytest.raises(ConfigurationError) as caught:
            face(client)
        assert type(caught.value) is ConfigurationError


def test_the_faces_are_twins() -> None:
    assert_twins(
        RedisRevocationList,
        AsyncRedisRevocationList,
        async_only=["start"],
        sync_only=["is_revoked_nowait"],  # the loop is never blocked by the async face
    )


@pytest.mark.parametrize(
    "options",
    [
        {"max_staleness": 0},
        {"max_staleness": math.nan},
        {"max_staleness": True},
        {"max_entries": 0},
        {"max_entries": 1.5},
    ],
)
def test_bad_local_cache_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        LocalCache(**options)


def test_bad_revoke_arguments_are_refused(client: Any, clock: FakeClock) -> None:
    now = clock()
    rl = RedisRevocationList(client, clock=clock)
    with pytest.raises(ConfigurationError):
        rl.revoke("a", issuer=None, expires_at=now + 60)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        rl.revoke_subject("a", issuer=ISS, before=math.nan, expires_at=now + 60)
    with pytest.raises(ConfigurationError):
        rl.revoke_session("a", issuer=ISS, before="now", expires_at=now + 60)  # type: ignore[arg-type]
    assert client.keys("*") == []


def test_token_without_ids_needs_no_round_trip(
    redis_server: RedisServer, client: Any, clock: FakeClock
) -> None:
    rl = RedisRevocationList(client, clock=clock)
    twin = AsyncRedisRevocationList(_async_client(redis_server.url), clock=clock)
    bare = verified_token(jti=None, subject=None, expires_at=clock() + 60)
    redis_server.stop()
    assert not rl.is_revoked(bare)
    assert not asyncio.run(twin.is_revoked(bare))


def test_decode_responses_client_works(redis_url: str, clock: FakeClock) -> None:
    with _client(redis_url, decode_responses=True) as text_client:
        rl = RedisRevocationList(text_client, clock=clock)
        now = clock()
        rl.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 60)
        assert rl.is_revoked(verified_token(subject="alice", issued_at=now, expires_at=now + 60))


def test_foreign_value_fails_closed(client: Any, clock: FakeClock) -> None:
    events: list[AuditEvent] = []
    rl = RedisRevocationList(client, clock=clock, audit=events.append)
    now = clock()
    tag = f"tokensmith:{{i.{encode_key_part(ISS)}}}:"
    for value in (b"garbage", b"nan|nan", b"\xff|1"):
        client.set(f"{tag}s:{encode_key_part('user-1')}", value)
        with pytest.raises(BackendUnavailable):
            rl.is_revoked(verified_token(expires_at=now + 60))
    assert [e.kind for e in events] == ["backend.failure"] * 3


def test_repr_names_no_secret(client: Any) -> None:
    text = repr(RedisRevocationList(client))
    assert text == "RedisRevocationList(prefix='tokensmith:', fail_open=False, local_cache=False)"


# --- validate() end to end -------------------------------------------------------------------


def test_validator_refuses_a_revoked_token(client: Any, clock: FakeClock) -> None:
    store = MemoryKeyStore(clock=clock)
    signer = Signer(store, issuer=ISS, ttl=600, clock=clock)
    rl = RedisRevocationList(client, clock=clock)
    validator = Validator(store, issuer=ISS, audience="api", clock=clock, revocation=rl)
    token = signer.issue("user-1", audience="api")
    verified = validator.validate(token)
    revoke_token(rl, verified)
    with pytest.raises(TokenRevoked):
        validator.validate(token)
    key = next(iter(client.keys("*j:*")))
    assert 899_000 < client.pttl(key) <= 900_000  # 600 s of lifetime + 300 s grace


def test_async_validator_refuses_a_revoked_token(redis_url: str) -> None:
    async def main() -> None:
        clock = FakeClock(time.time())
        store = MemoryKeyStore(clock=clock)
        signer = Signer(store, issuer=ISS, ttl=600, clock=clock)
        async with AsyncRedisRevocationList.from_url(redis_url, clock=clock) as rl:
            validator = Validator(store, issuer=ISS, audience="api", clock=clock, revocation=rl)
            issued = signer.issue_token("user-1", audience="api", claims={"sid": "s-9"})
            assert (await validator.avalidate(issued.token)).subject == "user-1"
            await rl.revoke_session("s-9", issuer=ISS, expires_at=issued.expires_at)
            with pytest.raises(TokenRevoked):
                await validator.avalidate(issued.token)

    asyncio.run(main())


# --- outages ---------------------------------------------------------------------------------


def test_outage_fails_closed_and_recovers_by_itself(redis_server: RedisServer, client: Any) -> None:
    events: list[AuditEvent] = []
    store = MemoryKeyStore()
    signer = Signer(store, issuer=ISS, ttl=600)
    rl = RedisRevocationList(client, audit=events.append)
    validator = Validator(store, issuer=ISS, audience="api", revocation=rl)
    token = signer.issue("user-1", audience="api")
    validator.validate(token)
    redis_server.stop()
    with pytest.raises(BackendUnavailable):
        validator.validate(token)
    with pytest.raises(BackendUnavailable):
        rl.revoke("x", issuer=ISS, expires_at=time.time() + 60)
    assert [e.kind for e in events] == ["backend.failure", "backend.failure"]
    first = events[0]
    assert first.code == "backend_unavailable"
    assert first.detail["operation"] == "is_revoked"
    assert first.jti is not None and first.jti not in token.split(".")[2]
    assert token not in repr(first)
    redis_server.start()
    wait_until(lambda: _validates(validator, token))


def _validates(validator: Validator, token: str) -> bool:
    try:
        validator.validate(token)
    except BackendUnavailable:
        return False
    return True


def test_fail_open_answers_not_revoked_and_audits(
    redis_server: RedisServer, client: Any, clock: FakeClock
) -> None:
    events: list[AuditEvent] = []
    rl = RedisRevocationList(client, clock=clock, fail_open=True, audit=events.append)
    now = clock()
    rl.revoke("a", issuer=ISS, expires_at=now + 60)
    token = verified_token(jti="a", expires_at=now + 60)
    assert rl.is_revoked(token)
    redis_server.stop()
    assert not rl.is_revoked(token)  # the explicit, audited trade-off
    with pytest.raises(BackendUnavailable):  # writes never fail open
        rl.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 60)
    assert [(e.kind, e.jti, e.detail["operation"]) for e in events] == [
        ("backend.fail_open", "a", "is_revoked"),
        ("backend.failure", None, "revoke_subject"),
    ]
    assert events[0].at == now


def test_async_outage_fails_closed_then_open_and_recovers(
    redis_server: RedisServer, redis_url: str
) -> None:
    async def main() -> None:
        events: list[AuditEvent] = []
        client = _async_client(redis_url)
        closed = AsyncRedisRevocationList(client, audit=events.append)
        opened = AsyncRedisRevocationList(client, audit=events.append, fail_open=True)
        now = time.time()
        token = verified_token(jti="a", issued_at=now, expires_at=now + 60)
        assert not await closed.is_revoked(token)
        redis_server.stop()
        with pytest.raises(BackendUnavailable):
            await closed.is_revoked(token)
        assert not await opened.is_revoked(token)
        with pytest.raises(BackendUnavailable):
            await opened.revoke("a", issuer=ISS, expires_at=now + 60)
        assert [e.kind for e in events] == [
            "backend.failure",
            "backend.fail_open",
            "backend.failure",
        ]
        redis_server.start()

        async def revoked_once_back() -> bool:
            try:
                await closed.revoke("a", issuer=ISS, expires_at=now + 60)
            except BackendUnavailable:
                return False
            return True

        await await_until(revoked_once_back, interval=0.01, what="a revocation after the restart")
        assert await closed.is_revoked(token)
        await closed.aclose()
        await opened.aclose()
        await client.aclose()

    asyncio.run(main())


# --- the local fast path ---------------------------------------------------------------------


def test_cache_serves_warm_answers_within_max_staleness(redis_url: str, client: Any) -> None:
    clock = FakeClock(time.time())
    with RedisRevocationList(client, clock=clock, local_cache=LocalCache(max_staleness=10)) as rl:
        wait_until(lambda: rl.cache_live)
        now = clock()
        token = verified_token(jti="a", issued_at=now, expires_at=now + 600)
        assert not rl.is_revoked(token)  # cold: asks Redis, then remembers
        # A revocation written behind our back (no publish) is invisible until max_staleness:
        tag = f"tokensmith:{{i.{encode_key_part(ISS)}}}:"
        client.set(f"{tag}j:{encode_key_part('a')}", f"inf|{now + 900!r}")
        assert not rl.is_revoked(token)
        clock.advance(9.9)
        assert not rl.is_revoked(token)
        clock.advance(0.2)  # past max_staleness: re-checked
        assert rl.is_revoked(token)


def test_cache_is_invalidated_by_another_instance(any_redis: RedisTarget) -> None:
    """The pub/sub fast path, on one server and on a cluster (whose nodes forward PUBLISH)."""
    client = any_redis.client()
    with (
        RedisRevocationList(client, local_cache=LocalCache(max_staleness=60)) as cached,
        RedisRevocationList.from_url(any_redis.url, cluster=any_redis.cluster) as other,
    ):
        wait_until(lambda: cached.cache_live)
        now = time.time()
        token = verified_token(subject="alice", issued_at=now - 5, expires_at=now + 600)
        assert not cached.is_revoked(token)
        assert not cached.is_revoked(token)  # warm
        other.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 600)
        wait_until(lambda: cached.is_revoked(token), timeout=2)
    client.close()


def test_cache_is_bypassed_while_the_subscription_is_down(
    redis_server: RedisServer, client: Any
) -> None:
    rl = RedisRevocationList(client, local_cache=LocalCache(max_staleness=60))
    try:
        wait_until(lambda: rl.cache_live)
        now = time.time()
        token = verified_token(jti="a", issued_at=now, expires_at=now + 600)
        assert not rl.is_revoked(token)
        redis_server.stop()
        wait_until(lambda: not rl.cache_live, timeout=2)
        with pytest.raises(BackendUnavailable):
            rl.is_revoked(token)  # never answered from the cache while it cannot be kept coherent
        redis_server.start()
        wait_until(lambda: rl.cache_live)
        assert not rl.is_revoked(token)
    finally:
        rl.close()
    assert not rl.cache_live


def test_cache_is_emptied_when_full(client: Any) -> None:
    with RedisRevocationList(client, local_cache=LocalCache(max_staleness=60, max_entries=2)) as rl:
        wait_until(lambda: rl.cache_live)
        now = time.time()
        for jti in ("a", "b", "c"):
            assert not rl.is_revoked(verified_token(jti=jti, issued_at=now, expires_at=now + 60))
        assert rl._answers is not None and rl._answers.entries is not None
        assert len(rl._answers.entries) == 1


def test_async_cache_is_invalidated_by_pubsub(any_redis: RedisTarget) -> None:
    async def main() -> None:
        client = any_redis.async_client()
        cached = AsyncRedisRevocationList(client, local_cache=LocalCache(max_staleness=60))
        assert repr(cached).endswith("local_cache=True)")
        cached.start()
        await await_until(lambda: cached.cache_live)
        with RedisRevocationList.from_url(any_redis.url, cluster=any_redis.cluster) as other:
            now = time.time()
            token = verified_token(jti="a", issued_at=now, expires_at=now + 600)
            assert not await cached.is_revoked(token)
            assert not await cached.is_revoked(token)  # warm
            other.revoke("a", issuer=ISS, expires_at=now + 600)
            await await_until(lambda: cached.is_revoked(token), timeout=2, interval=0.002)
        await cached.aclose()
        assert not cached.cache_live
        await client.aclose()

    asyncio.run(main())


def test_async_cache_goes_down_with_redis_and_comes_back(
    redis_server: RedisServer, redis_url: str
) -> None:
    async def main() -> None:
        async with AsyncRedisRevocationList.from_url(
            redis_url, local_cache=LocalCache(max_staleness=60)
        ) as rl:
            now = time.time()
            token = verified_token(jti="a", issued_at=now, expires_at=now + 600)
            assert not await rl.is_revoked(token)  # starts the subscriber
            await await_until(lambda: rl.cache_live)
            redis_server.stop()
            await await_until(lambda: not rl.cache_live, timeout=2)
            with pytest.raises(BackendUnavailable):
                await rl.is_revoked(token)
            redis_server.start()
            await await_until(lambda: rl.cache_live)
            assert not await rl.is_revoked(token)

    asyncio.run(main())


# --- several processes -----------------------------------------------------------------------

VALIDATOR_CHILD = r"""
import json, sys, time
from tokensmith.revocation.redis import LocalCache, RedisRevocationList
from tokensmith.testing import verified_token
url, mode = sys.argv[1], sys.argv[2]
cache = LocalCache(max_staleness=60) if mode == "cache" else None
with RedisRevocationList.from_url(url, local_cache=cache) as rl:
    deadline = time.monotonic() + 10
    while cache is not None and not rl.cache_live:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    now = time.time()
    token = verified_token(jti="shared", issued_at=now, expires_at=now + 600)
    checks = 0
    assert not rl.is_revoked(token)
    print("ready", flush=True)
    while not rl.is_revoked(token):
        checks += 1
        assert time.monotonic() < deadline
        time.sleep(0.0002)
    print(json.dumps({"seen": time.time(), "checks": checks}), flush=True)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def test_two_validator_processes_see_a_revocation_quickly(redis_url: str) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", VALIDATOR_CHILD, redis_url, mode],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for mode in ("direct", "cache")
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        with RedisRevocationList.from_url(redis_url) as revoker:  # the third process: us
            started = time.time()
            revoker.revoke("shared", issuer=ISS, expires_at=started + 600)
        latencies = []
        for child in children:
            out, _ = child.communicate(timeout=5)
            assert child.returncode == 0
            result = json.loads(out)
            latencies.append(result["seen"] - started)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    # The behaviour bound is a deadline; the measured latency is reported, not asserted tightly.
    assert max(latencies) < 2.0
    print(f"revocation seen after {[round(x * 1000, 2) for x in latencies]} ms (direct, cache)")


def test_import_tokensmith_does_not_load_redis() -> None:
    code = "import sys, tokensmith; print('redis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert out.stdout.split() == ["False"]
