"""tokensmith.anomaly: each signal fires at its threshold and not below it (memory and Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tokensmith import Key, KeySet, MemoryKeyStore
from tokensmith._redis import encode_key_part
from tokensmith.anomaly import (
    MemoryWindows,
    RedisWindows,
    RefreshReuseDetector,
    RefusalBurstDetector,
    RetiredKeyDetector,
    TokenSharingDetector,
    WindowStore,
)
from tokensmith.audit import AuditEvent
from tokensmith.errors import BackendUnavailable, ConfigurationError
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
    from tests.conftest import RedisTarget

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
            RefusalBurstDetector(sink.append, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TokenSharingDetector(sink.append, max_ips=0)
    with pytest.raises(ConfigurationError):
        TokenSharingDetector(5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RetiredKeyDetector(sink.append, keys=5)
    with pytest.raises(ConfigurationError):
        RedisWindows(object())


def test_memory_windows_are_bounded() -> None:
    windows = MemoryWindows(max_keys=3)
    for i in range(3):
        windows.add(f"k{i}", "m", T0, 10)
    windows.add("k3", "m", T0 + 20, 10)  # the others are stale: swept
    assert set(windows._data) == {"k3"}
    for i in range(5):
        windows.add(f"busy{i}", "m", T0 + 20, 10)
    assert len(windows._data) <= 3


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
