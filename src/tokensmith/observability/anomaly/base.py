"""What a store of anomaly windows is (the detectors count in one): sync and async protocols."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["AsyncWindowStore", "WindowStore"]


@runtime_checkable
class WindowStore(Protocol):
    """Sliding windows of timestamped members, counted per key (sync: see
    :mod:`tokensmith.observability.anomaly` on asyncio)."""

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """Record ``member`` at ``at``; return how many distinct members ``key`` has in
        ``(at - window, at]`` (re-adding a member refreshes its time)."""
        ...


@runtime_checkable
class AsyncWindowStore(Protocol):
    """The async twin of :class:`WindowStore` (what the async detectors need)."""

    async def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        ...
