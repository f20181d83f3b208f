"""A revocation list in an SQLite file: survives restarts, shared by threads and processes.

Same semantics as :class:`~tokensmith.MemoryRevocationList` (entries keyed on
``(issuer, jti)``, subject and session watermarks that only move forward, entries kept until
``expires_at + grace``). The database runs in WAL mode (readers never block the writer), with
``synchronous=FULL`` (a revocation that returned is on disk) and a ``busy_timeout`` for
concurrent writers. Each thread gets its own connection; ``close()`` closes them all.

``is_revoked`` is one indexed query (three primary-key lookups). Rows past their expiry are
ignored by that query and deleted at most once per ``purge_interval`` seconds, on a write.
``sqlite3`` is imported only here, so ``import tokensmith`` does not load it.
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
from ..claims import VerifiedToken
from ..errors import BackendUnavailable, ConfigurationError
from ..policy import DEFAULT_LEEWAY, MAX_LEEWAY
from .base import check_entry, covered_by_watermark, watermark

__all__ = ["SQLiteRevocationList"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokensmith_revocations (
    kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    id TEXT NOT NULL,
    mark REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (kind, issuer, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokensmith_revocations_expiry
    ON tokensmith_revocations (expires_at);
"""

# Three primary-key lookups (SQLite's OR optimisation), live rows only.
_LOOKUP: Final = """
SELECT kind, mark FROM tokensmith_revocations
WHERE ((kind = 'jti' AND issuer = :iss AND id = :jti)
    OR (kind = 'sub' AND issuer = :iss AND id = :sub)
    OR (kind = 'sid' AND issuer = :iss AND id = :sid))
  AND expires_at > :now
"""

# Watermarks only move forward and expiries only later, unless the old row had expired.
_UPSERT: Final = """
INSERT INTO tokensmith_revocations (kind, issuer, id, mark, expires_at)
VALUES (:kind, :iss, :id, :mark, :until)
ON CONFLICT (kind, issuer, id) DO UPDATE SET
    mark = CASE WHEN expires_at <= :now THEN excluded.mark
                ELSE max(mark, excluded.mark) END,
    expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at
                      ELSE max(expires_at, excluded.expires_at) END
"""

_PURGE: Final = "DELETE FROM tokensmith_revocations WHERE expires_at <= ?"
_COUNT: Final = "SELECT count(*) FROM tokensmith_revocations WHERE expires_at > ?"


class SQLiteRevocationList(PooledBackend):
    """Revocations in an SQLite database file, for one machine's processes and threads.

    :param path: the database file (created ``0600`` if missing); ``:memory:`` is refused
        (use :class:`~tokensmith.MemoryRevocationList`).
    :param grace: seconds an entry outlives ``expires_at`` (covers validators' leeway).
    :param busy_timeout: seconds a writer waits for another process's write lock.
    :param purge_interval: at most one purge of expired rows per this many seconds.

    SQLite errors (a locked or damaged database) raise
    :class:`~tokensmith.errors.BackendUnavailable`: answer 503, never accept the token.
    ``close()`` closes every thread's connection (later calls raise ``BackendUnavailable``);
    the object is also a context manager that closes on exit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        grace: float = MAX_LEEWAY,
        busy_timeout: float = 5.0,
        purge_interval: float = 60.0,
    ) -> None:
        location = database_path(path)
        seconds("grace", grace, minimum=0)
        seconds("busy_timeout", busy_timeout, minimum=0)
        seconds("purge_interval", purge_interval, minimum=0)
        self._path = location
        self._clock = clock
        self._grace = float(grace)
        self._busy_timeout = float(busy_timeout)
        self._purge_interval = float(purge_interval)
        self._purge_at = -math.inf
        self._pool = ConnectionPool(
            location, busy_timeout=self._busy_timeout, schema=_SCHEMA, what="revocation list"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise BackendUnavailable("the SQLite revocation list is closed")

    # --- the RevocationList protocol -----------------------------------------------------------

    def is_revoked(self, token: VerifiedToken) -> bool:
        """True when revoked by jti, subject or session (see :mod:`tokensmith.revocation.base`)."""
        self._check_open()
        parameters = {
            "iss": token.issuer or "",
            "jti": token.jti,
            "sub": token.subject,
            "sid": token.session_id,
            "now": self._clock(),
        }
        try:
            rows = self._connection().execute(_LOOKUP, parameters).fetchall()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite revocation lookup failed: {exc}") from None
        cutoff = -math.inf
        for kind, mark in rows:
            if kind == "jti":
                return True
            cutoff = max(cutoff, mark)
        return cutoff > -math.inf and covered_by_watermark(token.issued_at, cutoff)

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)`` until ``expires_at``."""
        check_entry("jti", jti, expires_at)
        self._put("jti", issuer, jti, math.inf, expires_at)

    def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew``."""
        check_entry("subject", subject, expires_at)
        self._put("sub", issuer, subject, watermark(before, skew), expires_at)

    def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of the session (issued at or before ``before + skew``)."""
        check_entry("session_id", session_id, expires_at)
        self._put("sid", issuer, session_id, watermark(before, skew), expires_at)

    def _put(self, kind: str, issuer: str, value: str, mark: float, expires_at: float) -> None:
        if not isinstance(issuer, str):
            raise ConfigurationError("issuer must be a string")
        self._check_open()
        now = self._clock()
        until = expires_at + self._grace
        if until <= now:
            return  # every token it covers has already expired
        parameters = {
            "kind": kind,
            "iss": issuer,
            "id": value,
            "mark": mark,
            "until": until,
            "now": now,
        }
        try:
            self._connection().execute(_UPSERT, parameters)
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite revocation write failed: {exc}") from None
        if now >= self._purge_at:
            self.purge()

    # --- housekeeping --------------------------------------------------------------------------

    def purge(self) -> int:
        """Delete entries past ``expires_at + grace`` now; returns how many went."""
        self._check_open()
        now = self._clock()
        self._purge_at = now + self._purge_interval
        try:
            return self._connection().execute(_PURGE, (now,)).rowcount
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite revocation purge failed: {exc}") from None

    def __len__(self) -> int:
        """The number of live entries."""
        self._check_open()
        try:
            row = self._connection().execute(_COUNT, (self._clock(),)).fetchone()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite revocation count failed: {exc}") from None
        return int(row[0])

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"SQLiteRevocationList({self._path!r}, {state})"
