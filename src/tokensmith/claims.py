"""What a successful validation returns: a typed, read-only view of the token."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["VerifiedToken", "fingerprint", "parse_scopes"]


def fingerprint(token: str | bytes) -> str:
    """A short, stable, non-reversible name for a token, safe to log (16 hex chars of SHA-256).

    Use it wherever you would be tempted to log the token itself.
    """
    data = token.encode("utf-8", "replace") if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()[:16]


def parse_scopes(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """Scopes from the RFC 8693/9068 ``scope`` string and/or an ``scp`` list (or string).

    Returns ``None`` when a present claim has the wrong shape (the caller refuses the token).
    """
    scopes: set[str] = set()
    scope = claims.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            return None
        scopes.update(scope.split())
    scp = claims.get("scp")
    if scp is not None:
        if isinstance(scp, str):
            scopes.update(scp.split())
        elif isinstance(scp, list) and all(isinstance(s, str) for s in scp):
            scopes.update(scp)
        else:
            return None
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and claims passed the validator's policy.

    ``claims`` and ``header`` are the decoded JSON objects; the other fields are typed
    shortcuts. The raw token is kept only to compute :attr:`fingerprint` and is never shown by
    ``repr()``.
    """

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    subject: str | None
    issuer: str | None
    audience: tuple[str, ...]
    scopes: frozenset[str]
    expires_at: float | None
    issued_at: float | None
    not_before: float | None
    jti: str | None
    key_id: str
    algorithm: str
    _raw: str = field(repr=False, compare=False)

    @property
    def session_id(self) -> str | None:
        """The ``sid`` claim (OpenID session), used by session revocation."""
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) else None

    @property
    def client_id(self) -> str | None:
        """The ``client_id`` claim (RFC 9068), or ``azp`` when that is absent."""
        for name in ("client_id", "azp"):
            value = self.claims.get(name)
            if isinstance(value, str):
                return value
        return None

    @property
    def token_type(self) -> str | None:
        """The ``typ`` header, if any."""
        typ = self.header.get("typ")
        return typ if isinstance(typ, str) else None

    @property
    def fingerprint(self) -> str:
        """See :func:`fingerprint`: the loggable name of this token."""
        return fingerprint(self._raw)

    def has_scopes(self, *required: str) -> bool:
        """True when every scope in ``required`` was granted."""
        return self.scopes.issuperset(required)
