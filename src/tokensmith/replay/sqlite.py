"""Spent client-assertion ``jti`` values in an SQLite file: they survive a restart.

:class:`SQLiteJtiReplayStore` is the replay store for an authorization server on one machine
(every process and thread shares the file); use
:class:`~tokensmith.replay.RedisJtiReplayStore` across machines. Unlike
:class:`~tokensmith.replay.MemoryJtiReplayStore`, a captured assertion cannot be replayed after
the server restarts. The file is created ``0600``, runs in WAL mode with ``synchronous=FULL``
(a ``use`` that returned ``True`` is on disk), and each ``use`` is one atomic statement.
``sqlite3`` is imported only here.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Final

from .._options import seconds
from .._sqlite import ConnectionPool, PooledBackend, database_path
from ..errors import BackendUnavailable
from .base import check_use, entry_key

__all__ = ["SQLiteJtiReplayStore"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokensmith_spent_jti (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokensmith_spent_jti_expiry ON tokensmith_spent_jti (expires_at);
"""

# One statement, so atomic: a new pair is inserted, an entry whose time is up is taken over,
# a live entry is left alone (no row changes: a replay).
_USE: Final = """
INSERT INTO tokensmith_spent_jti (key, expires_at) VALUES (:key, :until)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE tokensmith_spent_jti.expires_at <= :now
"""
_PURGE: Final = "DELETE FROM tokensmith_spent_jti WHERE expires_at <= ?"
_COUNT: Final = "SELECT count(*) FROM tokensmith_spent_jti WHERE expires_at > ?"


class SQLiteJtiReplayStore(PooledBackend):
    """Spent ``(issuer, jti)`` pairs in an SQLite database file (see the module docstring).

    :param path: the database file (created ``0600`` if missing); ``:memory:`` is refused (it
        would forget on restart: use :class:`~tokensmith.replay.MemoryJtiReplayStore`).
    :param busy_timeout: seconds a writer waits for another process's write lock.
    :param purge_interval: at most one purge of expired entries per this many seconds.

    Entries are named by SHA-256 of the pair (never the ``jti`` itself) and kept until the
    assertion expires (at least one second). SQLite errors (a locked or damaged database, a
    closed store) raise :class:`~tokensmith.errors.BackendUnavailable`: answer 503, never
    accept the assertion. ``close()`` closes every thread's connection; the object is also a
    context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
        purge_interval: float = 60.0,
    ) -> None:
        location = database_path(path)
        seconds("busy_timeout", busy_timeout, minimum=0)
        seconds("purge_interval", purge_interval, minimum=0)
        self._path = location
        self._clock = clock
        self._purge_interval = float(purge_interval)
        self._purge_at = -math.inf
        self._pool = ConnectionPool(
            location, busy_timeout=float(busy_timeout), schema=_SCHEMA, what="replay store"
        )

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)`` until ``expires_at``: ``True`` the first time only."""
        check_use(issuer, jti, expires_at)
        self._pool.check_open()
        now = self._clock()
        parameters = {
            "key": entry_key(issuer, jti),
            "until": max(float(expires_at), now + 1.0),
            "now": now,
        }
        try:
            spent = self._connection().execute(_USE, parameters).rowcount == 1
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"the SQLite replay store failed: {exc}") from None
        if now >= self._purge_at:
            self.purge()
        return spent

    def purge(self) -> int:
        """Delete the entries whose assertion has expired; returns how many went."""
        self._pool.check_open()
        now = self._clock()
        self._purge_at = now + self._purge_interval
        try:
            return self._connection().execute(_PURGE, (now,)).rowcount
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"the SQLite replay store purge failed: {exc}") from None

    def __len__(self) -> int:
        """The number of live (unexpired) entries."""
        self._pool.check_open()
        try:
            row = self._connection().execute(_COUNT, (self._clock(),)).fetchone()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"the SQLite replay store count failed: {exc}") from None
        return int(row[0])

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"SQLiteJtiReplayStore({self._path!r}, {state})"
