"""Anomaly windows in process memory: bounded, O(1) amortised per event, never blocking."""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict

from ..._options import integer

__all__ = ["MemoryWindows"]


class _Members:
    """One key's window: each member's latest time, and a heap to drop the oldest first."""

    __slots__ = ("heap", "latest")

    def __init__(self) -> None:
        self.latest: dict[str, float] = {}
        self.heap: list[tuple[float, str]] = []  # (time, member); outdated pairs are skipped

    def add(self, member: str, at: float, cutoff: float, cap: int) -> int:
        self.latest[member] = at
        heapq.heappush(self.heap, (at, member))
        heap, latest = self.heap, self.latest
        while heap and (heap[0][0] <= cutoff or len(latest) > cap):
            time, gone = heapq.heappop(heap)
            if latest.get(gone) == time:
                del latest[gone]
        if len(heap) > 2 * len(latest) + 16:  # refreshed members left outdated pairs behind
            self.heap = [(t, m) for m, t in latest.items()]
            heapq.heapify(self.heap)
        return len(latest)


class MemoryWindows:
    """In-process windows with bounded memory and O(1) amortised work per event.

    At most ``max_keys`` keys, each with at most ``max_members`` members (the oldest go first;
    a count saturates there, far above any sensible threshold). Keys are kept in order of
    their last update: when a new key finds the store full, the least recently updated keys
    (those whose windows emptied first) are dropped in one batch, so no event ever scans the
    store. Thread-safe, and safe to call from a coroutine (no I/O).
    """

    def __init__(self, *, max_keys: int = 100_000, max_members: int = 10_000) -> None:
        self._max_keys = integer("max_keys", max_keys, minimum=1)
        self._max_members = integer("max_members", max_members, minimum=1)
        self._batch = self._max_keys // 64 + 1
        self._data: OrderedDict[str, _Members] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        with self._lock:
            members = self._data.get(key)
            if members is None:
                if len(self._data) >= self._max_keys:
                    self._evict()
                members = self._data[key] = _Members()
            else:
                self._data.move_to_end(key)
            return members.add(member, at, at - window, self._max_members)

    def _evict(self) -> None:
        """Drop the least recently updated keys, a batch at a time (amortised O(1))."""
        for _ in range(min(self._batch, len(self._data))):
            self._data.popitem(last=False)
