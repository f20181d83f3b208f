"""Refresh-token families in an SQLite file: survives restarts, shared by threads and processes.

:meth:`SQLiteRefreshStore.rotate` is one ``BEGIN IMMEDIATE`` transaction: it takes the
database's write lock *before* reading the token, so of concurrent rotations (threads or
processes) exactly one sees the token unused. WAL mode (readers never block the writer),
``synchronous=FULL`` (a rotation that returned is on disk), one connection per thread.
``sqlite3`` is imported only here, so ``import tokensmith`` does not load it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from typing import Final

from .._options import seconds
from .._sqlite import ConnectionPool, PooledBackend, database_path
from ..errors import BackendUnavailable, ConfigurationError
from .base import (
    RefreshFamily,
    RefreshRecord,
    RotateOutcome,
    RotateResult,
    check_family_id,
    check_hash,
)

__all__ = ["SQLiteRefreshStore"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokensmith_refresh_families (
    family_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokensmith_refresh_families_expiry
    ON tokensmith_refresh_families (expires_at);
CREATE TABLE IF NOT EXISTS tokensmith_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    consumed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokensmith_refresh_tokens_family
    ON tokensmith_refresh_tokens (family_id);
"""

_FIND: Final = """
SELECT f.data, t.expires_at, t.consumed, f.revoked
FROM tokensmith_refresh_tokens AS t
JOIN tokensmith_refresh_families AS f ON f.family_id = t.family_id
WHERE t.token_hash = ? AND t.family_id = ?
"""
_INSERT_FAMILY: Final = (
    "INSERT INTO tokensmith_refresh_families (family_id, data, expires_at) VALUES (?, ?, ?)"
)
_INSERT_TOKEN: Final = (
    "INSERT INTO tokensmith_refresh_tokens (token_hash, family_id, expires_at) VALUES (?, ?, ?)"
)
_CONSUME: Final = "UPDATE tokensmith_refresh_tokens SET consumed = 1 WHERE token_hash = ?"
_REVOKE: Final = (
    "UPDATE tokensmith_refresh_families SET revoked = 1 WHERE family_id = ? AND revoked = 0"
)
_REVOKED_FAMILY: Final = "SELECT data FROM tokensmith_refresh_families WHERE family_id = ?"
_PURGE_TOKENS: Final = """
DELETE FROM tokensmith_refresh_tokens WHERE family_id IN
    (SELECT family_id FROM tokensmith_refresh_families WHERE expires_at <= ?)
"""
_PURGE_FAMILIES: Final = "DELETE FROM tokensmith_refresh_families WHERE expires_at <= ?"


