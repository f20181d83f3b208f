"""What a successful validation returns: a typed, read-only view of the token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._claims import (
    DEFAULT_SCOPE_CLAIMS,
    FIELDS,
    SCOPE_SETS,
    TokenFields,
    assemble,
    parse_scope_string,
)
from .errors import InvalidClaim

__all__ = ["VerifiedToken", "fingerprint", "parse_scopes"]


def fingerprint(token: str | bytes) -> str:
    """A short, stable, non-reversible name for a token, safe to log (16 hex chars of SHA-256).

    Use it wherever you would be tempted to log the token itself.
    """
    data = token.encode("utf-8", "replace") if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()[:16]


def parse_scopes(
    claims: Mapping[str, Any], names: Iterable[str] = DEFAULT_SCOPE_CLAIMS
) -> frozenset[str]:
    """The scopes granted by the claims ``names`` (default
    :data:`~tokensmith.policy.DEFAULT_SCOPE_CLAIMS`): the union of every one present.

    Each may be a space-separated string (RFC 8693 ``scope``) or an array of strings (``scp``,
    node ``jsonwebtoken``'s ``scopes``). Anything else, ``null`` included, raises
    :class:`~tokensmith.errors.InvalidClaim` naming the claim: a grant of unknown shape refuses
    the token rather than granting nothing or something unintended.
    """
    granted = _NO_SCOPES
    for name in names:
        value = claims.get(name, _ABSENT)
        if value is not _ABSENT:
            scopes = _scopes_of(value, name)
            granted = scopes if not granted else granted | scopes
    return granted


def _scopes_of(value: object, name: str) -> frozenset[str]:
    """The scopes one claim grants (see :func:`parse_scopes`)."""
    if isinstance(value, str):
        return SCOPE_SETS.get(value) or parse_scope_string(value)
    if isinstance(value, list) and all(v.__class__ is str for v in value):
        return frozenset(value)
    raise InvalidClaim(
        f"{name!r} must be a space-separated string or an array of strings", claim=name
    )


_ABSENT: Final = object()
_NO_SCOPES: Final[frozenset[str]] = frozenset()


class VerifiedToken(TokenFields):
    """A token whose signature and claims passed the validator's policy. Read-only.

    ``claims`` and ``header`` are the decoded JSON objects (read-only mappings). Their nested
    arrays and objects are read-only ``list`` and ``dict`` subclasses: they compare, iterate and
    ``json.dumps`` like the JSON they came from, and every mutating method raises
    ``TypeError``, because a cache hit hands the very same objects to the next request (copy
    them, e.g. ``copy.deepcopy(dict(tok.claims))``, to get plain mutable ones). The other
    attributes are typed shortcuts. The raw token is kept only to compute :attr:`fingerprint`
    and is never shown by ``repr()``; a view built by hand without it (``_raw``, as
    :func:`tokensmith.testing.verified_token` does) has no fingerprint.
    """

    __slots__ = ()

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
    _raw: str

    def __new__(
        cls,
        *,
        header: Mapping[str, Any],
        claims: Mapping[str, Any],
        subject: str | None,
        issuer: str | None,
        audience: tuple[str, ...],
        scopes: frozenset[str],
        expires_at: float | None,
        issued_at: float | None,
        not_before: float | None,
        jti: str | None,
        key_id: str,
        algorithm: str,
        _raw: str = "",
    ) -> VerifiedToken:
        return assemble(
            cls,
            header,
            claims,
            subject,
            issuer,
            audience,
            scopes,
            expires_at,
            issued_at,
            not_before,
            jti,
            key_id,
            algorithm,
            _raw,
        )

    def __init__(self, **_fields: object) -> None:
        """Everything was set by ``__new__``; the object is read-only from here on."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("VerifiedToken is read-only")

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError(
            "a VerifiedToken is not picklable or copyable (it holds the raw token); "
            "keep its claims, or validate the token again"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError("VerifiedToken is read-only")

    def __repr__(self) -> str:
        return (
            f"VerifiedToken(subject={self.subject!r}, issuer={self.issuer!r}, "
            f"audience={self.audience!r}, scopes={sorted(self.scopes)!r}, jti={self.jti!r}, "
            f"key_id={self.key_id!r}, expires_at={self.expires_at!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifiedToken):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in FIELDS if n != "_raw")

    __hash__ = None  # type: ignore[assignment]

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
    def fingerprint(self) -> str | None:
        """See :func:`fingerprint`: the loggable name of this token; ``None`` for a view built
        without one (a test double), which has nothing to name."""
        return fingerprint(self._raw) if self._raw else None

    def has_scopes(self, *required: str) -> bool:
        """True when every scope in ``required`` was granted."""
        return self.scopes.issuperset(required)
