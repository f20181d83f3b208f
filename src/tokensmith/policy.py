"""What a :class:`~tokensmith.Validator` accepts: its defaults, the named opt-outs, and the
:class:`ValidationPolicy` its options compile to, once, at construction.

Every option is checked here, so a mistake is a :class:`~tokensmith.errors.ConfigurationError`
when the validator is built, never a surprise on a request. An option that lists values
(``issuer``, ``audience``, ``algorithms``, ``token_types``, ``required_claims``,
``scope_claims``) takes one plain string as that one value, never as its characters:
``algorithms="HS256"`` means ``["HS256"]``. ``scopes`` takes a string as a space-separated
scope list (RFC 6749 §3.3), so ``scopes="orders:read"`` is that one scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, cast

from ._claims import DEFAULT_SCOPE_CLAIMS
from ._frozen import Value
from ._options import flag, integer, one_or_many, seconds
from ._sentinels import NoAudience, Unchecked, UnsafeAnyAudience
from .errors import ConfigurationError
from .keys import SUPPORTED_ALGORITHMS

if TYPE_CHECKING:  # annotations only: building a TypedDict costs import time
    from typing import TypedDict

    from typing_extensions import Unpack

    from .claims import VerifiedToken

    class PolicyFields(TypedDict, total=False):
        """The fields of a :class:`ValidationPolicy`, for :meth:`ValidationPolicy.replace`."""

        issuers: frozenset[str] | None
        audiences: frozenset[str] | None
        algorithms: frozenset[str]
        leeway: float
        max_age: float | None
        required_claims: frozenset[str]
        token_types: frozenset[str | None] | None
        scopes: frozenset[str]
        checks: tuple[ClaimCheck, ...]
        max_token_size: int
        require_exp: bool
        scope_claims: tuple[str, ...]


__all__ = [
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_TOKEN_SIZE",
    "DEFAULT_SCOPE_CLAIMS",
    "DEFAULT_TOKEN_TYPES",
    "MAX_LEEWAY",
    "NO_AUDIENCE",
    "UNCHECKED",
    "UNSAFE_ANY_AUDIENCE",
    "ClaimCheck",
    "ValidationPolicy",
    "normal_token_type",
    "required_scopes",
]

DEFAULT_LEEWAY: Final = 30.0
"""Default clock skew tolerance in seconds for ``exp``, ``nbf`` and ``iat``."""

MAX_LEEWAY: Final = 300.0
"""The largest leeway a policy may configure (five minutes)."""

DEFAULT_MAX_TOKEN_SIZE: Final = 8192
"""Tokens longer than this (characters) are refused before any decoding."""

DEFAULT_TOKEN_TYPES: Final[frozenset[str | None]] = frozenset({None, "jwt", "at+jwt"})
"""``typ`` values accepted by default: none, ``JWT`` and RFC 9068 ``at+jwt`` (case-insensitive).

