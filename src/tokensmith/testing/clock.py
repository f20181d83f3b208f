"""A clock that moves only when a test says so."""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that only moves when told to. Call it to read the time.

    >>> clock = FakeClock(1_000.0)
    >>> clock.advance(30)
    >>> clock()
    1030.0
    """

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self._now = float(now)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or backward, with a negative value)."""
        with self._lock:
            self._now += seconds

    def set(self, now: float) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = float(now)

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"
