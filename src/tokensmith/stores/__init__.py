"""Key stores: where a key set lives and how it rotates.

* :class:`KeySource` / :class:`AsyncKeySource` — all a :class:`~tokensmith.Validator` needs;
  :class:`KeyStore` — what a :class:`~tokensmith.Signer` needs on top;
  :class:`SettledKeySource` — optional, lets a validated-token cache skip asking an in-process
  store (see :mod:`.base`); :class:`NonBlockingKeySource` — optional, lets ``avalidate()`` ask a
  sync source on the event loop when no I/O is needed;
* :class:`MemoryKeyStore` — one process; :class:`FileKeyStore` — a key directory shared by the
  workers of one machine; :class:`RedisKeyStore` — a key set shared by every replica.

Remote key sets (an issuer's JWKS) are in :mod:`tokensmith.jwks`. Every name is imported on
first use; ``redis`` only when a Redis client is made.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import AsyncKeySource as AsyncKeySource
    from .base import KeySource as KeySource
    from .base import KeyStore as KeyStore
    from .base import NonBlockingKeySource as NonBlockingKeySource
    from .base import SettledKeySource as SettledKeySource
    from .base import trusted_settled_keyset as trusted_settled_keyset
    from .file import FileKeyStore as FileKeyStore
    from .memory import MemoryKeyStore as MemoryKeyStore
    from .redis import RedisKeyStore as RedisKeyStore

_LAZY = {
    "AsyncKeySource": ".base",
    "KeySource": ".base",
    "KeyStore": ".base",
    "NonBlockingKeySource": ".base",
    "SettledKeySource": ".base",
    "trusted_settled_keyset": ".base",
    "FileKeyStore": ".file",
    "MemoryKeyStore": ".memory",
    "RedisKeyStore": ".redis",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
