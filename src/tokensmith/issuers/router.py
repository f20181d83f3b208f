"""A validator for many issuers: route on the unverified ``iss``, verify with that issuer only.

A key source that merges several issuers' keys is the obvious way to trust two tenants, and it
is unsafe: the merged source hands tenant A's key to a token that claims tenant B as its
issuer, the signature verifies, and the ``iss`` check passes because B is trusted. A key of one
issuer must never vouch for another.

:class:`MultiIssuerValidator` makes that impossible by construction. It reads the token's
``iss`` without trusting it (:func:`~tokensmith.issuers.unverified_issuer`, with the
validator's own strict parsing) only to choose a :class:`~tokensmith.Validator`; each of those
is pinned to exactly one issuer (its policy trusts that ``iss`` and nothing else) and holds that
issuer's keys only. The token is then verified by that validator alone, so the verified
``iss`` is the one the route was chosen for, and a token claiming B is checked against B's keys
and nobody else's. An ``iss`` changed after routing breaks the signature.

Issuers come from a static map, an allow-list set up on first use, or tenant templates
(:class:`~tokensmith.issuers.IssuerTemplate`); a factory (``keys_for``) builds the key source
of an issuer set up on first use, e.g. a :class:`~tokensmith.jwks.RemoteJWKS` or a
:class:`~tokensmith.issuers.DiscoveredJWKS`. The issuers set
up on demand are bounded, budgeted and their failures remembered (see
:class:`~tokensmith.issuers.MultiIssuerValidator`). Both faces share the routing core; the
per-issuer validators do the rest, so the audit sink, cache and revocation list work as they
do for one :class:`~tokensmith.Validator`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict

from .._backends import PASSES_THROUGH, backend_failed
from .._options import integer, known, one_or_many, seconds
from ..errors import (
    BackendUnavailable,
    ConfigurationError,
    InvalidIssuer,
    JWKSFetchError,
    TokenError,
    TokensmithError,
)
from ..policy import DEFAULT_MAX_TOKEN_SIZE, NO_AUDIENCE, UNCHECKED
from ..validator import Validator
from ._table import IssuerTable, Route
from .template import IssuerTemplate
from .unverified import unverified_issuer

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._sentinels import NoAudience, Unchecked, UnsafeAnyAudience
    from ..claims import VerifiedToken
    from ..confirmation import Confirmation
    from ..keys import Key
    from ..observability.audit import AuditSink
    from ..policy import ClaimCheck
    from ..revocation.base import AsyncRevocationList, RevocationList
    from ..stores.base import AsyncKeySource, KeySource

    IssuerSource = KeySource | AsyncKeySource | Validator

__all__ = [
    "DEFAULT_MAX_ISSUERS",
    "DEFAULT_NEW_ISSUERS",
    "DEFAULT_NEW_ISSUERS_WINDOW",
    "DEFAULT_RETRY_FAILED_AFTER",
    "IssuerOptions",
    "MultiIssuerValidator",
]

DEFAULT_MAX_ISSUERS: Final = 1000
"""How many issuers set up on first use are kept at most."""
DEFAULT_NEW_ISSUERS: Final = 100
"""How many issuers may be set up per :data:`DEFAULT_NEW_ISSUERS_WINDOW` seconds."""
DEFAULT_NEW_ISSUERS_WINDOW: Final = 60.0
"""The sliding window, in seconds, of the set-up budget."""
DEFAULT_RETRY_FAILED_AFTER: Final = 60.0
"""How long an issuer whose first fetch failed is refused without another fetch, in seconds."""


class IssuerOptions(TypedDict, total=False):
    """The :class:`~tokensmith.Validator` options every issuer's validator is built with
    (same names and meanings); ``audience`` is required unless every issuer is given as a
    ready :class:`~tokensmith.Validator`."""

    audience: str | Iterable[str] | NoAudience | UnsafeAnyAudience
    algorithms: str | Iterable[str] | None
    leeway: float
    max_age: float | None
    required_claims: str | Iterable[str]
    token_types: str | Iterable[str | None] | Unchecked
    scopes: str | Iterable[str]
    checks: Iterable[ClaimCheck]
    revocation: RevocationList | AsyncRevocationList | None
    max_token_size: int
    require_exp: bool
    audit: AuditSink | None
    scope_claims: str | Iterable[str]


class MultiIssuerValidator:
    """Validates tokens from several issuers, each with its own keys and policy.

    Each issuer has its own :class:`~tokensmith.Validator`, pinned to exactly that issuer; the
    token's unverified ``iss`` only chooses which one verifies it (the module's docstring says
    why this is the safe shape). An ``iss`` that no issuer source admits is
    :class:`~tokensmith.errors.InvalidIssuer` before any key is looked at.

    :param issuers: the static map: issuer -> its key source (the validator is built with
        ``options``) or a ready :class:`~tokensmith.Validator` that trusts exactly that issuer
        (for its own audience, algorithms, scopes...). Kept for the validator's lifetime.
    :param allow: issuers set up on first use with ``keys_for`` (a bounded allow-list; one
        listed here is set up as listed, even if a template also fits it).
    :param templates: tenant templates (each an :class:`~tokensmith.issuers.IssuerTemplate`
        or a template string): every tenant issuer they fit is set up on first use with
        ``keys_for``, and its tokens must carry the template's tenant claim equal to the
        tenant in their ``iss``.
    :param keys_for: builds the key source of an issuer set up on first use (or a
        :class:`~tokensmith.Validator` pinned to it). Called once per set-up, one set-up at a
        time, so it must not do I/O: a :class:`~tokensmith.jwks.RemoteJWKS` or a
        :class:`~tokensmith.issuers.DiscoveredJWKS` fetches at its first lookup, not when
        built (never call :func:`~tokensmith.jwks.discover` here). An issuer dropped from
        the table is simply forgotten, so build sources that hold nothing but memory (no
        ``background_refresh``). Required with ``allow`` or ``templates``.
    :param max_issuers: how many issuers set up on first use are kept; the least recently
        used issuer that never verified a token is dropped first.
    :param new_issuers: how many issuers may be set up per ``new_issuers_window`` seconds;
        past it a new issuer is :class:`~tokensmith.errors.BackendUnavailable` (503), so a
        flood of made-up issuers starts a bounded number of fetches.
    :param new_issuers_window: the budget's sliding window, in seconds.
    :param retry_failed_after: an issuer set up on first use whose keys could not be fetched
        (:class:`~tokensmith.errors.JWKSFetchError`, or ``keys_for`` failed) before it verified
        any token is dropped and refused (503, no fetch) for this long.
    :param cache_size: give each issuer's validator a
        :class:`~tokensmith.cache.ValidatedTokenCache` of this size (a cache belongs to one
        validator), and remember the claimed issuer of up to this many token strings, so a
        cache hit skips the routing's JSON parse too; ``None`` for no cache.
    :param clock: returns the current time in seconds (injected for tests); every issuer's
        validator built here uses it.
    :param options: :class:`IssuerOptions`, the per-issuer :class:`~tokensmith.Validator`
        options (``audience``, ``algorithms``, ``revocation``, ``audit``...). ``audit``
        also receives this validator's own refusals (unknown issuer, malformed token).
    """

    __slots__ = (
        "_allow",
        "_audit",
        "_cache_size",
        "_clock",
        "_keys_for",
        "_max_token_size",
        "_options",
        "_read",
        "_static",
        "_table",
        "_templates",
    )

    def __init__(
        self,
        issuers: Mapping[str, IssuerSource] | None = None,
        *,
        allow: str | Iterable[str] = (),
        templates: str | IssuerTemplate | Iterable[str | IssuerTemplate] = (),
        keys_for: Callable[[str], IssuerSource] | None = None,
        max_issuers: int = DEFAULT_MAX_ISSUERS,
        new_issuers: int = DEFAULT_NEW_ISSUERS,
        new_issuers_window: float = DEFAULT_NEW_ISSUERS_WINDOW,
        retry_failed_after: float = DEFAULT_RETRY_FAILED_AFTER,
        cache_size: int | None = None,
        clock: Callable[[], float] = time.time,
        **options: Unpack[IssuerOptions],
    ) -> None:
        known(
            "MultiIssuerValidator",
            options,
            IssuerOptions.__required_keys__ | IssuerOptions.__optional_keys__,
        )
        if not callable(clock):
            raise ConfigurationError("clock must be callable")
        self._clock = clock
        self._cache_size = (
            None if cache_size is None else integer("cache_size", cache_size, minimum=1)
        )
        # With a cache, the issuer a token string claims is remembered too (a pure function of
        # the string), so a cache hit is not preceded by a JSON parse; cleared when full.
        self._read: dict[str, str] | None = None if cache_size is None else {}
        if "checks" in options:
            options["checks"] = tuple(options["checks"])  # an iterator is read once, here
        self._options = options
        self._max_token_size = options.get("max_token_size", DEFAULT_MAX_TOKEN_SIZE)
        self._audit = options.get("audit")
        self._allow = frozenset(_strings("allow", allow))
        self._templates = tuple(_templates(templates))
        if (self._allow or self._templates) and not callable(keys_for):
            raise ConfigurationError("keys_for is required to set issuers up on first use")
        self._keys_for = keys_for
        self._table = IssuerTable(
            max_issuers=integer("max_issuers", max_issuers, minimum=1),
            budget=integer("new_issuers", new_issuers, minimum=1),
            window=seconds("new_issuers_window", new_issuers_window, positive=True),
            retry_after=seconds("retry_failed_after", retry_failed_after, minimum=0),
        )
        if issuers is not None and not isinstance(issuers, Mapping):
            raise ConfigurationError("issuers must map each issuer to its keys or Validator")
        static = dict(issuers or {})
        self._check_options(
            needs_audience=bool(self._allow or self._templates)
            or not all(isinstance(s, Validator) for s in static.values())
        )
        self._static = {
            issuer: Route(issuer, self._validator(issuer, source, None), lazy=False)
            for issuer, source in static.items()
        }
        if not (self._static or self._allow or self._templates):
            raise ConfigurationError("a MultiIssuerValidator needs at least one issuer source")

    def __repr__(self) -> str:
        return (
            f"MultiIssuerValidator(issuers={sorted(self._static)!r}, "
            f"allow={len(self._allow)}, templates={[t.template for t in self._templates]!r})"
        )

    @property
    def issuers(self) -> tuple[str, ...]:
        """The issuers that have a validator now: the static ones, then those set up on
        first use (the ones that verified a token first)."""
        return (*self._static, *self._table.issuers())

    @property
    def setups(self) -> int:
        """How many issuers were set up on first use so far (each may have fetched keys)."""
        return self._table.setups

    # --- the two faces: route (the shared core), then the issuer's own validator --------------

    def validate(
        self,
        token: str | bytes,
        *,
        scopes: Iterable[str] = (),
        confirmation: Confirmation | None = None,
    ) -> VerifiedToken:
        """Validate ``token`` with its issuer's validator (see
        :meth:`tokensmith.Validator.validate`: ``confirmation`` is what this request proved
        for a sender-constrained token), or raise why it was refused."""
        route = self._route(token)
        try:
            verified = route.validator.validate(token, scopes=scopes, confirmation=confirmation)
        except JWKSFetchError:  # its keys (or metadata) could not be fetched, not its revocations
            self._table.failed(route, self._clock())
            raise
        return self._verified(route, verified)

    async def avalidate(
        self,
        token: str | bytes,
        *,
        scopes: Iterable[str] = (),
        confirmation: Confirmation | None = None,
    ) -> VerifiedToken:
        """The async twin of :meth:`validate`: the same routing, then the issuer's validator's
        :meth:`~tokensmith.Validator.avalidate`."""
        route = self._route(token)
        try:
            verified = await route.validator.avalidate(
                token, scopes=scopes, confirmation=confirmation
            )
        except JWKSFetchError:  # its keys (or metadata) could not be fetched, not its revocations
            self._table.failed(route, self._clock())
            raise
        return self._verified(route, verified)

    # --- the core ------------------------------------------------------------------------------

    def _route(self, token: str | bytes) -> Route:
        """The route of the token's claimed issuer; every refusal is audited like a
        validator's."""
        try:
            read = self._read
            issuer = None if read is None or type(token) is not str else read.get(token)
            if issuer is None:
                issuer = unverified_issuer(token, max_token_size=self._max_token_size)
                if read is not None and type(token) is str:
                    if len(read) >= (self._cache_size or 0):
                        read.clear()
                    read[token] = issuer
            route = self._static.get(issuer) or self._table.get(issuer)
            if route is not None:
                return route
            tenant = self._admitted(issuer)
            return self._table.setup(
                issuer, self._clock(), lambda: self._lazy_route(issuer, tenant)
            )
        except TokensmithError as exc:
            if self._audit is not None and isinstance(exc, TokenError | BackendUnavailable):
                _audit_refused(self._audit, exc, token, self._clock())
            raise

    def _admitted(self, issuer: str) -> tuple[IssuerTemplate, str] | None:
        """Whether ``issuer`` may be set up: ``None`` for the allow-list, the template and
        tenant it fits, or :class:`InvalidIssuer`."""
        if issuer in self._allow:
            return None
        for template in self._templates:
            tenant = template.tenant(issuer)
            if tenant is not None:
                return template, tenant
        raise InvalidIssuer("the token's issuer is not trusted", claim="iss")

    def _lazy_route(self, issuer: str, tenant: tuple[IssuerTemplate, str] | None) -> Route:
        keys_for = self._keys_for
        assert keys_for is not None  # checked at construction: allow/templates need it
        try:
            source = keys_for(issuer)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            raise backend_failed("keys_for", exc) from exc
        return Route(issuer, self._validator(issuer, source, tenant), lazy=True)

    def _validator(
        self, issuer: str, source: IssuerSource, tenant: tuple[IssuerTemplate, str] | None
    ) -> Validator:
        """The validator pinned to ``issuer``: a given one must trust exactly it."""
        if isinstance(source, Validator):
            if source.policy.issuers != frozenset({issuer}):
                raise ConfigurationError(
                    f"the Validator given for {issuer!r} must trust exactly that issuer"
                )
            if tenant is not None and tenant[0].claim is not None:
                raise ConfigurationError(
                    "for a template, keys_for returns a key source (the tenant check is added)"
                )
            return source
        options: dict[str, Any] = dict(self._options)
        check = None if tenant is None else tenant[0].tenant_check(tenant[1])
        if check is not None:
            options["checks"] = (*options.get("checks", ()), check)
        if self._cache_size is not None:
            from ..cache import ValidatedTokenCache  # noqa: PLC0415 - only when asked for

            options["cache"] = ValidatedTokenCache(self._cache_size)
        return Validator(source, issuer=issuer, clock=self._clock, **options)

    def _check_options(self, *, needs_audience: bool) -> None:
        """The shared options are checked once, now, not at the first token of an issuer
        (``max_token_size`` and ``audit`` serve the routing even when every issuer is a
        ready validator)."""
        options = self._options
        if "audience" not in options:
            if needs_audience:
                raise ConfigurationError(
                    "audience is required unless every issuer is given as a Validator"
                )
            options = {**options, "audience": NO_AUDIENCE}
        Validator(_NoKeys(), issuer=UNCHECKED, clock=self._clock, **options)

    def _verified(self, route: Route, verified: VerifiedToken) -> VerifiedToken:
        """Defence in depth (the route's validator trusts no other issuer), then the table
        learns that the issuer works."""
        if verified.issuer != route.issuer:
            raise InvalidIssuer("the token's issuer is not the one it was routed to", claim="iss")
        if not route.proven:
            self._table.proven(route)
        return verified


class _NoKeys:
    """A key source for checking options only: it is never asked."""

    def verification_key(self, kid: str | None, alg: str) -> Key:  # pragma: no cover
        raise ConfigurationError("not a key source")


def _strings(name: str, value: str | Iterable[str]) -> tuple[str, ...]:
    values = one_or_many(name, value, item="an issuer", items="issuers")
    strings = tuple(v for v in values if isinstance(v, str) and v)
    if len(strings) != len(values):
        raise ConfigurationError(f"{name} must list non-empty issuer strings")
    return strings


def _templates(
    value: str | IssuerTemplate | Iterable[str | IssuerTemplate],
) -> list[IssuerTemplate]:
    if isinstance(value, str | IssuerTemplate):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ConfigurationError("templates must be IssuerTemplates or template strings")
    return [t if isinstance(t, IssuerTemplate) else IssuerTemplate(t) for t in value]


def _audit_refused(audit: AuditSink, exc: TokensmithError, token: object, at: float) -> None:
    from ..observability.audit import emit, refused_event  # noqa: PLC0415 - only with a sink

    emit(audit, refused_event(exc, token, at))
