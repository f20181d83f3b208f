"""Refresh-token families in process memory: for one process, for tests, and as the reference."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._options import seconds
from ..errors import ConfigurationError
from .base import (
    RefreshFamily,
    RefreshRecord,
    RotateOutcome,
    RotateResult,
    check_family_id,
    check_hash,
)

__all__ = ["MemoryRefreshStore"]


@dataclass(slots=True)
class _Family:
    family: RefreshFamily
    revoked: bool = False
    hashes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Token:
    family_id: str
    expires_at: float
    consumed: bool = False


class MemoryRefreshStore:
    """Families and token hashes in a dict behind one lock (so :meth:`rotate` is atomic).

    Expired families are purged lazily on writes (and by :meth:`purge`), so memory is bounded by
    the live families and the tokens issued in them.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}
        self._tokens: dict[str, _Token] = {}
        self._expiry: list[tuple[float, str]] = []

    def create_family(self, family: RefreshFamily, token_hash: str, *, expires_at: float) -> None:
        """Store a new family with its first token (see :class:`RefreshStore`)."""
        check_hash("token_hash", token_hash)
        until = min(seconds("expires_at", expires_at), family.expires_at)
        with self._lock:
            self._purge(self._clock())
            if family.family_id in self._families or token_hash in self._tokens:
                raise ConfigurationError("that family or token is already stored")
            self._families[family.family_id] = _Family(family, hashes=[token_hash])
            self._tokens[token_hash] = _Token(family.family_id, until)
            heapq.heappush(self._expiry, (family.expires_at, family.family_id))

    def find(self, token_hash: str, *, family_id: str) -> RefreshRecord | None:
        """The token's record, or ``None`` (see :class:`RefreshStore`)."""
        check_hash("token_hash", token_hash)
        check_family_id(family_id)
        with self._lock:
            token = self._tokens.get(token_hash)
            if token is None or token.family_id != family_id:
                return None
            entry = self._families[token.family_id]
            return RefreshRecord(entry.family, token.expires_at, token.consumed, entry.revoked)

    def rotate(
        self, token_hash: str, new_hash: str, *, family_id: str, now: float, expires_at: float
    ) -> RotateResult:
        """Consume ``token_hash`` and store ``new_hash`` under one lock (see ``RefreshStore``)."""
        check_hash("token_hash", token_hash)
        check_hash("new_hash", new_hash)
        check_family_id(family_id)
        now = seconds("now", now)
        requested = seconds("expires_at", expires_at)
        with self._lock:
            token = self._tokens.get(token_hash)
            if token is None or token.family_id != family_id:
                return RotateResult(RotateOutcome.UNKNOWN)
            entry = self._families[token.family_id]
            record = RefreshRecord(entry.family, token.expires_at, token.consumed, entry.revoked)
            outcome = record.outcome(now)
            if outcome is RotateOutcome.REUSED:
                entry.revoked = True
            if outcome is not RotateOutcome.OK:
                return RotateResult(outcome, entry.family)
            if new_hash in self._tokens:
                raise ConfigurationError("the new token hash is already stored")
            token.consumed = True
            until = min(requested, entry.family.expires_at)
            self._tokens[new_hash] = _Token(token.family_id, until)
            entry.hashes.append(new_hash)
            return RotateResult(RotateOutcome.OK, entry.family, until)

    def revoke_family(self, family_id: str) -> RefreshFamily | None:
        """Revoke a family (see :class:`RefreshStore`)."""
        with self._lock:
            entry = self._families.get(family_id)
            if entry is None or entry.revoked:
                return None
            entry.revoked = True
            return entry.family

    def purge(self, now: float) -> int:
        """Forget families past their absolute expiry, with their tokens; how many went."""
        with self._lock:
            return self._purge(seconds("now", now))

    def _purge(self, now: float) -> int:
        gone = 0
        heap = self._expiry
        while heap and heap[0][0] <= now:
            _, family_id = heapq.heappop(heap)
            entry = self._families.pop(family_id, None)
            if entry is not None:
                gone += 1
                for token_hash in entry.hashes:
                    self._tokens.pop(token_hash, None)
        return gone

    def __len__(self) -> int:
        """The number of stored families (live, revoked, or expired and not yet purged)."""
        return len(self._families)

    def __repr__(self) -> str:
        return f"MemoryRefreshStore(families={len(self._families)}, tokens={len(self._tokens)})"