Anything else (``refresh+jwt``, ``dpop+jwt``, ``secevent+jwt``, client assertions...) is a
different kind of JWT and is refused, so one kind cannot be replayed as another.
"""

UNCHECKED: Final = Unchecked()
"""Pass as ``issuer=`` or ``token_types=`` to opt out of that check, by name (not ``audience=``:
see :data:`NO_AUDIENCE` and :data:`UNSAFE_ANY_AUDIENCE`)."""

NO_AUDIENCE: Final = NoAudience()
"""``audience=NO_AUDIENCE``: this service has no audience; tokens naming any are refused."""

UNSAFE_ANY_AUDIENCE: Final = UnsafeAnyAudience()
"""``audience=UNSAFE_ANY_AUDIENCE``: ignore the value of ``aud`` (RFC 7519 §4.1.3 forbids it
for a resource server; see docs/policy.md)."""

ClaimCheck = Callable[["VerifiedToken"], object]
"""A custom check: raise a :class:`~tokensmith.errors.TokenError` or return ``False`` to refuse."""


class ValidationPolicy(Value):
    """The validation policy of a :class:`~tokensmith.Validator`, checked and compiled once.

    Field meanings are documented on :class:`~tokensmith.Validator`. ``None`` for ``issuers`` /
    ``token_types`` means the check was opted out of with :data:`UNCHECKED`. ``audiences`` is
    the set this service identifies with: empty for :data:`NO_AUDIENCE` (any non-empty ``aud``
    is then foreign), ``None`` for :data:`UNSAFE_ANY_AUDIENCE`.
    """

    _fields = (
        "issuers",
        "audiences",
        "algorithms",
        "leeway",
        "max_age",
        "required_claims",
        "token_types",
        "scopes",
        "checks",
        "max_token_size",
        "require_exp",
        "scope_claims",
    )
    __slots__ = _fields

    issuers: frozenset[str] | None
    audiences: frozenset[str] | None
    algorithms: frozenset[str]
    leeway: float
    max_age: float | None
    required_claims: frozenset[str]
    token_types: frozenset[str | None] | None
    scopes: frozenset[str]
    checks: tuple[ClaimCheck, ...]
    max_token_size: int
    require_exp: bool
    scope_claims: tuple[str, ...]

    def __init__(
        self,
        *,
        issuers: frozenset[str] | None,
        audiences: frozenset[str] | None,
        algorithms: frozenset[str],
        leeway: float,
        max_age: float | None,
        required_claims: frozenset[str],
        token_types: frozenset[str | None] | None,
        scopes: frozenset[str],
        checks: tuple[ClaimCheck, ...],
        max_token_size: int,
        require_exp: bool,
        scope_claims: tuple[str, ...],
    ) -> None:
        set_ = object.__setattr__
        set_(self, "issuers", issuers)
        set_(self, "audiences", audiences)
        set_(self, "algorithms", algorithms)
        set_(self, "leeway", leeway)
        set_(self, "max_age", max_age)
        set_(self, "required_claims", required_claims)
        set_(self, "token_types", token_types)
        set_(self, "scopes", scopes)
        set_(self, "checks", checks)
        set_(self, "max_token_size", max_token_size)
        set_(self, "require_exp", require_exp)
        set_(self, "scope_claims", scope_claims)

    @classmethod
    def from_options(
        cls,
        *,
        issuer: str | Iterable[str] | Unchecked,
        audience: str | Iterable[str] | NoAudience | UnsafeAnyAudience,
        algorithms: str | Iterable[str] | None,
        leeway: float,
        max_age: float | None,
        required_claims: str | Iterable[str],
        token_types: str | Iterable[str | None] | Unchecked,
        scopes: str | Iterable[str],
        checks: Iterable[ClaimCheck],
        max_token_size: int,
        require_exp: bool,
        scope_claims: str | Iterable[str],
    ) -> ValidationPolicy:
        """Check and compile a :class:`~tokensmith.Validator`'s options (same names and
        meanings); a mistake is a :class:`~tokensmith.errors.ConfigurationError` naming it."""
        return cls(
            issuers=_issuers(issuer),
            audiences=_audiences(audience),
            algorithms=_algorithms(algorithms),
            leeway=seconds("leeway", leeway, minimum=0, maximum=MAX_LEEWAY),
            max_age=None if max_age is None else seconds("max_age", max_age, positive=True),
            required_claims=frozenset(_claim_names("required_claims", required_claims)),
            token_types=_token_types(token_types),
            scopes=required_scopes(scopes),
            checks=_checks(checks),
            max_token_size=integer("max_token_size", max_token_size, minimum=64, maximum=1 << 20),
            require_exp=flag("require_exp", require_exp),
            scope_claims=_scope_claims(scope_claims),
        )

    def replace(self, **changes: Unpack[PolicyFields]) -> ValidationPolicy:
        """A copy with some fields changed (the values are taken as already checked)."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return ValidationPolicy(**values)

    def pinned_to(self, issuer: str) -> ValidationPolicy:
        """This policy for a key source pinned to one ``issuer`` (e.g. a
        :class:`~tokensmith.jwks.RemoteJWKS`): its keys verify only that issuer's tokens."""
        if self.issuers is not None and issuer not in self.issuers:
            raise ConfigurationError(
                "the key source is pinned to an issuer this validator does not trust"
            )
        return self.replace(issuers=frozenset({issuer}))


def normal_token_type(typ: str | None) -> str | None:
    """A ``typ`` as compared: case-insensitive, ``application/`` dropped (RFC 7515 §4.1.9)."""
    if typ is None:
        return None
    typ = typ.lower()
    return typ[12:] if typ.startswith("application/") else typ


