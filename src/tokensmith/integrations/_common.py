"""What every adapter checks the same way when it is configured."""

from __future__ import annotations

from ..errors import ConfigurationError
from ..web.guard import Guard

__all__ = ["checked_guard"]


def checked_guard(guard: object) -> Guard:
    """``guard``, once it is known to be a :class:`~tokensmith.web.Guard`: a validator passed
    by mistake fails at start-up, not at the first request."""
    if not isinstance(guard, Guard):
        raise ConfigurationError(
            f"expected a tokensmith.web.Guard, got {type(guard).__name__}: "
            "wrap your validator, Guard(validator, realm=...)"
        )
    return guard
