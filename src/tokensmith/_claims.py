"""How a verified token is held, and the claim-value rules the validator, :mod:`tokensmith.claims`
and the OpenID Connect checks share: NumericDates (RFC 7519 §2) and scope strings.

:class:`TokenFields` are the slots of :class:`~tokensmith.VerifiedToken`; :func:`assemble` is
the validator's constructor for it (positional, no keyword parsing: the hot path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .errors import InvalidClaim

__all__ = [
    "DEFAULT_SCOPE_CLAIMS",
    "FIELDS",
    "MAX_NUMERIC_DATE",
    "MIN_NUMERIC_DATE",
    "SCOPE_SETS",
    "SCOPE_SETS_MAX",
    "SCOPE_STRING_MAX",
    "TokenFields",
    "assemble",
    "numeric_date",
    "parse_scope_string",
]

if TYPE_CHECKING:  # annotations only
    from typing import TypeVar

    T = TypeVar("T", bound="TokenFields")

# NumericDates accepted: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the instants a datetime
# holds. RFC 7519 §2 allows any JSON number, negative ones included (dates before 1970); beyond
# these no real token lives, and Python ints that large would not convert to float.
MIN_NUMERIC_DATE: Final = -62135596800
MAX_NUMERIC_DATE: Final = 253402300799


def numeric_date(value: object, name: str) -> float:
    """A NumericDate must be a finite JSON number (not a boolean, not null) between years 1 and
    9999; negative values are dates before 1970 (RFC 7519 §2)."""
    if value.__class__ is not int and value.__class__ is not float:
        raise InvalidClaim(f"{name!r} must be a number of seconds", claim=name)
    if not MIN_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE:  # NaN fails both comparisons
        raise InvalidClaim(f"{name!r} is out of range (years 1 to 9999)", claim=name)
    return float(value)


DEFAULT_SCOPE_CLAIMS: Final[tuple[str, ...]] = ("scope", "scp")
"""The claims that grant scopes unless a validator names others: RFC 8693/9068 ``scope`` and
the ``scp`` many identity providers use. Public as :data:`tokensmith.policy.DEFAULT_SCOPE_CLAIMS`;
it lives here, below both, because :func:`tokensmith.claims.parse_scopes` reads it too."""

SCOPE_SETS: dict[str, frozenset[str]] = {}
SCOPE_SETS_MAX: Final = 256
SCOPE_STRING_MAX: Final = 1024


def parse_scope_string(scope: str) -> frozenset[str]:
    """Parse a ``scope`` string; the few distinct strings a service sees are remembered
    (bounded: the table is emptied when full, and long strings are never kept)."""
    scopes = frozenset(scope.split())
    if len(scope) <= SCOPE_STRING_MAX:
        if len(SCOPE_SETS) >= SCOPE_SETS_MAX:
            SCOPE_SETS.clear()
        SCOPE_SETS[scope] = scopes
    return scopes


FIELDS: Final = (
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


class TokenFields:
    """The slots of :class:`~tokensmith.VerifiedToken`, writable: an instance lives only inside
    :func:`assemble`, which fills it with plain attribute stores (the fastest way CPython
    fills slots) and then turns it into the read-only class before anyone sees it."""

    __slots__ = FIELDS

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


def assemble(kind: type[T], *fields: Any) -> T:
    """Build a ``kind`` (:class:`~tokensmith.VerifiedToken` or a subclass) from the thirteen
    fields in slot order (the validator's constructor: no keyword parsing).

    Filled as the writable storage class, then re-classed: the same layout, so CPython allows
    it, and it costs less than half of setting thirteen read-only slots through descriptors.
    """
    token = TokenFields(*fields)
    token.__class__ = kind
    return token  # type: ignore[return-value]
