"""Key stores: where a key set lives (memory, a directory, Redis) and remote key sources."""

from __future__ import annotations

from .base import AsyncKeySource, KeySource, KeyStore
from .memory import MemoryKeyStore

__all__ = ["AsyncKeySource", "KeySource", "KeyStore", "MemoryKeyStore"]
