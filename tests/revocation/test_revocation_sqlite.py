"""SQLiteRevocationList: the contract, persistence, threads and processes."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    MemoryKeyStore,
    Signer,
    TokenRevoked,
    Validator,
    revoke_token,
)
from tokensmith.revocation.sqlite import SQLiteRevocationList
from tokensmith.testing import FakeClock, RevocationListContract, verified_token

ISS = "https://issuer.test"


class TestSQLiteRevocationContract(RevocationListContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.made = 0

    def make_sync_revocation_list(self, clock: FakeClock) -> SQLiteRevocationList:
        self.made += 1
        return SQLiteRevocationList(self.directory / f"r{self.made}.db", clock=clock)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "revocations.db"


@pytest.fixture
def revocations(db: Path, clock: FakeClock) -> Iterator[SQLiteRevocationList]:
    with SQLiteRevocationList(db, clock=clock) as rl:
        yield rl


def test_survives_reopen_and_file_is_private(db: Path, clock: FakeClock) -> None:
    now = clock()
    with SQLiteRevocationList(db, clock=clock) as first:
        first.revoke("a", issuer=ISS, expires_at=now + 60)
        first.revoke_subject("alice", issuer=ISS, before=now, expires_at=now + 600)
        first.revoke_session("s1", issuer=ISS, expires_at=now + 600)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with SQLiteRevocationList(db, clock=clock) as second:
        assert second.is_revoked(verified_token(jti="a", issued_at=now, expires_at=now + 60))
        assert second.is_revoked(verified_token(jti="z", subject="alice", issued_at=now - 1))
        assert second.is_revoked(verified_token(jti="z", subject="bob", session_id="s1"))
        assert not second.is_revoked(verified_token(jti="z", subject="bob", issued_at=now))
        assert len(second) == 3
        journal = second._connection().execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"


def test_expired_rows_are_purged_on_a_later_write(
    revocations: SQLiteRevocationList, clock: FakeClock, db: Path
) -> None:
    now = clock()
    for i in range(50):
        revocations.revoke(f"j{i}", issuer=ISS, expires_at=now + 10)
    clock.advance(10 + 300 + 1)
    assert len(revocations) == 0  # ignored at once ...
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM tokensmith_revocations").fetchone()[0] == 50
    raw.close()
    revocations.revoke("new", issuer=ISS, expires_at=clock() + 10)  # ... deleted on a write
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM tokensmith_revocations").fetchone()[0] == 1
    raw.close()
    revocations.revoke("newer", issuer=ISS, expires_at=clock() + 10)  # no purge yet: interval
    assert revocations.purge() == 0


def test_expired_entry_is_replaced_not_merged(
    revocations: SQLiteRevocationList, clock: FakeClock
) -> None:
    now = clock()
    revocations.revoke_subject("alice", issuer=ISS, before=now + 100, expires_at=now + 10)
    clock.advance(400)  # that entry has expired but is still on disk
    later = clock()
    revocations.revoke_subject("alice", issuer=ISS, before=later - 200, expires_at=later + 60)
    assert not revocations.is_revoked(verified_token(subject="alice", issued_at=later - 150))
    assert revocations.is_revoked(verified_token(subject="alice", issued_at=later - 250))


def test_validator_refuses_a_revoked_token(db: Path, clock: FakeClock) -> None:
    store = MemoryKeyStore(clock=clock)
    signer = Signer(store, issuer=ISS, ttl=600, clock=clock)
    with SQLiteRevocationList(db, clock=clock) as rl:
        validator = Validator(store, issuer=ISS, audience="api", revocation=rl, clock=clock)
        token = signer.issue("u", audience="api")
        revoke_token(rl, validator.validate(token))
        with pytest.raises(TokenRevoked):
            validator.validate(token)
        assert "jti" not in repr(rl)


@pytest.mark.parametrize("path", [":memory:", "", "file:x?mode=memory", None, 3, b"x.db"])
def test_memory_databases_are_refused(path: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SQLiteRevocationList(path)
    assert type(info.value) is ConfigurationError


@pytest.mark.parametrize(
    "kwargs", [{"grace": -1}, {"busy_timeout": math.nan}, {"purge_interval": True}]
)
def test_bad_options(db: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteRevocationList(db, **kwargs)


def test_bad_arguments(revocations: SQLiteRevocationList, clock: FakeClock) -> None:
    now = clock()
    with pytest.raises(ConfigurationError):
        revocations.revoke_subject("a", issuer=ISS, before=math.nan, expires_at=now + 1)
    with pytest.raises(ConfigurationError):
        revocations.revoke_session("a", issuer=ISS, before="x", expires_at=now + 1)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        revocations.revoke("a", issuer=None, expires_at=now + 1)  # type: ignore[arg-type]


def test_not_a_database_and_unopenable_paths(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an sqlite file" * 100)
    with pytest.raises(BackendUnavailable):
        SQLiteRevocationList(junk)
    with pytest.raises(BackendUnavailable):
        SQLiteRevocationList(tmp_path / "missing" / "dir" / "r.db")


def test_closed_list_and_database_errors(db: Path, clock: FakeClock) -> None:
    rl = SQLiteRevocationList(db, clock=clock)
    token = verified_token(issued_at=clock(), expires_at=clock() + 60)
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE tokensmith_revocations")
    raw.close()
    with pytest.raises(BackendUnavailable):
        rl.is_revoked(token)
    with pytest.raises(BackendUnavailable):
        rl.revoke("a", issuer=ISS, expires_at=clock() + 60)
    with pytest.raises(BackendUnavailable):
        rl.purge()
    with pytest.raises(BackendUnavailable):
        len(rl)
    rl.close()
    rl.close()
    assert "closed" in repr(rl)
    for call in (
        lambda: rl.is_revoked(token),
        lambda: rl.revoke("a", issuer=ISS, expires_at=clock() + 60),
        lambda: rl.purge(),
        lambda: len(rl),
    ):
        with pytest.raises(BackendUnavailable):
            call()


def test_connection_fails_in_a_new_thread(db: Path, clock: FakeClock, tmp_path: Path) -> None:
    rl = SQLiteRevocationList(db, clock=clock)
    try:
        rl._pool.path = str(tmp_path / "gone" / "x.db")  # a thread's first connection cannot open
        errors: list[BaseException] = []

        def check() -> None:
            try:
                rl.is_revoked(verified_token())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=check)
        thread.start()
        thread.join()
        assert [type(e) for e in errors] == [BackendUnavailable]
    finally:
        rl.close()


def test_threads_revoke_and_check_concurrently(
    revocations: SQLiteRevocationList, clock: FakeClock
) -> None:
    now = clock()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(100):
                jti = f"{worker}-{i}"
                token = verified_token(jti=jti, issued_at=now, expires_at=now + 60)
                assert not revocations.is_revoked(token)
                revocations.revoke(jti, issuer=ISS, expires_at=now + 60)
                assert revocations.is_revoked(token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(revocations) == 400
    # connections of finished threads are closed when the next thread connects
    late = threading.Thread(target=lambda: revocations.is_revoked(verified_token()))
    late.start()
    late.join()
    assert len(revocations._pool._connections) <= 2


CHILD = r"""
import json, sys, time
from tokensmith.revocation.sqlite import SQLiteRevocationList
from tokensmith.testing import verified_token
path, name = sys.argv[1], sys.argv[2]
now = time.time()
seen_other = 0
with SQLiteRevocationList(path) as rl:
    for i in range(200):
        rl.revoke(f"{name}-{i}", issuer="https://issuer.test", expires_at=now + 600)
        assert rl.is_revoked(verified_token(jti=f"{name}-{i}", issued_at=now, expires_at=now + 600))
        other = "b" if name == "a" else "a"
        seen_other += rl.is_revoked(verified_token(jti=f"{other}-{i}", issued_at=now, expires_at=now + 600))
