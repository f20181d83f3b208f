"""The revocation interface every backend implements, and the rules they share.

Entries are keyed on ``(issuer, jti)``, never on the token string (several encodings of one
signature may exist). Subject and session revocations are *watermarks*: every token of that
subject (session) issued at or before ``before + skew`` is revoked. ``skew`` (default
:data:`~tokensmith.policy.DEFAULT_LEEWAY`, at most :data:`~tokensmith.policy.MAX_LEEWAY`)
covers an issuer whose clock runs ahead: the validator accepts an ``iat`` up to its leeway in
the future, so a token minted just before ``revoke_subject(before=time.time())`` may carry an
``iat`` after ``before``. The price: a token issued within ``skew`` seconds *after* the call (a
fresh login right after "log out everywhere") is revoked too, until the skew has passed.
``iat`` has one-second resolution, so a token issued in the same second as the cutoff counts
as revoked (``iat <= ceil(before + skew)``), and a token without ``iat`` under a watermark is
revoked (fail closed). Every entry carries an ``expires_at`` after which no token it covers can
still validate, so lists never grow without bound.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

from .._options import seconds
from ..claims import VerifiedToken
from ..errors import ConfigurationError
from ..policy import DEFAULT_LEEWAY, MAX_LEEWAY

__all__ = [
    "AsyncRevocationList",
    "NonBlockingRevocationList",
    "RevocationList",
    "covered_by_watermark",
    "revoke_token",
    "watermark",
]


@runtime_checkable
class RevocationList(Protocol):
    """What a validator consults, and what an application calls to revoke.

    Subject and session watermarks cover ``before + skew``: ``skew`` (default the validator's
    ``DEFAULT_LEEWAY``) catches a token minted just before the call by an issuer whose clock
    runs ahead, whose ``iat`` a validator still accepts. The trade-off: a fresh login within
    ``skew`` seconds *after* a "log out everywhere" is refused too, until the skew has passed.
    Pass your validators' ``leeway`` if you changed it; ``skew=0`` only if every issuer shares
    the revoking machine's clock.
    """

    def is_revoked(self, token: VerifiedToken) -> bool:
        """True when the token is revoked by jti, subject watermark or session watermark."""
        ...

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token until ``expires_at`` (its ``exp``; the entry can go after that)."""
        ...

    def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew``.

        ``expires_at`` is when the last such token expires (``before`` + the longest ttl).
        ``skew`` covers issuers whose clock runs ahead of ``before``'s (give your validators'
        ``leeway``); tokens issued within ``skew`` seconds after ``before`` are revoked too
        (see :func:`watermark`).
        """
        ...

    def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token carrying ``sid == session_id`` (issued at or before
        ``before + skew``; by default every token of the session)."""
        ...


@runtime_checkable
class NonBlockingRevocationList(RevocationList, Protocol):
    """Optional, for a sync revocation list that can often answer from memory: the answer
    when no blocking is needed, so :meth:`Validator.avalidate <tokensmith.Validator.avalidate>`
    takes it on the event loop, with no thread hop.

    A sync list without this method is treated as blocking: ``avalidate()`` asks it in a
    worker thread on every call. A list that never blocks declares it with one line in its
    class body: ``is_revoked_nowait = is_revoked``. A subclass overriding ``is_revoked``
    alone is asked in a thread.
    """

    def is_revoked_nowait(self, token: VerifiedToken) -> bool | None:
        """What :meth:`is_revoked` would answer (or raise) if it can answer now without
        blocking; ``None``: it would block, ask :meth:`is_revoked` in a thread. Never blocks."""
        ...


@runtime_checkable
class AsyncRevocationList(Protocol):
    """The async twin of :class:`RevocationList`, for network backends."""

    async def is_revoked(self, token: VerifiedToken) -> bool:
        """True when the token is revoked."""
        ...

    async def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token until ``expires_at``."""
        ...

    async def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew``."""
        ...

    async def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of a session (issued at or before ``before + skew``)."""
        ...


def covered_by_watermark(issued_at: float | None, before: float) -> bool:
    """The watermark rule shared by every backend (see the module docstring)."""
    if issued_at is None:
        return True
    return issued_at <= (before if math.isinf(before) else math.ceil(before))


def watermark(before: object, skew: object = DEFAULT_LEEWAY) -> float:
    """The stored cutoff of a subject or session revocation: ``before + skew``.

    ``before`` is a time in seconds (``math.inf``: every token); ``skew`` is a finite number of
    seconds from 0 to :data:`~tokensmith.policy.MAX_LEEWAY`, the clock lead of an issuer
    that a validator's leeway still accepts. Anything else is a :class:`ConfigurationError`.
    """
    cutoff = seconds("before", before, finite=False)
    return cutoff + seconds("skew", skew, minimum=0, maximum=MAX_LEEWAY)


def revoke_token(revocations: RevocationList, token: VerifiedToken) -> None:
    """Revoke a verified token by its ``(issuer, jti)`` until it would have expired."""
    if token.jti is None:
        raise ConfigurationError("this token has no jti; revoke its subject or session instead")
    expires_at = token.expires_at if token.expires_at is not None else math.inf
    revocations.revoke(token.jti, issuer=token.issuer or "", expires_at=expires_at)


def check_entry(name: str, value: object, expires_at: object) -> None:
    """Argument checks shared by backends: a non-empty id and a real expiry."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    seconds("expires_at", expires_at, finite=False)
