"""Every refresh-token store passes one contract; backend-specific storage checks."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.redis import RedisTarget
from tokensmith import ConfigurationError
from tokensmith.errors import BackendUnavailable
from tokensmith.refresh import (
    MemoryRefreshStore,
    RefreshFamily,
    RefreshManager,
    RefreshStore,
    RotateOutcome,
)
from tokensmith.refresh.redis import RedisRefreshStore
from tokensmith.refresh.sqlite import SQLiteRefreshStore
from tokensmith.testing import FakeClock, RefreshStoreContract


def _h(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _family(clock: FakeClock, family_id: str = "fam-1", lifetime: float = 3600) -> RefreshFamily:
    return RefreshFamily(
        family_id=family_id,
        subject="user-1",
        audience=("api",),
        scopes=("read",),
        client_id=None,
        created_at=clock(),
        expires_at=clock() + lifetime,
    )


# --- the contract, per backend -------------------------------------------------------------


class TestMemoryRefreshStore(RefreshStoreContract):
    def make_refresh_store(self, clock: FakeClock) -> RefreshStore:
        return MemoryRefreshStore(clock=clock)


class TestSQLiteRefreshStore(RefreshStoreContract):
    @pytest.fixture(autouse=True)
    def _path(self, tmp_path: Path) -> None:
        self.path = tmp_path / "refresh.db"

    def make_refresh_store(self, clock: FakeClock) -> RefreshStore:
        return SQLiteRefreshStore(self.path)

    def another_handle(self, store: RefreshStore, clock: FakeClock) -> RefreshStore:
        return SQLiteRefreshStore(self.path)  # its own connection, as another process has


@pytest.mark.redis
class TestRedisRefreshStore(RefreshStoreContract):
    """On one redis-server and on a real 3-node Redis Cluster."""

    @pytest.fixture(autouse=True)
    def _url(self, any_redis: RedisTarget) -> None:
        self.target = any_redis

    def make_refresh_store(self, clock: FakeClock) -> RefreshStore:
        return RedisRefreshStore.from_url(self.target.url, cluster=self.target.cluster, clock=clock)

    def another_handle(self, store: RefreshStore, clock: FakeClock) -> RefreshStore:
        return RedisRefreshStore.from_url(self.target.url, cluster=self.target.cluster, clock=clock)


@pytest.mark.redis
def test_refresh_manager_on_redis(any_redis: RedisTarget, signer: Any, clock: FakeClock) -> None:
    """Issue 14 item 17: start, refresh, reuse detection and logout through RefreshManager,
    on one server and on a cluster (``start()`` used to fail there with CrossSlot errors)."""
    from tokensmith import MemoryRevocationList
    from tokensmith.errors import RefreshTokenReused, RefreshTokenRevoked

    store = RedisRefreshStore.from_url(any_redis.url, cluster=any_redis.cluster, clock=clock)
    try:
        manager = RefreshManager(store, signer, clock=clock, revocation=MemoryRevocationList())
        pairs = [manager.start(f"user-{i}", audience="orders-api") for i in range(8)]
        renewed = [manager.refresh(pair.refresh_token) for pair in pairs]
        with pytest.raises(RefreshTokenReused):
            manager.refresh(pairs[0].refresh_token)
        with pytest.raises(RefreshTokenRevoked):
            manager.refresh(renewed[0].refresh_token)
        assert manager.revoke(renewed[1].refresh_token)
        with pytest.raises(RefreshTokenRevoked):
            manager.refresh(renewed[1].refresh_token)
        assert manager.refresh(renewed[2].refresh_token).session_id == pairs[2].session_id
        if any_redis.cluster:  # families really are spread over the shards
            from redis.crc import key_slot

            slots = {key_slot(store._family_key(p.session_id).encode()) for p in pairs}
            assert len(slots) > 1
    finally:
        store.close()


# --- memory ----------------------------------------------------------------------------------


def test_memory_store_purges_on_write_and_counts(clock: FakeClock) -> None:
    store = MemoryRefreshStore(clock=clock)
    store.create_family(_family(clock, lifetime=10), _h("a"), expires_at=clock() + 10)
    assert len(store) == 1
    assert "families=1" in repr(store)
    clock.advance(10)
    store.create_family(_family(clock, "fam-2"), _h("b"), expires_at=clock() + 10)
    assert len(store) == 1
    assert store.find(_h("a"), family_id="fam-1") is None


def test_duplicate_family_or_token_is_refused(clock: FakeClock, tmp_path: Path) -> None:
    for store in (MemoryRefreshStore(clock=clock), SQLiteRefreshStore(tmp_path / "d.db")):
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 10)
        with pytest.raises(ConfigurationError):
            store.create_family(_family(clock), _h("b"), expires_at=clock() + 10)
        with pytest.raises(ConfigurationError):
            store.create_family(_family(clock, "fam-2"), _h("a"), expires_at=clock() + 10)
        store.create_family(_family(clock, "fam-3"), _h("c"), expires_at=clock() + 10)
        with pytest.raises(ConfigurationError):  # a successor hash that exists already
            store.rotate(_h("a"), _h("c"), family_id="fam-1", now=clock(), expires_at=clock() + 10)
        record = store.find(_h("a"), family_id="fam-1")
        assert record is not None and not record.consumed  # nothing changed
        if isinstance(store, SQLiteRefreshStore):
            store.close()


def test_store_time_arguments_are_checked(clock: FakeClock) -> None:
    store = MemoryRefreshStore(clock=clock)
    for bad in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(ConfigurationError):
            store.rotate(_h("a"), _h("b"), family_id="fam-1", now=bad, expires_at=clock())  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            store.purge(bad)  # type: ignore[arg-type]


def test_damaged_family_record_is_a_backend_fault() -> None:
    for document in ("not json", "{}", '{"family_id": 1}', "[]"):
        with pytest.raises(BackendUnavailable):
            RefreshFamily.from_json(document)


# --- sqlite ----------------------------------------------------------------------------------


def test_sqlite_file_holds_hashes_never_tokens(
    clock: FakeClock, signer: Any, tmp_path: Path
) -> None:
    path = tmp_path / "rt.db"
    with SQLiteRefreshStore(path) as store:
        manager = RefreshManager(store, signer, clock=clock)
        first = manager.start("user-1", audience="orders-api", scopes=["read"])
        second = manager.refresh(first.refresh_token)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("rt.db"))
    for token in (first.refresh_token, second.refresh_token):
        assert token.encode() not in raw
        assert token[3:].encode() not in raw
    with sqlite3.connect(path) as db:
        hashes = [row[0] for row in db.execute("SELECT token_hash FROM tokensmith_refresh_tokens")]
    db.close()
    assert len(hashes) == 2
    assert all(len(h) == 64 for h in hashes)


def test_sqlite_store_survives_reopen(clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "rt.db"
    with SQLiteRefreshStore(path) as store:
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 60)
    with SQLiteRefreshStore(path) as store:
        result = store.rotate(
            _h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock() + 60
        )
        assert result.outcome is RotateOutcome.OK
        assert "open" in repr(store)
    assert "closed" in repr(store)


def test_sqlite_refuses_bad_paths_and_options(tmp_path: Path) -> None:
    for bad in (":memory:", "", "file:x?mode=memory", None, 3, b"x.db"):
        with pytest.raises(ConfigurationError):
            SQLiteRefreshStore(bad)  # type: ignore[arg-type]
    for timeout in (-1, float("nan"), True):
        with pytest.raises(ConfigurationError):
            SQLiteRefreshStore(tmp_path / "x.db", busy_timeout=timeout)
    with pytest.raises(BackendUnavailable):
        SQLiteRefreshStore(tmp_path / "missing-dir" / "x.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(BackendUnavailable):
        SQLiteRefreshStore(junk)


def test_sqlite_closed_store_is_unavailable(clock: FakeClock, tmp_path: Path) -> None:
    store = SQLiteRefreshStore(tmp_path / "c.db")
    store.close()
    store.close()
    calls = [
        lambda: store.find(_h("a"), family_id="fam-1"),
        lambda: store.rotate(_h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock()),
        lambda: store.create_family(_family(clock), _h("a"), expires_at=clock() + 1),
        lambda: store.revoke_family("fam-1"),
        lambda: store.purge(clock()),
    ]
    for call in calls:
        with pytest.raises(BackendUnavailable):
            call()


def test_sqlite_damaged_table_is_unavailable(clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    with SQLiteRefreshStore(path) as store:
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 60)
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE tokensmith_refresh_tokens")
        db.close()
        for call in (
            lambda: store.find(_h("a"), family_id="fam-1"),
            lambda: store.rotate(
                _h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock() + 60
            ),
            lambda: store.create_family(_family(clock, "f2"), _h("c"), expires_at=clock() + 1),
            lambda: store.purge(clock()),
        ):
            with pytest.raises(BackendUnavailable):
                call()
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE tokensmith_refresh_families")
        db.close()
        with pytest.raises(BackendUnavailable):
            store.revoke_family("fam-1")


_RACER = textwrap.dedent(
    """
    import hashlib, sys, time
    kind, where, name, start_at = sys.argv[1:5]
    def h(s): return hashlib.sha256(s.encode()).hexdigest()
    if kind == "sqlite":
        from tokensmith.refresh.sqlite import SQLiteRefreshStore
        store = SQLiteRefreshStore(where)
    else:
        from tokensmith.refresh.redis import RedisRefreshStore
        store = RedisRefreshStore.from_url(where)
    store.find(h("t1"), family_id="fam-1")  # connect before the race
    while time.time() < float(start_at):
        pass
    now = 1_700_000_010.0
    print(store.rotate(h("t1"), h(name), family_id="fam-1", now=now, expires_at=now + 60).outcome.value)
    store.close()
    """
)


def _race_processes(kind: str, where: str) -> list[str]:
    import time

    start_at = time.time() + 1.5  # both interpreters are up and connected by then
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, kind, where, f"p{i}", repr(start_at)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for i in range(2)
    ]
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        outputs.append(out.decode().strip())
    return sorted(outputs)


def test_sqlite_two_processes_one_winner(clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    with SQLiteRefreshStore(path) as store:
        store.create_family(_family(clock), _h("t1"), expires_at=clock() + 60)
    assert _race_processes("sqlite", str(path)) == ["ok", "reused"]


# --- redis -----------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_two_processes_one_winner(clock: FakeClock, redis_url: str) -> None:
    store = RedisRefreshStore.from_url(redis_url, clock=clock)
    try:
        store.create_family(_family(clock), _h("t1"), expires_at=clock() + 60)
    finally:
        store.close()
    assert _race_processes("redis", redis_url) == ["ok", "reused"]


@pytest.mark.redis
def test_redis_holds_hashes_only_and_every_key_expires(
    clock: FakeClock, signer: Any, redis_url: str
) -> None:
    import redis

    store = RedisRefreshStore.from_url(redis_url, clock=clock, prefix="app:rt:")
    client: Any = redis.Redis.from_url(redis_url)
    try:
        manager = RefreshManager(store, signer, clock=clock, absolute_ttl=3600, idle_ttl=600)
        first = manager.start("user-1", audience="orders-api", scopes=["read"])
        second = manager.refresh(first.refresh_token)
        keys = sorted(k.decode() for k in client.keys("*"))
        assert len(keys) == 3
        assert all(k.startswith("app:rt:") for k in keys)
        dump = b""
        for key in keys:
            ttl = client.pttl(key)
            assert 0 < ttl <= 3600 * 1000  # the family's absolute lifetime, nothing longer
            dump += key.encode() + b"".join(k + v for k, v in client.hgetall(key).items())
        for token in (first.refresh_token, second.refresh_token):
            assert token.encode() not in dump
            assert token[3:].encode() not in dump
            assert token[26:].encode() not in dump  # the secret part
        assert "app:rt:" in repr(store)
    finally:
        client.close()
        store.close()


@pytest.mark.redis
def test_redis_decoded_responses_client(clock: FakeClock, redis_url: str) -> None:
    import redis

    store = RedisRefreshStore(redis.Redis.from_url(redis_url, decode_responses=True), clock=clock)
    try:
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 60)
        record = store.find(_h("a"), family_id="fam-1")
        assert record is not None and not record.consumed
        result = store.rotate(
            _h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock() + 60
        )
        assert result.outcome is RotateOutcome.OK
        assert result.expires_at == clock() + 60
    finally:
        store.close()


@pytest.mark.redis
def test_redis_refusals(clock: FakeClock, redis_url: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisRefreshStore(object())
    store = RedisRefreshStore.from_url(redis_url, clock=clock)
    try:
        for prefix in ("a{b", "a}b", "x" * 257, None):
            with pytest.raises(ConfigurationError):
                RedisRefreshStore(store._client, prefix=prefix)  # type: ignore[arg-type]
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 60)
        with pytest.raises(ConfigurationError):
            store.create_family(_family(clock), _h("z"), expires_at=clock() + 60)
        with pytest.raises(ConfigurationError):  # nothing of that family is overwritten
            store.create_family(_family(clock, lifetime=10), _h("a"), expires_at=clock() + 10)
        store.rotate(_h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock() + 60)
        with pytest.raises(ConfigurationError):  # the successor's hash exists in the family
            store.rotate(_h("b"), _h("a"), family_id="fam-1", now=clock(), expires_at=clock() + 60)
        with pytest.raises(ConfigurationError):
            store.revoke_family("")
    finally:
        store.close()


@pytest.mark.redis
def test_redis_down_is_backend_unavailable(clock: FakeClock) -> None:
    from tests.support.redis import free_port

    store = RedisRefreshStore.from_url(f"redis://127.0.0.1:{free_port()}/0", clock=clock)
    try:
        for call in (
            lambda: store.find(_h("a"), family_id="fam-1"),
            lambda: store.rotate(
                _h("a"), _h("b"), family_id="fam-1", now=clock(), expires_at=clock() + 60
            ),
            lambda: store.create_family(_family(clock), _h("a"), expires_at=clock() + 60),
            lambda: store.revoke_family("fam-1"),
        ):
            with pytest.raises(BackendUnavailable):
                call()
    finally:
        store.close()


def test_sqlite_connections_of_ended_threads_are_closed(clock: FakeClock, tmp_path: Path) -> None:
    import threading

    with SQLiteRefreshStore(tmp_path / "t.db") as store:
        store.create_family(_family(clock), _h("a"), expires_at=clock() + 60)
        for _ in range(2):
            worker = threading.Thread(
                target=store.find, args=(_h("a"),), kwargs={"family_id": "fam-1"}
            )
            worker.start()
            worker.join()
        assert len(store._pool._connections) <= 2
