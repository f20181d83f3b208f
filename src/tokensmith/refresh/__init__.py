"""Refresh tokens: rotation on every use, reuse detection that revokes the whole family.

:class:`RefreshManager` does the work over a :class:`RefreshStore`: :class:`MemoryRefreshStore`
(one process), :class:`SQLiteRefreshStore` (one machine) or :class:`RedisRefreshStore` (every
replica). Every name is imported on first use, so ``sqlite3`` and ``redis`` load only with
their store.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import RefreshFamily as RefreshFamily
    from .base import RefreshRecord as RefreshRecord
    from .base import RefreshStore as RefreshStore
    from .base import RotateOutcome as RotateOutcome
    from .base import RotateResult as RotateResult
    from .core import REFRESH_TOKEN_PREFIX as REFRESH_TOKEN_PREFIX
    from .core import RefreshManager as RefreshManager
    from .core import TokenPair as TokenPair
    from .core import refresh_token_hash as refresh_token_hash
    from .memory import MemoryRefreshStore as MemoryRefreshStore
    from .redis import RedisRefreshStore as RedisRefreshStore
    from .sqlite import SQLiteRefreshStore as SQLiteRefreshStore

_LAZY = {
    "RefreshFamily": ".base",
    "RefreshRecord": ".base",
    "RefreshStore": ".base",
    "RotateOutcome": ".base",
    "RotateResult": ".base",
    "REFRESH_TOKEN_PREFIX": ".core",
    "RefreshManager": ".core",
    "TokenPair": ".core",
    "refresh_token_hash": ".core",
    "MemoryRefreshStore": ".memory",
    "RedisRefreshStore": ".redis",
    "SQLiteRefreshStore": ".sqlite",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
