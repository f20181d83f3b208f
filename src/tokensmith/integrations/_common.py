"""What every adapter checks the same way when it is configured."""

from __future__ import annotations

from ..errors import ConfigurationError
from ..web.guard import Guard

__all__ = ["checked_guard", "sync_guard"]


def checked_guard(guard: object) -> Guard:
    """``guard``, once it is known to be a :class:`~tokensmith.web.Guard`: a validator passed
    by mistake fails at start-up, not at the first request."""
    if not isinstance(guard, Guard):
        raise ConfigurationError(
            f"expected a tokensmith.web.Guard, got {type(guard).__name__}: "
            "wrap your validator, Guard(validator, realm=...)"
        )
    return guard


def sync_guard(guard: object) -> Guard:
    """:func:`checked_guard` for an adapter that can only call ``validate()`` (WSGI): a
    validator whose backends are async fails here, at start-up, not on every request."""
    checked = checked_guard(guard)
    if getattr(checked.validator, "requires_async", False) is True:
        raise ConfigurationError(
            "this guard's validator has async backends, and a WSGI app cannot await them: "
            "build the validator on their sync twins (RemoteJWKS, RedisRevocationList), or "
            "serve the app through an ASGI adapter (see docs/sync-or-async.md)"
        )
    return checked
