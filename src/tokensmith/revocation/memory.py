"""An in-process revocation list whose entries expire with the tokens they cover."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable

from ..claims import VerifiedToken
from ..policy import DEFAULT_LEEWAY, MAX_LEEWAY
from .base import check_entry, covered_by_watermark, watermark

__all__ = ["MemoryRevocationList"]

_Kind = str  # "jti" | "sub" | "sid"


class MemoryRevocationList:
    """Revocations held in memory: for one process, for tests, and as the reference behaviour.

    Entries are kept until ``expires_at + grace`` (``grace`` covers validators' leeway), then
    purged lazily, so memory is bounded by the number of live revoked tokens.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.time, grace: float = MAX_LEEWAY
    ) -> None:
        self._clock = clock
        self._grace = grace
        self._lock = threading.Lock()
        # (kind, issuer, id) -> (watermark or inf for jti, expires_at)
        self._entries: dict[tuple[_Kind, str, str], tuple[float, float]] = {}
        self._expiry: list[tuple[float, tuple[_Kind, str, str]]] = []

    def __len__(self) -> int:
        self._purge(self._clock())
        return len(self._entries)

    def is_revoked(self, token: VerifiedToken) -> bool:
        """True when revoked by jti, subject or session (see :mod:`tokensmith.revocation.base`)."""
        entries = self._entries
        if not entries:
            return False
        now = self._clock()
        if self._expiry and self._expiry[0][0] <= now:
            self._purge(now)
        issuer = token.issuer or ""
        if token.jti is not None and ("jti", issuer, token.jti) in entries:
            return True
        cutoff = -math.inf
        if token.subject is not None:
            entry = entries.get(("sub", issuer, token.subject))
            if entry is not None:
                cutoff = entry[0]
        sid = token.session_id
        if sid is not None:
            entry = entries.get(("sid", issuer, sid))
            if entry is not None:
                cutoff = max(cutoff, entry[0])
        return cutoff > -math.inf and covered_by_watermark(token.issued_at, cutoff)

    is_revoked_nowait = is_revoked
    """:meth:`is_revoked` itself: it never blocks (see
    :class:`~tokensmith.revocation.NonBlockingRevocationList`)."""

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)`` until ``expires_at``."""
        check_entry("jti", jti, expires_at)
        self._put(("jti", issuer, jti), math.inf, expires_at)

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
        self._put(("sub", issuer, subject), watermark(before, skew), expires_at)

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
        self._put(("sid", issuer, session_id), watermark(before, skew), expires_at)

    def _put(self, entry: tuple[_Kind, str, str], mark: float, expires_at: float) -> None:
        now = self._clock()
        until = expires_at + self._grace
        if until <= now:
            return  # every token it covers has already expired
        with self._lock:
            old = self._entries.get(entry)
            if old is not None:  # watermarks only move forward; expiries only later
                mark, until = max(mark, old[0]), max(until, old[1])
            self._entries[entry] = (mark, until)
            heapq.heappush(self._expiry, (until, entry))
        self._purge(now)

    def _purge(self, now: float) -> None:
        with self._lock:
            heap = self._expiry
            while heap and heap[0][0] <= now:
                _, entry = heapq.heappop(heap)
                current = self._entries.get(entry)
                if current is not None and current[1] <= now:
                    del self._entries[entry]

    def __repr__(self) -> str:
        return f"MemoryRevocationList(entries={len(self._entries)})"
