"""Replay stores: each single-use token id (``jti``) is accepted once, until its token expires.

Client assertions (RFC 7523, :mod:`tokensmith.oauth`) spend their ``jti`` here; any other
single-use token can. :class:`SQLiteJtiReplayStore` (one machine) and
:class:`RedisJtiReplayStore` (every replica) survive a restart; :class:`MemoryJtiReplayStore`
is for tests and a single process. ``sqlite3`` and ``redis`` are imported only with their store.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import JtiReplayStore as JtiReplayStore
    from .memory import MemoryJtiReplayStore as MemoryJtiReplayStore
    from .redis import RedisJtiReplayStore as RedisJtiReplayStore
    from .sqlite import SQLiteJtiReplayStore as SQLiteJtiReplayStore

_LAZY = {
    "JtiReplayStore": ".base",
    "MemoryJtiReplayStore": ".memory",
    "RedisJtiReplayStore": ".redis",
    "SQLiteJtiReplayStore": ".sqlite",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
