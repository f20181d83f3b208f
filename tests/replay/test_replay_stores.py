"""Replay stores for client assertions: one contract for memory, SQLite and Redis (issue 14.9).

The SQLite and Redis stores are the production choice: a spent ``jti`` survives a restart of
the process (the contract's ``test_a_restart_does_not_forget``). The memory store forgets on
restart, which its test below states as the documented limit.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tokensmith.errors import BackendUnavailable, ConfigurationError, ReplayedToken
from tokensmith.oauth import create_client_assertion, validate_client_assertion
from tokensmith.replay import (
    JtiReplayStore,
    MemoryJtiReplayStore,
    RedisJtiReplayStore,
    SQLiteJtiReplayStore,
)
from tokensmith.testing import FakeClock, JtiReplayStoreContract

ENDPOINT = "https://auth.example.com/token"


class TestMemoryReplayStoreContract(JtiReplayStoreContract):
    def make_replay_store(self, clock: FakeClock) -> MemoryJtiReplayStore:
        return MemoryJtiReplayStore(clock=clock)


class TestSQLiteReplayStoreContract(JtiReplayStoreContract):
    shared = True

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "replay.db"

    def make_replay_store(self, clock: FakeClock) -> SQLiteJtiReplayStore:
        return SQLiteJtiReplayStore(self.path, clock=clock)


@pytest.mark.redis
class TestRedisReplayStoreContract(JtiReplayStoreContract):
    shared = True
    clock_expiry = False  # Redis forgets a key when its own TTL runs out

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url: str) -> None:
        self.url = redis_url

    def make_replay_store(self, clock: FakeClock) -> RedisJtiReplayStore:
        return RedisJtiReplayStore.from_url(self.url, clock=clock)


# --- the memory store's documented limit --------------------------------------------------------


def test_the_memory_store_forgets_on_restart() -> None:
    """Why it is not the production choice: a captured assertion works again after a restart."""
    from tokensmith import Key, KeySet, MemoryKeyStore

    clock = FakeClock()
    key = Key.generate("ES256")
    keys = MemoryKeyStore(KeySet([key.public_key()]), clock=clock)
    assertion = create_client_assertion(key, "app", ENDPOINT, clock=clock)

    def check(store: JtiReplayStore) -> None:
        validate_client_assertion(
            assertion,
            client_keys=keys,
            client_id="app",
            token_endpoint=ENDPOINT,
            replay_store=store,
            clock=clock,
        )

    store = MemoryJtiReplayStore(clock=clock)
    check(store)
    with pytest.raises(ReplayedToken):
        check(store)
    check(MemoryJtiReplayStore(clock=clock))  # "after a restart": accepted again


def test_sqlite_refuses_the_replay_across_a_restart(tmp_path: Path) -> None:
    from tokensmith import Key, KeySet, MemoryKeyStore

    clock = FakeClock()
    key = Key.generate("ES256")
    keys = MemoryKeyStore(KeySet([key.public_key()]), clock=clock)
    assertion = create_client_assertion(key, "app", ENDPOINT, clock=clock)
    options: dict[str, Any] = {
        "client_keys": keys,
        "client_id": "app",
        "token_endpoint": ENDPOINT,
        "clock": clock,
    }
    with SQLiteJtiReplayStore(tmp_path / "replay.db", clock=clock) as store:
        validate_client_assertion(assertion, replay_store=store, **options)
    with SQLiteJtiReplayStore(tmp_path / "replay.db", clock=clock) as restarted:
        with pytest.raises(ReplayedToken):
            validate_client_assertion(assertion, replay_store=restarted, **options)


# --- SQLite specifics ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "replay.db"


def test_sqlite_file_is_private_and_holds_no_jti(db: Path) -> None:
    clock = FakeClock()
    with SQLiteJtiReplayStore(db, clock=clock) as store:
        assert store.use("client-x", "secret-jti-value", expires_at=clock() + 60)
        assert len(store) == 1
        assert "secret-jti-value" not in repr(store) and "closed" not in repr(store)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for path in db.parent.iterdir():
        content = path.read_bytes()
        assert b"secret-jti-value" not in content and b"client-x" not in content
    assert "closed" in repr(store)


def test_sqlite_purges_expired_entries(db: Path) -> None:
    clock = FakeClock()
    with SQLiteJtiReplayStore(db, clock=clock, purge_interval=10) as store:
        for i in range(5):
            store.use("c", f"j{i}", expires_at=clock() + 5)
        clock.advance(6)
        assert len(store) == 0  # expired entries no longer count, purged or not
        store.use("c", "early", expires_at=clock() + 60)  # within the interval: no purge
        assert store.purge() == 5
        clock.advance(61)
        store.use("c", "late", expires_at=clock() + 60)  # the interval passed: this write purges
        assert store.purge() == 0 and len(store) == 1


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ((":memory:",), {}),
        (("",), {}),
        (("file:x?mode=memory",), {}),
        ((None,), {}),
        ((3,), {}),
        (("x.db",), {"busy_timeout": -1}),
        (("x.db",), {"purge_interval": float("nan")}),
        (("x.db",), {"busy_timeout": True}),
    ],
)
def test_sqlite_bad_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str], options: dict[str, Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        SQLiteJtiReplayStore(*args, **options)


def test_sqlite_failures_are_backend_unavailable(db: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteJtiReplayStore(db, clock=clock)
    store.close()
    for action in (
        lambda: store.use("c", "j", expires_at=clock() + 60),
        store.purge,
        lambda: len(store),
    ):
        with pytest.raises(BackendUnavailable):
            action()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackendUnavailable):
        SQLiteJtiReplayStore(garbage)
    with pytest.raises(BackendUnavailable):
        SQLiteJtiReplayStore(tmp_path / "missing-dir" / "x.db")
    broken = SQLiteJtiReplayStore(tmp_path / "dropped.db", clock=clock)
    broken._connection().execute("DROP TABLE tokensmith_spent_jti")
    for action in (
        lambda: broken.use("c", "j", expires_at=clock() + 60),
        broken.purge,
        lambda: len(broken),
    ):
        with pytest.raises(BackendUnavailable):
            action()
    broken.close()


CHILD = """
import json, sys, time
from tokensmith.replay import SQLiteJtiReplayStore
path, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
won = []
with SQLiteJtiReplayStore(path) as store:
    for i in range(100):
        if store.use("client", f"jti-{i}", expires_at=time.time() + 600):
            won.append(i)
print(json.dumps(won))
"""


def test_processes_racing_on_the_same_jtis_each_win_once(db: Path) -> None:
    SQLiteJtiReplayStore(db).close()  # schema and WAL set up once, as a server does at boot
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    start = time.time() + 1.0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), repr(start)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(3)
    ]
    wins: list[int] = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        wins.extend(json.loads(out))
    assert sorted(wins) == list(range(100))  # every jti spent exactly once across processes
