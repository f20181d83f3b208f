"""What a successful validation returns: a typed, read-only view of the token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .errors import InvalidClaim

__all__ = ["DEFAULT_SCOPE_CLAIMS", "VerifiedToken", "fingerprint", "parse_scopes"]

DEFAULT_SCOPE_CLAIMS: Final[tuple[str, ...]] = ("scope", "scp")
"""The claims that grant scopes unless a validator names others: RFC 8693/9068 ``scope`` and
the ``scp`` many identity providers use."""


def fingerprint(token: str | bytes) -> str:
    """A short, stable, non-reversible name for a token, safe to log (16 hex chars of SHA-256).

    Use it wherever you would be tempted to log the token itself.
    """
    data = token.encode("utf-8", "replace") if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()[:16]


def parse_scopes(
    claims: Mapping[str, Any], names: Iterable[str] = DEFAULT_SCOPE_CLAIMS
) -> frozenset[str]:
    """The scopes granted by the claims ``names``: the union of every one present.

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
        return _SCOPE_SETS.get(value) or _parse_scope_string(value)
    if isinstance(value, list) and all(v.__class__ is str for v in value):
        return frozenset(value)
    raise InvalidClaim(
        f"{name!r} must be a space-separated string or an array of strings", claim=name
    )


# NumericDates accepted: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the instants a datetime
# holds. RFC 7519 §2 allows any JSON number, negative ones included (dates before 1970); beyond
# these no real token lives, and Python ints that large would not convert to float.
_MIN_NUMERIC_DATE: Final = -62135596800
_MAX_NUMERIC_DATE: Final = 253402300799


def _numeric_date(value: object, name: str) -> float:
    """A NumericDate must be a finite JSON number (not a boolean, not null) between years 1 and
    9999; negative values are dates before 1970 (RFC 7519 §2)."""
    if value.__class__ is not int and value.__class__ is not float:
        raise InvalidClaim(f"{name!r} must be a number of seconds", claim=name)
    if not _MIN_NUMERIC_DATE <= value <= _MAX_NUMERIC_DATE:  # NaN fails both comparisons
        raise InvalidClaim(f"{name!r} is out of range (years 1 to 9999)", claim=name)
    return float(value)


_ABSENT: Final = object()
_NO_SCOPES: Final[frozenset[str]] = frozenset()
_SCOPE_SETS: dict[str, frozenset[str]] = {}
_SCOPE_SETS_MAX: Final = 256
_SCOPE_STRING_MAX: Final = 1024


def _parse_scope_string(scope: str) -> frozenset[str]:
    """Parse a ``scope`` string; the few distinct strings a service sees are remembered
    (bounded: the table is emptied when full, and long strings are never kept)."""
    scopes = frozenset(scope.split())
    if len(scope) <= _SCOPE_STRING_MAX:
        if len(_SCOPE_SETS) >= _SCOPE_SETS_MAX:
            _SCOPE_SETS.clear()
        _SCOPE_SETS[scope] = scopes
    return scopes


_FIELDS: Final = (
    "header",
    "claims",
    "subject",
    "issuer",
    "audience",
    "scopes",
    "expires_at",
    "issued_at",
    "not_before",
    "jti",
    "key_id",
    "algorithm",
    "_raw",
)


class _Storage:
    """The slots of :class:`VerifiedToken`, writable: an instance lives only inside
    :func:`_verified`, which fills it with plain attribute stores (the fastest way CPython
    fills slots) and then turns it into the read-only class before anyone sees it."""

    __slots__ = _FIELDS

    def __init__(
        self,
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
        raw: str,
    ) -> None:
        self.header = header
        self.claims = claims
        self.subject = subject
        self.issuer = issuer
        self.audience = audience
        self.scopes = scopes
        self.expires_at = expires_at
        self.issued_at = issued_at
        self.not_before = not_before
        self.jti = jti
        self.key_id = key_id
        self.algorithm = algorithm
        self._raw = raw


class VerifiedToken(_Storage):
    """A token whose signature and claims passed the validator's policy. Read-only.

    ``claims`` and ``header`` are the decoded JSON objects (read-only mappings). Their nested
    arrays and objects are read-only ``list`` and ``dict`` subclasses: they compare, iterate and
    ``json.dumps`` like the JSON they came from, and every mutating method raises
    ``TypeError``, because a cache hit hands the very same objects to the next request (copy
    them, e.g. ``copy.deepcopy(dict(tok.claims))``, to get plain mutable ones). The other
    attributes are typed shortcuts. The raw token is kept only to compute :attr:`fingerprint`
    and is never shown by ``repr()``.
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
        token = _verified(
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
        if cls is not VerifiedToken:
            token.__class__ = cls
        return token

    def __init__(self, **_fields: Any) -> None:
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
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS if n != "_raw")

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
    def fingerprint(self) -> str:
        """See :func:`fingerprint`: the loggable name of this token."""
        return fingerprint(self._raw)

    def has_scopes(self, *required: str) -> bool:
        """True when every scope in ``required`` was granted."""
        return self.scopes.issuperset(required)


def _verified(*fields: Any) -> VerifiedToken:
    """Build a :class:`VerifiedToken` from the thirteen fields in slot order (the validator's
    constructor: no keyword parsing).

    Filled as the writable storage class, then re-classed: the same layout, so CPython allows
    it, and it costs less than half of setting thirteen read-only slots through descriptors.
    """
    token = _Storage(*fields)
    token.__class__ = VerifiedToken
    return token  # type: ignore[return-value]
