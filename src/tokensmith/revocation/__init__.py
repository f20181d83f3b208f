"""Revocation lists: refuse tokens by ``jti``, by subject ("issued before t") or by session.

:class:`RevocationList` / :class:`AsyncRevocationList` are the protocols a validator consults
(:class:`NonBlockingRevocationList`, optional, lets ``avalidate()`` ask a sync one on the loop);
:func:`watermark` and :func:`covered_by_watermark` are the rules every backend shares (see
:mod:`.base`); :func:`revoke_token` revokes a verified token until it expires. Backends:
:class:`MemoryRevocationList` (one process), :class:`SQLiteRevocationList` (one machine,
survives restarts), :class:`RedisRevocationList` / :class:`AsyncRedisRevocationList` (every
replica; :class:`LocalCache` is their opt-in local fast path). Every name is imported on first
use.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import AsyncRevocationList as AsyncRevocationList
    from .base import NonBlockingRevocationList as NonBlockingRevocationList
    from .base import RevocationList as RevocationList
    from .base import covered_by_watermark as covered_by_watermark
    from .base import revoke_token as revoke_token
    from .base import watermark as watermark
    from .memory import MemoryRevocationList as MemoryRevocationList
    from .redis import AsyncRedisRevocationList as AsyncRedisRevocationList
    from .redis import LocalCache as LocalCache
    from .redis import RedisRevocationList as RedisRevocationList
    from .redis import RedisRevocationOptions as RedisRevocationOptions
    from .sqlite import SQLiteRevocationList as SQLiteRevocationList

_LAZY = {
    "AsyncRevocationList": ".base",
    "NonBlockingRevocationList": ".base",
    "RevocationList": ".base",
    "revoke_token": ".base",
    "covered_by_watermark": ".base",
    "watermark": ".base",
    "MemoryRevocationList": ".memory",
    "AsyncRedisRevocationList": ".redis",
    "LocalCache": ".redis",
    "RedisRevocationList": ".redis",
    "RedisRevocationOptions": ".redis",
    "SQLiteRevocationList": ".sqlite",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
