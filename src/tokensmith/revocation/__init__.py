"""Revocation lists: refuse tokens by ``jti``, by subject ("issued before t") or by session."""

from __future__ import annotations

from .base import AsyncRevocationList, RevocationList, revoke_token
from .memory import MemoryRevocationList

__all__ = ["AsyncRevocationList", "MemoryRevocationList", "RevocationList", "revoke_token"]
