"""tokensmith.observability.anomaly: each signal fires at its threshold and not below it (memory and Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.faces import assert_twins
from tokensmith import Key, KeySet, MemoryKeyStore
from tokensmith._redis import encode_key_part
from tokensmith.errors import BackendUnavailable, ConfigurationError
from tokensmith.observability import AuditEvent
from tokensmith.observability.anomaly import (
    AsyncRedisWindows,
    AsyncRefusalBurstDetector,
    AsyncTokenSharingDetector,
    AsyncWindowStore,
    MemoryWindows,
    RedisWindows,
    RefreshReuseDetector,
    RefusalBurstDetector,
    RetiredKeyDetector,
    TokenSharingDetector,
    WindowStore,
)
from tokensmith.testing import FakeClock

T0 = 1_700_000_000.0


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def cluster_client(redis_cluster: Any) -> Iterator[Any]:
    """A client of the real 3-node Redis Cluster (conftest), flushed before and after."""
    from tests.support.redis import RedisTarget

    redis_cluster.flush()
    client = RedisTarget(redis_cluster.url, cluster=True).client()
    yield client
    client.close()
    redis_cluster.flush()


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
def store(request: pytest.FixtureRequest) -> WindowStore:
    if request.param == "memory":
        return MemoryWindows()
    name = "redis_client" if request.param == "redis" else "cluster_client"
    return RedisWindows(request.getfixturevalue(name))


def refused(at: float, ip: str | None = "198.51.100.9", subject: str | None = None) -> AuditEvent:
    return AuditEvent(
        "token.refused", at, code="invalid_signature", fingerprint="f" * 16, ip=ip, subject=subject
    )


def signals(events: list[AuditEvent]) -> list[str]:
    assert all(e.kind == "anomaly" for e in events)
    return [e.detail["signal"] for e in events]


def test_window_store_counts_distinct_members_in_window(store: WindowStore) -> None:
    assert store.add("k", "a", T0, 10) == 1
    assert store.add("k", "a", T0 + 1, 10) == 1  # same member: refreshed, not counted twice
    assert store.add("k", "b", T0 + 2, 10) == 2
    assert store.add("k", "c", T0 + 11, 10) == 2  # "a" (last seen T0+1) left the window
    assert store.add("other", "a", T0 + 11, 10) == 1
    assert store.add("k", "d", T0 + 12, 10) == 2  # exactly 10 s after "b": b is out (t <= cutoff)


def test_refusal_burst_fires_at_threshold_not_below(store: WindowStore, clock: FakeClock) -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=5, window=60, store=store)
    for i in range(4):
        detector(refused(clock() + i))
    assert out == []  # 4 < 5
    detector(refused(clock() + 4))
    assert signals(out) == ["refusal_burst"]
    event = out[0]
    assert event.ip == "198.51.100.9" and dict(event.detail) == {
        "signal": "refusal_burst",
        "by": "ip",
        "count": "5",
        "window": "60",
    }
    detector(refused(clock() + 5))
    assert len(out) == 1  # once per window, not once per refusal


def test_refusal_burst_window_boundary(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=3, window=10, store=store)
    detector(refused(T0))
    detector(refused(T0 + 5))
    detector(refused(T0 + 10))  # the first one is exactly 10 s old: out of the window
    assert out == []
    detector(refused(T0 + 10.5))  # three within (T0+0.5, T0+10.5]
    assert signals(out) == ["refusal_burst"]


def test_refusal_burst_by_subject_and_ignored_events(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=2, window=10, by=["subject"], store=store)
    detector(refused(T0, ip="10.0.0.1", subject="alice"))
    detector(refused(T0 + 1, ip="10.0.0.2", subject=None))  # no subject: not counted
    detector(AuditEvent("token.validated", T0 + 1, subject="alice"))  # not a refusal
    assert out == []
    detector(refused(T0 + 2, ip="10.0.0.3", subject="alice"))
    assert signals(out) == ["refusal_burst"] and out[0].detail["by"] == "subject"


def validated(at: float, ip: str, jti: str | None = "jti-1", kid: str | None = None) -> AuditEvent:
    return AuditEvent("token.validated", at, jti=jti, ip=ip, issuer="https://iss", kid=kid)


def test_token_sharing_fires_above_k_ips(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = TokenSharingDetector(out.append, max_ips=3, window=300, store=store)
    for i, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2"]):
        detector(validated(T0 + i, ip))
    assert out == []  # 3 distinct IPs is not more than 3
    detector(validated(T0 + 10, "10.0.0.4"))
    assert signals(out) == ["token_shared"] and out[0].detail["distinct_ips"] == "4"
    assert out[0].jti == "jti-1" and out[0].ip == "10.0.0.4"
    detector(validated(T0 + 11, "10.0.0.5"))
    assert len(out) == 1  # quiet for the rest of the window
    detector(validated(T0 + 11, "10.0.0.6", jti=None))  # no jti: nothing to correlate
    detector(AuditEvent("token.validated", T0, jti="j"))  # no ip
    assert len(out) == 1


def test_token_sharing_ips_must_fall_within_the_window(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = TokenSharingDetector(out.append, max_ips=2, window=60, store=store)
    detector(validated(T0, "10.0.0.1"))
    detector(validated(T0 + 30, "10.0.0.2"))
    detector(validated(T0 + 60, "10.0.0.3"))  # the first IP aged out: still only 2
    assert out == []
    detector(validated(T0 + 61, "10.0.0.4"))
    assert signals(out) == ["token_shared"]


def test_refresh_reuse_is_forwarded() -> None:
    out: list[AuditEvent] = []
    detector = RefreshReuseDetector(out.append)
    detector(AuditEvent("refresh.rotated", T0))
    assert out == []
    detector(
        AuditEvent(
            "refresh.reuse_detected",
            T0,
            code="refresh_token_reused",
            subject="u",
            detail={"sid": "s1"},
        )
    )
    assert signals(out) == ["refresh_reuse"]
    assert out[0].subject == "u" and out[0].detail["sid"] == "s1"
    with pytest.raises(ConfigurationError):
        RefreshReuseDetector(5)  # type: ignore[arg-type]


def retired_keyset() -> tuple[KeySet, Key]:
    key = Key.generate("ES256", kid="old").with_lifecycle(
        not_before=T0 - 1000, retire_at=T0, not_after=T0 + 7200
    )
    current = Key.generate("ES256", kid="new").with_lifecycle(not_before=T0)
    return KeySet([key, current]), key


@pytest.mark.parametrize("form", ["keyset", "store", "callable"])
def test_retired_key_near_expiry(form: str, clock: FakeClock) -> None:
    keyset, _ = retired_keyset()
    keys: Any = {
        "keyset": keyset,
        "store": MemoryKeyStore(keyset, clock=clock),
        "callable": keyset.get,
    }[form]
    out: list[AuditEvent] = []
    detector = RetiredKeyDetector(out.append, keys=keys, margin=3600)
    detector(validated(T0 + 3600, "10.0.0.1", kid="old"))  # retired, exactly 3600 s left: not yet
    detector(validated(T0 + 3599, "10.0.0.1", kid="new"))  # active key
    detector(validated(T0 - 1, "10.0.0.1", kid="old"))  # not retired yet
    detector(validated(T0 + 3601, "10.0.0.1", kid="missing"))
    detector(validated(T0 + 3601, "10.0.0.1", kid=None))
    assert out == []
    detector(validated(T0 + 3601, "10.0.0.1", kid="old"))  # 3599 s left
    assert signals(out) == ["retired_key_near_expiry"] and out[0].detail["seconds_left"] == "3599"
    detector(validated(T0 + 3700, "10.0.0.1", kid="old"))
    assert len(out) == 1  # once per key and margin
    detector(validated(T0 + 7200, "10.0.0.1", kid="old"))  # past not_after: can't validate anyway
    assert len(out) == 1


def test_keys_without_lifecycle_are_ignored() -> None:
    out: list[AuditEvent] = []
    keyset = KeySet([Key.generate("ES256", kid="k")])
    RetiredKeyDetector(out.append, keys=keyset)(validated(T0, "10.0.0.1", kid="k"))
    assert out == []


def test_configuration_errors() -> None:
    sink: list[AuditEvent] = []
    kwargs: dict[str, Any]
    for kwargs in (
        {"threshold": 0},
        {"threshold": 1.5},
        {"window": 0},
        {"window": float("inf")},
        {"by": ["kid"]},
        {"by": []},
        {"store": object()},
    ):
        with pytest.raises(ConfigurationError):
            RefusalBurstDetector(sink.append, **kwargs)
    with pytest.raises(ConfigurationError):
        TokenSharingDetector(sink.append, max_ips=0)
    with pytest.raises(ConfigurationError):
        TokenSharingDetector(5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RetiredKeyDetector(sink.append, keys=5)
    with pytest.raises(ConfigurationError):
        RedisWindows(object())


def test_memory_windows_evict_the_least_recently_updated_keys_in_a_batch() -> None:
    windows = MemoryWindows(max_keys=128)  # a batch of 128 // 64 + 1 = 3 keys
    for i in range(128):
        windows.add(f"k{i}", "m", T0 + i, 1000)
    windows.add("k0", "m2", T0 + 200, 1000)  # updated: now the most recent
    windows.add("new", "m", T0 + 201, 1000)  # full: k1, k2, k3 (least recently updated) go
    assert len(windows._data) == 126
    assert not {"k1", "k2", "k3"} & set(windows._data)
    assert list(windows._data)[-2:] == ["k0", "new"] and "k4" in windows._data
    assert windows.add("k0", "m3", T0 + 202, 1000) == 3  # a kept key kept its members
    sizes = []
    for i in range(7):  # one batch per three new keys: no event pays for a scan
        windows.add(f"more{i}", "m", T0 + 203, 1000)
        sizes.append(len(windows._data))
    assert sizes == [127, 128, 126, 127, 128, 126, 127]
    for i in range(1000):  # never more than max_keys
        windows.add(f"spray{i}", "m", T0 + 300, 1000)
        assert len(windows._data) <= 128


def test_memory_windows_keep_at_most_max_members_per_key() -> None:
    windows = MemoryWindows(max_members=5)
    counts = [windows.add("k", f"m{i}", T0 + i, 1000) for i in range(8)]
    assert counts == [1, 2, 3, 4, 5, 5, 5, 5]  # a count saturates at max_members
    assert set(windows._data["k"].latest) == {"m3", "m4", "m5", "m6", "m7"}  # the newest stay


def test_refreshed_members_do_not_pile_up() -> None:
    windows = MemoryWindows()
    for i in range(10_000):
        assert windows.add("jti", f"ip{i % 3}", T0 + i * 0.001, 300) == min(i + 1, 3)
    assert len(windows._data["jti"].heap) <= 2 * 3 + 16


def test_memory_windows_configuration() -> None:
    for kwargs in ({"max_keys": 0}, {"max_members": 0}, {"max_keys": True}, {"max_keys": 1.5}):
        with pytest.raises(ConfigurationError):
            MemoryWindows(**kwargs)


def test_fired_keys_are_forgotten_in_order_without_a_scan() -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=1, window=10, by=["ip"])
    for i in range(3):
        detector(refused(T0 + i, ip=f"198.51.100.{i}"))
    assert list(detector._fired) == [f"refused:ip:198.51.100.{i}" for i in range(3)]
    detector(refused(T0 + 11.5, ip="198.51.100.9"))  # the first two are quiet again: forgotten
    assert list(detector._fired) == ["refused:ip:198.51.100.2", "refused:ip:198.51.100.9"]
    for i in range(10_050):
        detector(refused(T0 + 12, ip=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"))
    assert len(detector._fired) <= 10_000
    assert len(out) == 4 + 10_050


# --- addresses are counted as clients (issue 14, item 4) -----------------------------------------


def test_refusal_burst_counts_one_ipv6_slash64_as_one_client(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=20, window=60, by=["ip"], store=store)
    for i in range(1000):
        detector(refused(T0 + i * 0.01, ip=f"2001:db8:aa:bb:{i:x}:{i * 7 & 0xFFFF:x}::1"))
    assert signals(out) == ["refusal_burst"] and out[0].detail["count"] == "20"
    other: list[AuditEvent] = []
    per_address = RefusalBurstDetector(
        other.append, threshold=20, window=60, by=["ip"], ipv6_prefix=128
    )
    for i in range(1000):
        per_address(refused(T0 + i * 0.01, ip=f"2001:db8:aa:bb:{i:x}::1"))
    assert other == []  # keyed per address, a rotating host never reaches the threshold


def test_refusal_burst_counts_every_spelling_of_one_address_together(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=4, window=60, by=["ip"], store=store)
    for i, ip in enumerate(
        ["203.0.113.7", "::ffff:203.0.113.7", "::ffff:cb00:7107", "[::ffff:203.0.113.7]"]
    ):
        detector(refused(T0 + i, ip=ip))
    assert signals(out) == ["refusal_burst"] and out[0].ip == "[::ffff:203.0.113.7]"


def test_unreadable_addresses_count_as_one_client() -> None:
    out: list[AuditEvent] = []
    detector = RefusalBurstDetector(out.append, threshold=3, window=60, by=["ip"])
    for i, ip in enumerate(["unknown", "junk", "\n"]):
        detector(refused(T0 + i, ip=ip))
    assert signals(out) == ["refusal_burst"]
    assert list(detector._fired) == ["refused:ip:unreadable"]


def test_token_sharing_counts_clients_not_spellings(store: WindowStore) -> None:
    out: list[AuditEvent] = []
    detector = TokenSharingDetector(out.append, max_ips=2, window=300, store=store)
    same = ["2001:db8:1:2::1", "2001:db8:1:2::99", "[2001:db8:1:2:ffff::1]", "2001:db8:1:2::1%eth0"]
    for i, ip in enumerate(same + ["198.51.100.7", "::ffff:198.51.100.7"]):
        detector(validated(T0 + i, ip))
    assert out == []  # two clients: one /64 and one IPv4 address
    detector(validated(T0 + 10, "2001:db8:1:3::1"))
    assert signals(out) == ["token_shared"] and out[0].detail["distinct_ips"] == "3"


def test_address_prefix_configuration() -> None:
    for kwargs in ({"ipv6_prefix": 129}, {"ipv4_prefix": -1}, {"ipv6_prefix": "64"}):
        with pytest.raises(ConfigurationError):
            RefusalBurstDetector([].append, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            TokenSharingDetector([].append, **kwargs)  # type: ignore[arg-type]


def test_redis_windows_failure_and_expiry(redis_client: Any) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    windows = RedisWindows(redis_client, prefix="t:")
    windows.add("k", "a", T0, 5)
    assert 0 < redis_client.pttl("t:" + encode_key_part("k")) <= 5000
    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        with pytest.raises(BackendUnavailable):
            RedisWindows(dead).add("k", "a", T0, 5)
    finally:
        dead.close()


def test_detectors_shared_through_redis(redis_client: Any) -> None:
    """Two detector instances (two replicas) sharing Redis windows see one stream."""
    out: list[AuditEvent] = []
    a = RefusalBurstDetector(out.append, threshold=4, window=60, store=RedisWindows(redis_client))
    b = RefusalBurstDetector(out.append, threshold=4, window=60, store=RedisWindows(redis_client))
    a(refused(T0))
    b(refused(T0 + 1))
    a(refused(T0 + 2))
    assert out == []
    b(refused(T0 + 3))
    assert signals(out) == ["refusal_burst"] and out[0].detail["count"] == "4"


def test_redis_windows_keep_at_most_max_members_per_key(redis_client: Any) -> None:
    windows = RedisWindows(redis_client, max_members=5)
    counts = [windows.add("k", f"m{i}", T0 + i, 1000) for i in range(8)]
    assert counts == [1, 2, 3, 4, 5, 5, 5, 5]
    members = redis_client.zrange("tokensmith:anomaly:" + encode_key_part("k"), 0, -1)
    assert members == [f"m{i}".encode() for i in range(3, 8)]
    for kwargs in ({"max_members": 0}, {"prefix": 5}):
        with pytest.raises(ConfigurationError):
            RedisWindows(redis_client, **kwargs)  # type: ignore[arg-type]  # wrong on purpose


# --- the asyncio twins (issue 14, item 11) -------------------------------------------------------


def _async_redis(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def test_async_redis_windows_answer_like_the_sync_ones_and_share_them(any_redis: Any) -> None:
    """On one redis-server and on a real 3-node Redis Cluster."""
    sync_client = any_redis.client()
    sync = RedisWindows(sync_client)

    async def main() -> list[int]:
        client = any_redis.async_client()
        try:
            windows = AsyncRedisWindows(client)
            assert isinstance(windows, AsyncWindowStore)
            counts = [await windows.add("k", "a", T0, 10), await windows.add("k", "a", T0 + 1, 10)]
            counts.append(sync.add("k", "b", T0 + 2, 10))  # a sync replica, the same window
            counts.append(await windows.add("k", "c", T0 + 11, 10))
            return counts
        finally:
            await client.aclose()

    try:
        assert asyncio.run(main()) == [1, 1, 2, 2]
    finally:
        sync_client.close()


def test_async_detectors_shared_with_sync_ones_through_redis(
    redis_url: str, redis_client: Any
) -> None:
    out: list[AuditEvent] = []
    sync = RefusalBurstDetector(
        out.append, threshold=3, window=60, store=RedisWindows(redis_client)
    )

    async def main() -> None:
        client = _async_redis(redis_url)
        try:
            detector = AsyncRefusalBurstDetector(
                out.append, threshold=3, window=60, store=AsyncRedisWindows(client)
            )
            sharing = AsyncTokenSharingDetector(
                out.append, max_ips=1, window=60, store=AsyncRedisWindows(client)
            )
            await detector(refused(T0))
            sync(refused(T0 + 1))
            await detector(refused(T0 + 2))
            await sharing(validated(T0, "198.51.100.1"))
            await sharing(validated(T0 + 1, "198.51.100.2"))
        finally:
            await client.aclose()

    asyncio.run(main())
    assert signals(out) == ["refusal_burst", "token_shared"]


def test_async_redis_windows_failure(redis_url: str) -> None:
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    async def main() -> None:
        dead = redis.asyncio.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
        )
        try:
            with pytest.raises(BackendUnavailable):
                await AsyncRedisWindows(dead).add("k", "a", T0, 5)
        finally:
            await dead.aclose()

    asyncio.run(main())
    with pytest.raises(ConfigurationError):
        AsyncRedisWindows(object())


def test_each_detector_takes_the_store_of_its_kind(redis_url: str, redis_client: Any) -> None:
    import redis.asyncio

    async_store = AsyncRedisWindows(redis.asyncio.Redis.from_url(redis_url))
    sink: list[AuditEvent] = []
    for sync_detector in (RefusalBurstDetector, TokenSharingDetector):
        with pytest.raises(ConfigurationError, match="Async"):
            sync_detector(sink.append, store=async_store)  # type: ignore[arg-type]
    for async_detector in (AsyncRefusalBurstDetector, AsyncTokenSharingDetector):
        with pytest.raises(ConfigurationError):
            async_detector(sink.append, store=RedisWindows(redis_client))  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            async_detector(sink.append, store=object())  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            async_detector(5)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            async_detector(sink.append, window=0)


def test_the_redis_window_faces_are_twins() -> None:
    assert_twins(RedisWindows, AsyncRedisWindows, same=["from_url"])
