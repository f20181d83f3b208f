"""Revocation lists: refuse tokens by ``jti``, by subject ("issued before t") or by session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AsyncRevocationList, RevocationList, revoke_token

if TYPE_CHECKING:
    from .memory import MemoryRevocationList

__all__ = ["AsyncRevocationList", "MemoryRevocationList", "RevocationList", "revoke_token"]


def __getattr__(name: str) -> Any:
    """``MemoryRevocationList`` is imported on first use (``import tokensmith`` stays cheap)."""
    if name == "MemoryRevocationList":
        from .memory import MemoryRevocationList  # noqa: PLC0415

        return MemoryRevocationList
    raise AttributeError(f"module 'tokensmith.revocation' has no attribute {name!r}")