print(json.dumps({"seen_other": seen_other}))
"""


def test_two_processes_revoke_and_check_concurrently(db: Path) -> None:
    SQLiteRevocationList(db).close()  # schema and WAL set up once, as an app would at boot
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), name], stdout=subprocess.PIPE, env=env
        )
        for name in ("a", "b")
    ]
    outputs = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        outputs.append(json.loads(out))
    with SQLiteRevocationList(db) as rl:
        assert len(rl) == 400
        now = rl._clock()
        for name in ("a", "b"):
            for i in (0, 199):
                token = verified_token(jti=f"{name}-{i}", issued_at=now, expires_at=now + 60)
                assert rl.is_revoked(token)


def test_import_tokensmith_does_not_load_sqlite3() -> None:
    code = "import sys, tokensmith; print('sqlite3' in sys.modules, 'tokensmith.stores.file' in sys.modules)"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_a_list_dropped_without_close_closes_its_connections(tmp_path: Path) -> None:
    """Python 3.13 warns about every sqlite3 connection left to the garbage collector (an
    error in this suite); the pool closes them itself when it is collected."""
    import gc

    def use_and_drop() -> None:
        revocations = SQLiteRevocationList(tmp_path / "dropped.db")
        revocations.revoke("a", issuer="https://issuer.test", expires_at=2e9)
        worker = threading.Thread(
            target=revocations.revoke, args=("b",), kwargs={"issuer": "x", "expires_at": 2e9}
        )
        worker.start()
        worker.join()

    use_and_drop()
    gc.collect()