class SQLiteRefreshStore(PooledBackend):
    """Refresh-token families in an SQLite database file (one machine's threads and processes).

    :param path: the database file (created ``0600`` if missing); ``:memory:`` and URIs are
        refused (use :class:`~tokensmith.refresh.MemoryRefreshStore`).
    :param busy_timeout: seconds a writer waits for another connection's write lock.

    SQLite errors (a locked or damaged database) raise
    :class:`~tokensmith.errors.BackendUnavailable`: answer 503, never issue tokens.
    Expired families are deleted by :meth:`purge`; call it now and then (e.g. hourly).
    ``close()`` closes every thread's connection (later calls raise ``BackendUnavailable``);
    the object is also a context manager that closes on exit.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        location = database_path(path)
        seconds("busy_timeout", busy_timeout, minimum=0)
        self._path = location
        self._busy_timeout = float(busy_timeout)
        self._pool = ConnectionPool(
            location, busy_timeout=self._busy_timeout, schema=_SCHEMA, what="refresh store"
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (take the write lock first) ... ``COMMIT``, or ``ROLLBACK``."""
        if self._closed:
            raise BackendUnavailable("the SQLite refresh store is closed")
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # --- the RefreshStore protocol -------------------------------------------------------------

    def create_family(self, family: RefreshFamily, token_hash: str, *, expires_at: float) -> None:
        """Store a new family with its first token, in one transaction."""
        check_hash("token_hash", token_hash)
        until = min(seconds("expires_at", expires_at), family.expires_at)
        document = family.to_json()
        try:
            with self._transaction() as connection:
                connection.execute(_INSERT_FAMILY, (family.family_id, document, family.expires_at))
                connection.execute(_INSERT_TOKEN, (token_hash, family.family_id, until))
        except sqlite3.IntegrityError:
            raise ConfigurationError("that family or token is already stored") from None
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite refresh write failed: {exc}") from None

    def find(self, token_hash: str, *, family_id: str) -> RefreshRecord | None:
        """The token's record, or ``None`` (one indexed join)."""
        check_hash("token_hash", token_hash)
        check_family_id(family_id)
        if self._closed:
            raise BackendUnavailable("the SQLite refresh store is closed")
        try:
            row = self._connection().execute(_FIND, (token_hash, family_id)).fetchone()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite refresh lookup failed: {exc}") from None
        if row is None:
            return None
        data, expires_at, consumed, revoked = row
        return RefreshRecord(
            RefreshFamily.from_json(data), expires_at, bool(consumed), bool(revoked)
        )

    def rotate(
        self, token_hash: str, new_hash: str, *, family_id: str, now: float, expires_at: float
    ) -> RotateResult:
        """Consume ``token_hash`` and store ``new_hash`` in one ``BEGIN IMMEDIATE`` transaction."""
        check_hash("token_hash", token_hash)
        check_hash("new_hash", new_hash)
        check_family_id(family_id)
        now = seconds("now", now)
        requested = seconds("expires_at", expires_at)
        try:
            with self._transaction() as connection:
                result = self._rotate(connection, (token_hash, family_id), new_hash, now, requested)
        except sqlite3.IntegrityError:
            raise ConfigurationError("the new token hash is already stored") from None
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite refresh rotation failed: {exc}") from None
        return result

    def _rotate(
        self,
        connection: sqlite3.Connection,
        token: tuple[str, str],
        new_hash: str,
        now: float,
        requested: float,
    ) -> RotateResult:
        """``token`` is (hash, family id): unknown unless the token is in that family."""
        token_hash = token[0]
        row = connection.execute(_FIND, token).fetchone()
        if row is None:
            return RotateResult(RotateOutcome.UNKNOWN)
        data, token_expires_at, consumed, revoked = row
        family = RefreshFamily.from_json(data)
        outcome = RefreshRecord(family, token_expires_at, bool(consumed), bool(revoked)).outcome(
            now
        )
        if outcome is RotateOutcome.REUSED:
            connection.execute(_REVOKE, (family.family_id,))
        if outcome is not RotateOutcome.OK:
            return RotateResult(outcome, family)
        until = min(requested, family.expires_at)
        connection.execute(_CONSUME, (token_hash,))
        connection.execute(_INSERT_TOKEN, (new_hash, family.family_id, until))
        return RotateResult(RotateOutcome.OK, family, until)

    def revoke_family(self, family_id: str) -> RefreshFamily | None:
        """Revoke a family; return it if it was live."""
        try:
            with self._transaction() as connection:
                changed = connection.execute(_REVOKE, (family_id,)).rowcount
                row = connection.execute(_REVOKED_FAMILY, (family_id,)).fetchone()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite refresh revocation failed: {exc}") from None
        if not changed or row is None:
            return None
        return RefreshFamily.from_json(row[0])

    def purge(self, now: float) -> int:
        """Delete families past their absolute expiry, with their tokens; how many went."""
        now = seconds("now", now)
        try:
            with self._transaction() as connection:
                connection.execute(_PURGE_TOKENS, (now,))
                gone = connection.execute(_PURGE_FAMILIES, (now,)).rowcount
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite refresh purge failed: {exc}") from None
        return int(gone)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"SQLiteRefreshStore({self._path!r}, {state})"
