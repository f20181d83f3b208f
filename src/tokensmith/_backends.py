"""How a backend's failure reaches the caller: an outage (503), never a token refusal.

A key source or revocation list may raise a refusal of the token
(:class:`~tokensmith.errors.TokenError`), an outage
(:class:`~tokensmith.errors.BackendUnavailable`) or a programmer's mistake
(:class:`~tokensmith.errors.ConfigurationError`) through the validator as it is; anything else
is turned into ``BackendUnavailable`` by :func:`backend_failed` and chained. The validator and
the OpenID Connect checks both ask key sources, and both follow this rule.
"""

from __future__ import annotations

from typing import Final

from .errors import BackendUnavailable, ConfigurationError, KeyMaterialError, TokenError

__all__ = ["PASSES_THROUGH", "backend_failed"]

PASSES_THROUGH: Final = (TokenError, BackendUnavailable, ConfigurationError)


def backend_failed(what: str, exc: Exception) -> BackendUnavailable:
    """``what`` could not answer: 503, never a refusal (the class name only: messages of user
    code may quote the token's ``kid`` or worse; the original is chained as ``__cause__``)."""
    if isinstance(exc, KeyMaterialError):
        return BackendUnavailable(f"{what} cannot read its keys ({type(exc).__name__})")
    return BackendUnavailable(f"{what} failed with {type(exc).__name__}")
