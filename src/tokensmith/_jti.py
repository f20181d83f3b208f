"""Token ids (``jti``): 144 bits from the operating system, fetched 64 ids at a time.

One ``os.urandom`` call per token costs a system call (0.5-1 µs, 5-10 % of an HS256
``issue()``); drawing 64 ids' worth at once and handing them out one by one costs a list
``pop``. The ids are the operating system's random bytes, unchanged. Two rules keep each one
handed out once:

* threads share one list, and ``list.pop`` removes an element atomically (under the GIL, and
  under the per-object lock of free-threaded builds), so no two callers get the same id;
* a forked child empties its copy of the list before any Python code runs in it
  (``os.register_at_fork``, as the stdlib ``random`` module reseeds), so parent and child
  never hand out the same buffered id.
"""

from __future__ import annotations

import binascii
import os
from typing import Final

__all__ = ["new_jti"]

_ID_BYTES: Final = 18  # 144 bits: 24 base64url characters, a multiple of 3 bytes (no padding)
_ID_CHARS: Final = 24
_BATCH: Final = 64
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")

_pool: list[str] = []


def new_jti() -> str:
    """A fresh, unguessable token id: 24 base64url characters (144 random bits)."""
    try:
        return _pool.pop()
    except IndexError:
        return _refill()


def _refill() -> str:
    """Fetch a batch from the OS; return one id and pool the rest."""
    text = binascii.b2a_base64(os.urandom(_ID_BYTES * _BATCH), newline=False)
    ids = text.translate(_URLSAFE).decode("ascii")
    batch = [ids[i : i + _ID_CHARS] for i in range(0, len(ids), _ID_CHARS)]
    first = batch.pop()
    _pool.extend(batch)
    return first


def _forget_in_child() -> None:
    """After ``fork()``: the child's copy of the pool is the parent's future ids; drop it."""
    _pool.clear()


if hasattr(os, "register_at_fork"):  # no fork() on Windows, nothing to guard
    os.register_at_fork(after_in_child=_forget_in_child)
