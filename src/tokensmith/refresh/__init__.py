"""Refresh tokens: rotation on every use, reuse detection that revokes the whole family.

:class:`RefreshManager` does the work over a :class:`RefreshStore`; :class:`MemoryRefreshStore`
is here, the others live in their own modules so their dependencies load only when used:
``tokensmith.refresh.sqlite.SQLiteRefreshStore`` and ``tokensmith.refresh.redis.RedisRefreshStore``.
"""

from __future__ import annotations

from .base import RefreshFamily, RefreshRecord, RefreshStore, RotateOutcome, RotateResult
from .core import REFRESH_TOKEN_PREFIX, RefreshManager, TokenPair, refresh_token_hash
from .memory import MemoryRefreshStore

__all__ = [
    "REFRESH_TOKEN_PREFIX",
    "MemoryRefreshStore",
    "RefreshFamily",
    "RefreshManager",
    "RefreshRecord",
    "RefreshStore",
    "RotateOutcome",
    "RotateResult",
    "TokenPair",
    "refresh_token_hash",
]
