"""How a backend's failure reaches the caller (an outage, 503, never a token refusal), and
whether a sync backend may be called on an event loop.

A key source or revocation list may raise a refusal of the token
(:class:`~tokensmith.errors.TokenError`), an outage
(:class:`~tokensmith.errors.BackendUnavailable`) or a programmer's mistake
(:class:`~tokensmith.errors.ConfigurationError`) through the validator as it is; anything else
is turned into ``BackendUnavailable`` by :func:`backend_failed` and chained. The validator and
the OpenID Connect checks both ask key sources, and both follow this rule.

A sync backend says it can answer without blocking by a ``*_nowait`` twin of its method
(:class:`~tokensmith.stores.NonBlockingKeySource`,
:class:`~tokensmith.revocation.NonBlockingRevocationList`); :func:`nowait_twin` finds it, under
the same rule as :func:`~tokensmith.stores.trusted_settled_keyset`, so a subclass that
overrides the method alone is not answered by its parent's twin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Final

from .errors import BackendUnavailable, ConfigurationError, KeyMaterialError, TokenError

__all__ = ["PASSES_THROUGH", "backend_failed", "defining_class", "nowait_twin"]

PASSES_THROUGH: Final = (TokenError, BackendUnavailable, ConfigurationError)


def backend_failed(what: str, exc: Exception) -> BackendUnavailable:
    """``what`` could not answer: 503, never a refusal (the class name only: messages of user
    code may quote the token's ``kid`` or worse; the original is chained as ``__cause__``)."""
    if isinstance(exc, KeyMaterialError):
        return BackendUnavailable(f"{what} cannot read its keys ({type(exc).__name__})")
    return BackendUnavailable(f"{what} failed with {type(exc).__name__}")


def defining_class(kind: type, name: str) -> type | None:
    """The class of ``kind``'s MRO that defines ``name``."""
    for klass in kind.__mro__:
        if name in klass.__dict__:
            return klass
    return None


def nowait_twin(backend: object, method: str, twin: str) -> Callable[..., Any] | None:
    """``backend``'s non-blocking ``twin`` of ``method``, if it may stand in for it.

    Only when the class providing ``twin`` is the class providing ``method`` or a subclass of
    it (a subclass overriding ``method`` alone changed what the answer is), neither is
    replaced on the instance, and ``twin`` is a plain (not async) callable. ``None``: every
    call of ``method`` may block.
    """
    kind = type(backend)
    answers = defining_class(kind, method)
    settles = defining_class(kind, twin)
    if answers is None or settles is None or not issubclass(settles, answers):
        return None
    replaced = getattr(backend, "__dict__", {})
    if method in replaced or twin in replaced:
        return None
    found = getattr(backend, twin, None)
    if not callable(found) or inspect.iscoroutinefunction(found):
        return None
    return found  # type: ignore[no-any-return]
