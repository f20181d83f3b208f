"""One SQLite connection per thread, for the embedded backends (revocations, refresh tokens).

Both SQLite backends need the same things: a file created 0600, its schema applied once,
WAL mode with full fsync, a connection per thread (sqlite3 connections must not be shared),
connections of ended threads closed, and ``close()`` closing them all from any thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from types import TracebackType
from typing import Self

from .errors import BackendUnavailable, ConfigurationError

__all__ = ["ConnectionPool", "PooledBackend", "database_path"]


def database_path(path: object) -> str:
    """``path`` as a plain file path: a database that survives the process, never ``:memory:``
    or an SQLite URI (``file:...``, ``mode=memory``), which would forget on restart."""
    try:
        location = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        raise ConfigurationError("path must be a str or os.PathLike file path") from None
    if not isinstance(location, str) or not location or location == ":memory:":
        raise ConfigurationError("path must name a database file (not ':memory:')")
    if location.startswith("file:") or "mode=memory" in location:
        raise ConfigurationError("path must be a plain file path, not an SQLite URI")
    return location


class ConnectionPool:
    """Per-thread connections to one SQLite file, in autocommit mode (explicit transactions)."""

    def __init__(self, path: str, *, busy_timeout: float, schema: str, what: str) -> None:
        self.path = path
        self.what = what
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        # A pool dropped without close() still closes its connections (Python 3.13 warns
        # about every sqlite3 connection left to the garbage collector).
        weakref.finalize(self, _close_all, self._connections)
        self.closed = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise BackendUnavailable(f"cannot open {path} ({exc.strerror})") from None
        os.close(fd)
        try:
            self.connection().executescript(schema)
        except sqlite3.Error as exc:
            self.close()
            raise BackendUnavailable(f"{path} is not a usable SQLite database: {exc}") from None

    def check_open(self) -> None:
        """Raise :class:`BackendUnavailable` once :meth:`close` was called."""
        if self.closed:
            raise BackendUnavailable(f"the SQLite {self.what} is closed")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        with self._lock:
            self.check_open()
            self._close_orphans()
            connection = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,  # only so close() may close it from another thread
            )
            self._connections.append((weakref.ref(threading.current_thread()), connection))
        try:
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
            connection.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error:
            self._forget(connection)
            raise
        self._local.connection = connection
        return connection

    def _close_orphans(self) -> None:
        """Close connections of threads that have ended (called with the lock held)."""
        alive = []
        for thread, connection in self._connections:
            owner = thread()
            if owner is None or not owner.is_alive():
                connection.close()
            else:
                alive.append((thread, connection))
        self._connections[:] = alive  # in place: the finalizer holds this list

    def _forget(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            self._connections[:] = [(t, c) for t, c in self._connections if c is not connection]
        connection.close()

    def close(self) -> None:
        """Close every connection (idempotent)."""
        with self._lock:
            self.closed = True
            connections = list(self._connections)
            self._connections.clear()
        for _thread, connection in connections:
            connection.close()


def _close_all(connections: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]]) -> None:
    for _thread, connection in connections:
        connection.close()
    connections.clear()


class PooledBackend:
    """What both SQLite backends do with their pool: hand out this thread's connection, say
    whether they are closed, close, and work as context managers."""

    _pool: ConnectionPool

    def _connection(self) -> sqlite3.Connection:
        return self._pool.connection()

    @property
    def _closed(self) -> bool:
        return self._pool.closed

    def close(self) -> None:
        """Close every connection (idempotent). Later calls raise ``BackendUnavailable``."""
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