def required_scopes(value: str | Iterable[str]) -> frozenset[str]:
    """Required scopes: a space-separated scope string (RFC 6749 §3.3) or a collection of
    scopes, each a non-empty string without whitespace."""
    if isinstance(value, str):
        return frozenset(value.split())
    values = one_or_many("scopes", value, item="a scope string", items="scopes")
    if not all(isinstance(v, str) and v and not any(c.isspace() for c in v) for v in values):
        raise ConfigurationError("scopes must be strings without whitespace")
    return frozenset(cast(list[str], values))


# --- the option compilers (one per option that needs more than a number check) ----------------


def _issuers(value: object) -> frozenset[str] | None:
    """``issuer=``: the trusted ``iss`` values, or ``None`` for :data:`UNCHECKED`."""
    if value is UNCHECKED:
        return None
    if value is None:
        raise ConfigurationError(
            "issuer is required; pass issuer=UNCHECKED to opt out of the check explicitly"
        )
    return _strings("issuer", value)


def _audiences(value: object) -> frozenset[str] | None:
    """``audience=``: this service's audiences; empty for NO_AUDIENCE, None for the opt-out."""
    if value is NO_AUDIENCE:
        return frozenset()
    if value is UNSAFE_ANY_AUDIENCE:
        return None
    if value is UNCHECKED:
        raise ConfigurationError(
            "audience=UNCHECKED is not accepted (a token meant for another service would pass): "
            "pass audience=NO_AUDIENCE if this service has no audience (tokens naming any "
            "audience are refused), or audience=UNSAFE_ANY_AUDIENCE to accept tokens meant for "
            "any service (RFC 7519 §4.1.3 forbids it for a resource server)"
        )
    if value is None:
        raise ConfigurationError(
            "audience is required: this service's audience, or NO_AUDIENCE if it has none"
        )
    return _strings("audience", value)


def _strings(name: str, value: object) -> frozenset[str]:
    """A non-empty set of non-empty strings (one string is one value)."""
    values = one_or_many(name, value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigurationError(f"{name} must be a non-empty string or list of strings")
    return frozenset(cast(list[str], values))


def _algorithms(value: object) -> frozenset[str]:
    """``algorithms=``: a non-empty subset of the supported algorithms (never ``none``)."""
    if value is None:
        return SUPPORTED_ALGORITHMS
    algs = one_or_many("algorithms", value, item="an algorithm name", items="algorithm names")
    if not algs:
        raise ConfigurationError("algorithms may not be empty")
    for alg in algs:
        if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
            raise ConfigurationError(
                "algorithms may only name supported algorithms ('none' never is)"
            )
    return frozenset(cast(list[str], algs))


def _claim_names(name: str, value: object) -> list[str]:
    """Claim names in the order given (one string is one name)."""
    values = one_or_many(name, value, item="a claim name", items="claim names")
    if not all(isinstance(v, str) and v for v in values):
        raise ConfigurationError(f"{name} must be a claim name or a collection of claim names")
    return cast(list[str], values)


def _scope_claims(value: object) -> tuple[str, ...]:
    """The claims that grant scopes, in order, once each; the default is kept as the very
    :data:`DEFAULT_SCOPE_CLAIMS` object (the validator recognises it by identity)."""
    names = tuple(dict.fromkeys(_claim_names("scope_claims", value)))
    if not names:
        raise ConfigurationError("scope_claims must name at least one claim")
    return DEFAULT_SCOPE_CLAIMS if names == DEFAULT_SCOPE_CLAIMS else names


def _token_types(value: object) -> frozenset[str | None] | None:
    """``token_types=``: accepted ``typ`` values, normalised; ``None`` in them accepts a token
    without ``typ``; ``None`` as a result means :data:`UNCHECKED`."""
    if value is UNCHECKED:
        return None
    values = one_or_many("token_types", value, item="a typ value", items="typ values or None")
    if not values or not all(v is None or (isinstance(v, str) and v) for v in values):
        raise ConfigurationError("token_types must be a non-empty collection of strings or None")
    return frozenset(normal_token_type(cast(str | None, v)) for v in values)


def _checks(value: object) -> tuple[ClaimCheck, ...]:
    """``checks=``: a collection of callables."""
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
        raise ConfigurationError("checks must be a collection of callables")
    checks = tuple(value)
    if not all(callable(c) for c in checks):
        raise ConfigurationError("checks must be callables")
    return cast(tuple[ClaimCheck, ...], checks)
