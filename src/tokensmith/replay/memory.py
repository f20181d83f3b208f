"""Spent ``jti`` values in process memory: for tests and a single process (see the class)."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable

from .base import check_use, entry_key

__all__ = ["MemoryJtiReplayStore"]


class MemoryJtiReplayStore:
    """Spent ``jti`` values in process memory; each is forgotten when its token expires.

    For tests and a single process only: a restart forgets every spent ``jti``, so an
    assertion captured in transit can be replayed after a restart, for the rest of its
    lifetime (up to :data:`~tokensmith.oauth.MAX_ASSERTION_LIFETIME` for a client assertion),
    and each replica of a server keeps its own set. In production use
    :class:`~tokensmith.replay.SQLiteJtiReplayStore` (one machine) or
    :class:`~tokensmith.replay.RedisJtiReplayStore` (several).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)`` until ``expires_at`` (see :class:`JtiReplayStore`)."""
        check_use(issuer, jti, expires_at)
        key = entry_key(issuer, jti)
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._entries:
                return False
            until = max(float(expires_at), now + 1.0)
            self._entries[key] = until
            heapq.heappush(self._expiry, (until, key))
            return True

    use_nowait = use
    """:meth:`use` itself: it never blocks, so an async caller (``DPoPVerifier.averify``) may
    call it on the event loop (the same convention as
    :class:`~tokensmith.stores.NonBlockingKeySource`)."""

    def _purge(self, now: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            if self._entries.get(key, math.inf) <= now:
                del self._entries[key]

    def __repr__(self) -> str:
        return f"MemoryJtiReplayStore(entries={len(self._entries)})"
