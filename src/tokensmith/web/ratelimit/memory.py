"""Rate limits held in process memory (GCRA, bounded, fails closed when full)."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from ..._options import integer
from .base import Decision, check_cost, check_key, gcra, limits

__all__ = ["MemoryRateLimiter"]

_log: Final = logging.getLogger("tokensmith.ratelimit")


class MemoryRateLimiter:
    """GCRA limiter in process memory: ``rate`` requests per second, bursts up to ``burst``.

    Thread-safe, and safe to call from a coroutine (no I/O; the lock is held for microseconds).

    Memory is bounded by ``max_keys``. A key is held while its bucket is not full; when a new
    key finds ``max_keys`` held, room is made by forgetting first idle keys (bucket full again,
    the same as a fresh key), then the key whose bucket is fullest, but **never a key that is
    limited** (whose next request would be refused): a spray of other keys cannot lift a
    lock-out. When every held key is limited, the new key is refused (a denied
    :class:`Decision`, ``retry_after`` until the first held key drains) and a warning is
    logged: a full limiter fails closed. Each choice costs O(log n) (a heap ordered by the
    time each bucket is full again).
    """

    __slots__ = (
        "_clock",
        "_full_since",
        "_interval",
        "_lock",
        "_max_keys",
        "_order",
        "_tats",
        "burst",
    )

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = 100_000,
    ) -> None:
        self._interval, self.burst = limits(rate, burst)
        integer("max_keys", max_keys, minimum=1)
        self._clock = clock
        self._max_keys = max_keys
        self._tats: dict[str, float] = {}
        self._order: list[tuple[float, str]] = []  # (tat, key) heap; outdated pairs are skipped
        self._full_since: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryRateLimiter(rate={1 / self._interval:g}, burst={self.burst})"

    def check(self, key: str, *, cost: int = 1) -> Decision:
        """See :meth:`RateLimiter.check`."""
        key = check_key(key)
        cost = check_cost(cost, self.burst)
        with self._lock:
            now = self._clock()
            tat = self._tats.get(key)
            if tat is None and not self._make_room(now, take=True):
                return self._refuse_new(now)
            allowed, retry, remaining, new_tat = gcra(
                now if tat is None else tat, now, self._interval, self.burst, cost
            )
            if allowed:
                self._tats[key] = new_tat
                self._remember(new_tat, key)
        return Decision(allowed, retry, remaining)

    def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        key = check_key(key)
        with self._lock:
            now = self._clock()
            tat = self._tats.get(key)
            if tat is None and not self._make_room(now, take=False):
                return self._refuse_new(now)
            allowed, retry, remaining, _ = gcra(
                now if tat is None else tat, now, self._interval, self.burst, 1
            )
        return Decision(allowed, retry, remaining + 1 if allowed else 0)

    def reset(self, key: str) -> None:
        """Forget ``key`` (e.g. after a successful login)."""
        with self._lock:
            self._tats.pop(check_key(key), None)

    def _remember(self, tat: float, key: str) -> None:
        """Order ``key`` by its new TAT; rebuild the heap when outdated pairs dominate it."""
        heapq.heappush(self._order, (tat, key))
        if len(self._order) > 2 * len(self._tats) + 1024:
            self._order = [(t, k) for k, t in self._tats.items()]
            heapq.heapify(self._order)

    def _make_room(self, now: float, *, take: bool) -> bool:
        """True when a new key may be held: forget idle keys, then (``take``: for a key about to
        be stored, not a peek) the fullest bucket; never a limited key (one whose TAT is beyond
        ``now + (burst - 1) * interval``)."""
        limited_after = now + (self.burst - 1) * self._interval
        order = self._order
        while len(self._tats) >= self._max_keys:
            tat, key = order[0]
            if self._tats.get(key) != tat:
                heapq.heappop(order)  # the key moved on (or was reset): an outdated pair
                continue
            if tat > limited_after:
                return False  # the fullest held bucket is limited: so is every other
            if tat > now and not take:
                return True  # room could be made, but a peek stores nothing: keep the key
            heapq.heappop(order)
            del self._tats[key]
        if self._full_since is not None:
            self._full_since = None
        return True

    def _refuse_new(self, now: float) -> Decision:
        """Every held key is limited: refuse a new one until the first stops being limited."""
        if self._full_since is None:
            self._full_since = now
            _log.warning(
                "MemoryRateLimiter: all %d keys are limited; new keys are refused until one "
                "drains (raise max_keys, or key clients with client_key)",
                self._max_keys,
            )
        retry = self._order[0][0] - (now + (self.burst - 1) * self._interval)
        return Decision(False, retry, 0)
