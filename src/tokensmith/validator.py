"""Validate tokens against a policy built once: the hot path of every request.

One core, two faces (in the manner of httpx's ``BaseClient``): everything but I/O, from the
cache prologue through parsing, verification, the claim checklist, the scopes and the audit
events, is the shared, synchronous core; :meth:`Validator.validate` and
:meth:`Validator.avalidate` are the same few steps and differ only by ``await`` on the two
backends, the key source and the revocation list. Every refusal is a
:class:`~tokensmith.errors.TokenError` subclass; an unanswerable backend is
:class:`~tokensmith.errors.BackendUnavailable`. The policy itself is in :mod:`tokensmith.policy`.

``avalidate()`` never blocks the event loop: an async backend is awaited; a sync one is asked
on the loop only through its non-blocking twin (``verification_key_nowait``,
``is_revoked_nowait``: :class:`~tokensmith.stores.NonBlockingKeySource`), and in a worker
thread (``tokensmith._offload``, bounded) whenever that twin says it would block or the backend
has none. ``validate()`` over an async backend is refused with a message naming it.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast, final

from ._b64 import b64url_decode
from ._backends import PASSES_THROUGH, backend_failed, nowait_twin
from ._claims import MAX_NUMERIC_DATE, SCOPE_SETS, assemble, numeric_date, parse_scope_string
from ._frozen import read_only_members
from ._jws import json_object, segment_object
from .claims import VerifiedToken, parse_scopes
from .confirmation import Confirmation, check_confirmation
from .errors import (
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    BackendUnavailable,
    ClaimCheckFailed,
    ConfigurationError,
    ExpiredToken,
    ImmatureToken,
    InsufficientScope,
    InvalidAudience,
    InvalidClaim,
    InvalidEncoding,
    InvalidIssuer,
    InvalidSignature,
    InvalidTokenType,
    IssuedInFuture,
    MalformedToken,
    MissingClaim,
    TokenError,
    TokenRevoked,
    TokensmithError,
    TokenTooLarge,
    TokenTooOld,
    UnknownKey,
    UnsupportedHeader,
)
from .keys import Key
from .policy import (
    DEFAULT_LEEWAY,
    DEFAULT_MAX_TOKEN_SIZE,
    DEFAULT_SCOPE_CLAIMS,
    DEFAULT_TOKEN_TYPES,
    NO_AUDIENCE,
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    ClaimCheck,
    ValidationPolicy,
    normal_token_type,
    required_scopes,
)
from .stores.base import trusted_settled_keyset

if TYPE_CHECKING:
    from ._sentinels import NoAudience, Unchecked, UnsafeAnyAudience
    from .cache import ValidatedTokenCache
    from .keyset import KeySet
    from .observability.audit import AuditSink
    from .revocation.base import AsyncRevocationList, RevocationList
    from .stores.base import AsyncKeySource, KeySource

    Revocations = RevocationList | AsyncRevocationList

__all__ = ["Validator"]

_MAX_KID: Final = 256
_OPEN_ARRAY: Final = 0x5B  # "[" as a byte value: `int in bytes` is one memchr
_OPEN_OBJECT: Final = 0x7B  # "{"
_HEADER_CACHE_SIZE: Final = 512


@final
class _Header:
    """What the core needs from a header that passed its checks (cached by segment)."""

    __slots__ = ("alg", "header", "kid")

    def __init__(self, alg: str, kid: str | None, header: MappingProxyType[str, Any]) -> None:
        self.alg = alg
        self.kid = kid
        self.header = header


# A token split and decoded, not yet verified (a tuple: built on every call, so it must be
# cheap): header, signing input, payload bytes, signature bytes, the token string, and the
# in-process store's settled key set, read before its key was asked for: a cache entry made
# from the answer is trusted only while the store still holds that very set.
_Parsed = tuple[_Header, str, bytes, bytes, str, "KeySet | None"]


class Validator:
    """Validates tokens from one or more trusted issuers for one or more audiences.

    Secure by default: the signature, ``exp``, ``iss`` and ``aud`` are always checked;
    ``issuer=UNCHECKED`` / ``audience=UNSAFE_ANY_AUDIENCE`` / ``require_exp=False`` opt out, by
    name. The options compile once into :attr:`policy`, a
    :class:`~tokensmith.policy.ValidationPolicy` (defaults and named values:
    :mod:`tokensmith.policy`). An option that lists values takes one plain string as that one
    value: ``algorithms="ES256"`` is ``["ES256"]``.

    :param keys: a :class:`~tokensmith.KeySource` (or async one, then use :meth:`avalidate`).
    :param issuer: the trusted ``iss`` (a string or several), or
        :data:`~tokensmith.policy.UNCHECKED`.
    :param audience: this service's ``aud`` (any one must be in the token's), or
        :data:`~tokensmith.policy.NO_AUDIENCE` for a service without one (tokens naming any
        audience are refused), or the dangerous :data:`~tokensmith.policy.UNSAFE_ANY_AUDIENCE`
        (see docs/policy.md).
    :param algorithms: allowed ``alg`` values; default every supported one, and in any case a key
        only verifies the algorithm it is bound to. ``none`` is never allowed.
    :param leeway: clock skew tolerance in seconds (0 to
        :data:`~tokensmith.policy.MAX_LEEWAY`).
    :param max_age: refuse tokens whose ``iat`` is older than this many seconds.
    :param required_claims: claims that must be present (and not ``null``).
    :param token_types: accepted ``typ`` header values (``None`` among them accepts a missing
        ``typ``); default :data:`~tokensmith.policy.DEFAULT_TOKEN_TYPES`.
    :param scopes: scopes every token must carry (a collection, or one space-separated scope
        string); :meth:`validate` can require more per call.
    :param scope_claims: the claims that grant scopes (default
        :data:`~tokensmith.policy.DEFAULT_SCOPE_CLAIMS`, ``scope`` and ``scp``); each may be a
        space-separated string or an array of strings, and the granted scopes are their union
        (e.g. ``("scopes",)`` for node ``jsonwebtoken``).
    :param checks: custom checks run on the :class:`VerifiedToken` after the standard ones.
    :param revocation: a revocation list consulted after every other check passed.
    :param clock: returns the current time in seconds (injected for tests).
    :param max_token_size: longer tokens are refused before decoding.
    :param require_exp: refuse tokens without ``exp`` (default ``True``).
    :param cache: an opt-in :class:`~tokensmith.cache.ValidatedTokenCache`; a hit skips the
        signature check only (see that class for what is re-checked).
    :param audit: an optional :data:`~tokensmith.observability.AuditSink` receiving
        ``token.validated``, ``token.refused`` (with the code) and ``backend.failure`` events;
        ``None`` costs nothing.
    """

    __slots__ = (
        "_async_keys",
        "_async_revocation",
        "_audit",
        "_cache",
        "_clock",
        "_header_cache",
        "_keys",
        "_keys_nowait",
        "_needs_async",
        "_revocation",
        "_revocation_nowait",
        "_settled",
        "policy",
    )

    policy: ValidationPolicy
    """The compiled, frozen :class:`~tokensmith.policy.ValidationPolicy` this validator checks
    every token against, built once from the constructor's options."""

    def __init__(
        self,
        keys: KeySource | AsyncKeySource,
        *,
        issuer: str | Iterable[str] | Unchecked,
        audience: str | Iterable[str] | NoAudience | UnsafeAnyAudience,
        algorithms: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        max_age: float | None = None,
        required_claims: str | Iterable[str] = (),
        token_types: str | Iterable[str | None] | Unchecked = DEFAULT_TOKEN_TYPES,
        scopes: str | Iterable[str] = (),
        checks: Iterable[ClaimCheck] = (),
        revocation: RevocationList | AsyncRevocationList | None = None,
        clock: Callable[[], float] = time.time,
        max_token_size: int = DEFAULT_MAX_TOKEN_SIZE,
        require_exp: bool = True,
        cache: ValidatedTokenCache | None = None,
        audit: AuditSink | None = None,
        scope_claims: str | Iterable[str] = DEFAULT_SCOPE_CLAIMS,
    ) -> None:
        if not callable(getattr(keys, "verification_key", None)):
            raise ConfigurationError("keys must provide verification_key(kid, alg)")
        if revocation is not None and not callable(getattr(revocation, "is_revoked", None)):
            raise ConfigurationError("revocation must provide is_revoked(token)")
        if not callable(clock):
            raise ConfigurationError("clock must be callable")
        policy = ValidationPolicy.from_options(
            issuer=issuer,
            audience=audience,
            algorithms=algorithms,
            leeway=leeway,
            max_age=max_age,
            required_claims=required_claims,
            token_types=token_types,
            scopes=scopes,
            checks=checks,
            max_token_size=max_token_size,
            require_exp=require_exp,
            scope_claims=scope_claims,
        )
        pinned = getattr(keys, "issuer", None)
        if isinstance(pinned, str):  # a key source pinned to one issuer (e.g. RemoteJWKS)
            policy = policy.pinned_to(pinned)
        self.policy = policy
        self._keys = keys
        self._async_keys = inspect.iscoroutinefunction(keys.verification_key)
        self._revocation = revocation
        self._async_revocation = revocation is not None and inspect.iscoroutinefunction(
            revocation.is_revoked
        )
        self._needs_async = _async_message(
            keys if self._async_keys else None,
            revocation if self._async_revocation else None,
        )
        # avalidate() asks a sync backend on the loop only through its non-blocking twin.
        self._keys_nowait = (
            None
            if self._async_keys
            else nowait_twin(keys, "verification_key", "verification_key_nowait")
        )
        self._revocation_nowait = (
            None
            if revocation is None or self._async_revocation
            else nowait_twin(revocation, "is_revoked", "is_revoked_nowait")
        )
        self._clock = clock
        self._header_cache: dict[str, _Header] = {}
        if cache is not None:
            from .cache import ValidatedTokenCache  # noqa: PLC0415 - only when one is given

            if not isinstance(cache, ValidatedTokenCache):
                raise ConfigurationError("cache must be a ValidatedTokenCache")
            cache.bind(self, leeway=policy.leeway)
        self._cache = cache
        # A store's settled key set stands in for asking it on a cache hit (stores/base.py).
        self._settled = None if cache is None else trusted_settled_keyset(keys, clock)
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be a callable taking an AuditEvent")
        if audit is not None and (
            inspect.iscoroutinefunction(audit)
            or inspect.iscoroutinefunction(getattr(audit, "__call__", None))  # noqa: B004
        ):  # its coroutine would never be awaited: every event lost
            raise ConfigurationError(
                "both faces call audit synchronously; deliver to an async sink through "
                "tokensmith.observability.AsyncQueueSink(sink)"
            )
        self._audit = audit

    def __repr__(self) -> str:
        p = self.policy
        audience = (
            UNSAFE_ANY_AUDIENCE
            if p.audiences is None
            else sorted(p.audiences)
            if p.audiences
            else NO_AUDIENCE
        )
        return (
            f"Validator(issuer={sorted(p.issuers) if p.issuers is not None else UNCHECKED!r}, "
            f"audience={audience!r})"
        )

    @property
    def requires_async(self) -> bool:
        """True when a backend is async, so only :meth:`avalidate` can run (a sync adapter
        refuses such a validator when it is set up, rather than failing every request)."""
        return bool(self._needs_async)

    # --- the two faces: the same steps, differing only by `await` on the two backends ----------

    def validate(
        self,
        token: str | bytes,
        *,
        scopes: Iterable[str] = (),
        confirmation: Confirmation | None = None,
    ) -> VerifiedToken:
        """Validate ``token`` and return its verified view, or raise why it was refused.

        ``scopes`` are required in addition to the policy's scopes (refusal:
        :class:`~tokensmith.errors.InsufficientScope`, HTTP 403). ``confirmation`` is what this
        request proved (a verified DPoP proof's key, the TLS client certificate): a
        sender-constrained token (``cnf``) is accepted only with the proof it is bound to, and
        never as a plain bearer token (:func:`~tokensmith.confirmation.check_confirmation`,
        :class:`~tokensmith.errors.InvalidConfirmation`).
        """
        if self._needs_async:
            raise ConfigurationError(self._needs_async)
        try:  # zero-cost unless raised (3.11+)
            found = self._cached(token)
            if type(found) is _Header:  # a cache hit whose key the key source must confirm
                found = self._confirmed(token, self._key(found))
            if found is None:  # the full path
                parsed = self._parse(token)
                found = self._verify(parsed, self._key(parsed[0]))
            if self._revocation is not None:
                _check_revoked(self._revoked(self._revocation, found))
            return self._accepted(found, scopes, confirmation)
        except TokensmithError as exc:
            self._refused(exc, token)
            raise

    async def avalidate(
        self,
        token: str | bytes,
        *,
        scopes: Iterable[str] = (),
        confirmation: Confirmation | None = None,
    ) -> VerifiedToken:
        """The async twin of :meth:`validate`: the same steps, awaiting async backends."""
        try:
            found = self._cached(token)
            if type(found) is _Header:
                found = self._confirmed(token, await self._akey(found))
            if found is None:
                parsed = self._parse(token)
                found = self._verify(parsed, await self._akey(parsed[0]))
            if self._revocation is not None:
                _check_revoked(await self._arevoked(self._revocation, found))
            return self._accepted(found, scopes, confirmation)
        except TokensmithError as exc:
            self._refused(exc, token)
            raise

    # --- the backends: the only calls the faces await ------------------------------------------

    def _key(self, header: _Header) -> Key:
        """The key source's key for ``header``; anything but a refusal or an outage it raises
        is its failure, not the token's (``BackendUnavailable``, chained)."""
        try:
            key = self._keys.verification_key(header.kid, header.alg)
        except PASSES_THROUGH:
            raise
        except Exception as exc:  # a LookupError too: a source's bug is not the token's fault
            raise backend_failed("the key source", exc) from exc
        return key if type(key) is Key else _checked_key(key)

    async def _akey(self, header: _Header) -> Key:
        """:meth:`_key` for either kind of key source, never blocking the loop: a sync source
        answers here only through its non-blocking twin, else in a worker thread."""
        if not self._async_keys:
            nowait = self._keys_nowait
            if nowait is not None:
                try:
                    key = nowait(header.kid, header.alg)
                except PASSES_THROUGH:
                    raise
                except Exception as exc:
                    raise backend_failed("the key source", exc) from exc
                if key is not None:
                    return key if type(key) is Key else _checked_key(key)
            from ._offload import run_blocking  # noqa: PLC0415 - only when a backend may block

            return await run_blocking(self._key, header)
        try:
            key = await cast("AsyncKeySource", self._keys).verification_key(header.kid, header.alg)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            raise backend_failed("the key source", exc) from exc
        return _checked_key(key)

    def _revoked(self, revocation: Revocations, verified: VerifiedToken) -> object:
        """The revocation list's answer (fail closed: its failure is ``BackendUnavailable``)."""
        try:
            return revocation.is_revoked(verified)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            raise backend_failed("the revocation list", exc) from exc

    async def _arevoked(self, revocation: Revocations, verified: VerifiedToken) -> object:
        """:meth:`_revoked` for either kind of revocation list, never blocking the loop (as
        :meth:`_akey`)."""
        if not self._async_revocation:
            nowait = self._revocation_nowait
            if nowait is not None:
                try:
                    answer = nowait(verified)
                except PASSES_THROUGH:
                    raise
                except Exception as exc:
                    raise backend_failed("the revocation list", exc) from exc
                if answer is not None:
                    return answer
            from ._offload import run_blocking  # noqa: PLC0415 - only when a backend may block

            return await run_blocking(self._revoked, revocation, verified)
        try:
            return await cast("AsyncRevocationList", revocation).is_revoked(verified)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            raise backend_failed("the revocation list", exc) from exc

    # --- the core: everything but I/O ------------------------------------------------------------

    def _cached(self, token: str | bytes) -> VerifiedToken | _Header | None:
        """The cache prologue: a hit (custom checks re-run), the checked header of a hit whose
        key the key source must confirm, or ``None`` for the full path."""
        cache = self._cache
        if cache is None or not isinstance(token, str):
            return None
        found = cache.hit(token, self._clock(), self._settled)
        if found is False:  # the key source must confirm the entry's key
            header = cache.header(token)
            return header if type(header) is _Header else None  # (None: the entry went since)
        if found is not None and self.policy.checks:
            self._run_checks(found)
        return found

    def _confirmed(self, token: str | bytes, key: Key) -> VerifiedToken | None:
        """After :meth:`_cached` asked for confirmation: the cached view if ``key``, what the
        key source returns now, is the very key the entry was verified with; else ``None`` for
        the full path (the entry is gone)."""
        cache = self._cache
        found = None if cache is None or type(token) is not str else cache.confirm(token, key)
        if found is not None and self.policy.checks:
            self._run_checks(found)
        return found

    def _accepted(
        self, verified: VerifiedToken, scopes: Iterable[str], confirmation: Confirmation | None
    ) -> VerifiedToken:
        """The last steps, after revocation: the sender constraint, the scopes (a 403 only for
        an otherwise valid token), then the audit event."""
        if confirmation is not None or "cnf" in verified.claims:
            check_confirmation(verified.claims, confirmation)
        if scopes:
            kind = scopes.__class__  # the usual case, a granted list, costs one C call
            try:
                granted = (
                    (kind is list or kind is tuple)
                    and not self.policy.scopes
                    and verified.scopes.issuperset(scopes)
                )
            except TypeError:  # an unhashable item: _check_scopes names the mistake
                granted = False
            if not granted:
                self._check_scopes(verified, scopes)
        elif self.policy.scopes:
            self._check_scopes(verified, scopes)
        if self._audit is not None:
            _audit_validated(self._audit, verified, self._clock)
        return verified

    def _refused(self, exc: TokensmithError, token: str | bytes) -> None:
        """A refusal: a token refused for what it is leaves the cache (a key the source no
        longer returns, a revoked token...; not a per-call scope), then the audit event."""
        cache = self._cache
        if (
            cache is not None
            and type(token) is str
            and isinstance(exc, TokenError)
            and not isinstance(exc, InsufficientScope)
        ):
            cache.discard(token)
        if self._audit is not None:
            _audit_refused(self._audit, exc, token, self._clock)

    def _run_checks(self, verified: VerifiedToken) -> None:
        """The policy's custom checks, on a cache hit as on a miss."""
        for check in self.policy.checks:
            _run_check(check, verified)

    def _parse(self, token: str | bytes) -> _Parsed:
        """Structure, size, encoding and header checks; no key. Last, the settled key set a
        cache entry will remember (see :data:`_Parsed`)."""
        if not isinstance(token, str):
            if not isinstance(token, bytes | bytearray):
                raise MalformedToken("a token must be a string")
            if len(token) > self.policy.max_token_size:
                raise TokenTooLarge(f"token longer than {self.policy.max_token_size} bytes")
            try:
                token = bytes(token).decode("ascii")
            except UnicodeDecodeError:
                raise MalformedToken("a token must be ASCII") from None
        if len(token) > self.policy.max_token_size:
            raise TokenTooLarge(f"token longer than {self.policy.max_token_size} characters")
        first = token.find(".")
        second = token.find(".", first + 1)
        if first <= 0 or second < 0 or token.find(".", second + 1) >= 0:
            raise _structure_error(token)
        # The header first: an unsecured JWS ("alg": "none", empty signature) is refused as
        # what it is (AlgorithmNotAllowed), not as a malformed token.
        header_segment = token[:first]
        header = self._header_cache.get(header_segment)
        if header is None:
            header = self._parse_header(header_segment)
            if len(self._header_cache) >= _HEADER_CACHE_SIZE:
                self._header_cache.clear()
            self._header_cache[header_segment] = header
        signature_segment = token[second + 1 :]
        if not signature_segment:
            raise MalformedToken("the token has no signature")
        try:
            payload_raw = b64url_decode(token[first + 1 : second])
            signature = b64url_decode(signature_segment)
        except ValueError:
            raise InvalidEncoding("a segment is not canonical unpadded base64url") from None
        settled = self._settled  # the store's key set, read before its key is asked for
        keyset = None if settled is None else settled(self._clock())
        return header, token[:second], payload_raw, signature, token, keyset

    def _parse_header(self, segment: str) -> _Header:
        header = segment_object(segment, "header")  # strict JSON, UTF-8 (RFC 8725 §3.7)
        # alg: allowed by the policy, never "none" (RFC 8725 §3.1, §3.2)
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise AlgorithmNotAllowed("the header has no 'alg'")
        if alg not in self.policy.algorithms:
            raise AlgorithmNotAllowed(
                "alg 'none' is never accepted"
                if alg.lower() == "none"
                else "the header's alg is not allowed by this policy"
            )
        if "crit" in header:  # no extension is understood (RFC 7515 §4.1.11)
            raise UnsupportedHeader(
                "the header lists critical extensions ('crit'); none are supported"
            )
        if header.get("b64", True) is not True:  # RFC 7797
            raise UnsupportedHeader("unencoded payloads ('b64') are not supported")
        cty = header.get("cty")  # no nested token (RFC 8725 §3.3)
        if cty is not None and (
            not isinstance(cty, str) or cty.lower() in ("jwt", "application/jwt")
        ):
            raise UnsupportedHeader("nested tokens ('cty': JWT) are not accepted")
        kid = header.get("kid")  # a bounded lookup key, nothing more (RFC 8725 §3.10)
        if (kid is not None or "kid" in header) and (
            not isinstance(kid, str) or not kid or len(kid) > _MAX_KID
        ):  # "kid": null is not "no kid" (RFC 7515 §4.1.4: a string when present)
            raise UnknownKey("the header's kid is not a usable key id")
        types = self.policy.token_types  # explicit typing (RFC 8725 §3.11, §3.12)
        if types is not None:
            typ = header.get("typ")
            if (typ is not None or "typ" in header) and not isinstance(typ, str):
                raise InvalidTokenType("the typ header is not a string")
            if normal_token_type(typ) not in types:
                raise InvalidTokenType("the token's typ is not accepted by this policy")
        return _Header(alg, kid, MappingProxyType(read_only_members(header)))

    def _verify(self, parsed: _Parsed, key: Key) -> VerifiedToken:
        """Signature, then claims. The payload JSON is parsed only once it is authentic."""
        header, signing_input, payload_raw, signature, token, keyset = parsed
        # the key is bound to the header's alg and has its kid (RFC 8725 §3.1)
        if key.alg != header.alg:
            raise AlgorithmMismatch("the key source offered a key bound to another alg")
        if header.kid is not None and key.kid != header.kid:
            raise UnknownKey("the key source offered a key with another kid")
        if not key.verify(signing_input.encode("ascii"), signature):
            raise InvalidSignature("the signature does not verify")
        claims = json_object(payload_raw, "payload")
        # Nested arrays/objects become read-only (a cache hit shares them with later requests).
        # A flat payload has no "[" and only its own "{": two byte scans, and nothing to do.
        if _OPEN_ARRAY in payload_raw or payload_raw.find(_OPEN_OBJECT, 1) >= 0:
            read_only_members(claims)
        verified = self._check_claims(claims, header, token, key)
        for check in self.policy.checks:
            _run_check(check, verified)
        if self._cache is not None:
            valid_from, until = _time_window(verified, key, self.policy)
            self._cache.put(token, verified, header, key, valid_from, until, keyset)
        return verified

    def _check_claims(  # noqa: C901 - the RFC 8725 checklist, inline on purpose (a call per step costs 3-4 %)
        self, claims: dict[str, Any], header: _Header, token: str, key: Key
    ) -> VerifiedToken:
        """The claim checklist of RFC 7519 §4.1 and RFC 8725 §3, one step per concern, in
        order; the signature, ``alg``, ``kid`` and ``typ`` were checked before (``_parse``,
        ``_verify``).

        ``null`` never satisfies a rule: a required claim that is ``null`` is missing
        (``MissingClaim``), an optional registered claim that is ``null`` has the wrong type
        (``InvalidClaim``).

        The steps are written inline, each under its heading, rather than as one function
        each: nine to thirteen calls cost 3-4 % of an HS256 ``validate()`` (measured with
        benchmarks/peers.py), well above the noise. NumericDates take the common case (an int
        in range) inline and anything else through ``numeric_date``.
        """
        policy = self.policy
        now = self._clock()
        leeway = policy.leeway
        get = claims.get

        # 1. The claims the application requires: present and not null (RFC 7519 §4.1).
        for name in policy.required_claims:
            if get(name) is None:
                raise _missing(claims, name)

        # 2. exp (RFC 7519 §4.1.4): a NumericDate; expired from exp + leeway on; required
        #    unless require_exp=False.
        exp = get("exp")
        if exp is None:
            if policy.require_exp:
                raise _missing(claims, "exp")
            if "exp" in claims:
                raise InvalidClaim("'exp' must be a number of seconds, not null", claim="exp")
        else:
            exp = (
                float(exp)
                if exp.__class__ is int and 0 <= exp <= MAX_NUMERIC_DATE
                else numeric_date(exp, "exp")
            )
            if now >= exp + leeway:
                raise ExpiredToken("the token has expired", claim="exp")

        # 3. nbf (RFC 7519 §4.1.5): a NumericDate; not valid before nbf - leeway.
        nbf = get("nbf")
        if nbf is not None or "nbf" in claims:
            nbf = (
                float(nbf)
                if nbf.__class__ is int and 0 <= nbf <= MAX_NUMERIC_DATE
                else numeric_date(nbf, "nbf")
            )
            if nbf > now + leeway:
                raise ImmatureToken("the token is not valid yet", claim="nbf")

        # 4. iat (RFC 7519 §4.1.6): a NumericDate, not in the future, no older than max_age
        #    (which makes it required).
        iat = get("iat")
        if iat is None:
            if policy.max_age is not None:
                raise _missing(claims, "iat", "the policy has max_age and the token has no 'iat'")
            if "iat" in claims:
                raise InvalidClaim("'iat' must be a number of seconds, not null", claim="iat")
        else:
            iat = (
                float(iat)
                if iat.__class__ is int and 0 <= iat <= MAX_NUMERIC_DATE
                else numeric_date(iat, "iat")
            )
            if iat > now + leeway:
                raise IssuedInFuture("the token was issued in the future", claim="iat")
            if policy.max_age is not None and now - iat > policy.max_age + leeway:
                raise TokenTooOld("the token is older than the policy's max_age", claim="iat")

        # 5. iss (RFC 7519 §4.1.1, RFC 8725 §3.8): a string the policy trusts; required
        #    unless issuer=UNCHECKED.
        iss = get("iss")
        issuers = policy.issuers
        if iss.__class__ is not str:
            if iss is not None:
                raise InvalidClaim("'iss' must be a string", claim="iss")
            if issuers is not None:
                raise _missing(claims, "iss")
            if "iss" in claims:
                raise InvalidClaim("'iss' must be a string, not null", claim="iss")
        elif issuers is not None and iss not in issuers:
            raise InvalidIssuer("the token's issuer is not trusted", claim="iss")

        # 6. aud (RFC 7519 §4.1.3, RFC 8725 §3.9): a string or a list of strings naming one
        #    of this service's audiences; a service with none refuses a token naming any.
        aud = get("aud")
        audiences = policy.audiences
        audience: tuple[str, ...]
        if aud.__class__ is str:
            audience = (aud,)
        elif isinstance(aud, list) and all(a.__class__ is str for a in aud):
            audience = tuple(aud)  # [] is a valid list that names no audience
        elif aud is None and (audiences or "aud" not in claims):
            audience = ()  # absent, or null where an audience is required: missing below
        else:
            raise InvalidClaim("'aud' must be a string or a list of strings", claim="aud")
        if audiences is not None and audiences.isdisjoint(audience):
            if audience:  # names audiences, none of them this service's (or it has none)
                raise InvalidAudience("the token is not meant for this audience", claim="aud")
            if audiences:
                if aud is None:
                    raise _missing(claims, "aud")
                raise InvalidAudience("the token's audience list is empty", claim="aud")

        # 7. sub and jti (RFC 7519 §4.1.2, §4.1.7; RFC 8725 §3.8): strings when present.
        sub = get("sub")
        if sub.__class__ is not str and (sub is not None or "sub" in claims):
            raise InvalidClaim("'sub' must be a string", claim="sub")
        jti = get("jti")
        if jti.__class__ is not str and (jti is not None or "jti" in claims):
            raise InvalidClaim("'jti' must be a string", claim="jti")

        # 8. The scope claims (RFC 8693 §4.2, RFC 9068 §2.2.3; scope_claims=): each a
        #    space-separated string or an array of strings. The usual case, a plain scope
        #    string under the default claims, is looked up among the strings already split.
        scope = get("scope")
        if (
            scope.__class__ is str
            and policy.scope_claims is DEFAULT_SCOPE_CLAIMS
            and "scp" not in claims
        ):
            scopes = SCOPE_SETS.get(scope) or parse_scope_string(scope)
        else:
            scopes = parse_scopes(claims, policy.scope_claims)

        return assemble(
            VerifiedToken,
            header.header,
            MappingProxyType(claims),
            sub,
            iss,
            audience,
            scopes,
            exp,
            iat,
            nbf,
            jti,
            key.kid,
            key.alg,
            token,
        )

    def _check_scopes(self, verified: VerifiedToken, extra: Iterable[str]) -> None:
        """The policy's scopes and the per-call ``extra`` ones must all be granted.

        ``extra`` is checked (strings without whitespace, else ConfigurationError) before it is
        used, so a caller's mistake never escapes as a bare TypeError.
        """
        required = self.policy.scopes
        if extra:
            required = required | required_scopes(extra)  # an iterator is consumed here, once
        if required.issubset(verified.scopes):
            return
        missing = required - verified.scopes
        raise InsufficientScope(
            f"the token lacks required scope(s): {' '.join(sorted(missing))}",
            required=required,
        )


# --- helpers for the core ---------------------------------------------------------------------


def _missing(claims: dict[str, Any], name: str, message: str | None = None) -> MissingClaim:
    """A required claim that is absent or ``null`` (the message says which)."""
    if name in claims:
        return MissingClaim(f"the token's {name!r} is null", claim=name)
    return MissingClaim(message or f"the token has no {name!r}", claim=name)


def _structure_error(token: str) -> MalformedToken:
    stripped = token.lstrip()
    if stripped.startswith("{"):
        return MalformedToken("JWS JSON serialization is not accepted; use the compact form")
    if token.count(".") == 4:
        return MalformedToken("a JWE (five segments) is not accepted where a JWS is expected")
    return MalformedToken("a token must have exactly three non-empty segments")


def _time_window(
    verified: VerifiedToken, key: Key, policy: ValidationPolicy
) -> tuple[float, float]:
    """``[valid_from, until)``: the instants at which every time rule of the policy accepts
    ``verified`` (exp, nbf, iat, max_age, with leeway) and ``key`` has not expired."""
    leeway = policy.leeway
    valid_from = -math.inf
    for instant in (verified.not_before, verified.issued_at):
        if instant is not None:
            valid_from = max(valid_from, instant - leeway)
    until = math.inf if verified.expires_at is None else verified.expires_at + leeway
    if policy.max_age is not None and verified.issued_at is not None:
        until = min(until, verified.issued_at + policy.max_age + leeway)
    if key.not_after is not None:
        until = min(until, key.not_after)
    return valid_from, until


def _run_check(check: ClaimCheck, verified: VerifiedToken) -> None:
    try:
        result = check(verified)
    except TokensmithError:
        raise
    except Exception as exc:  # a bug in a custom check must refuse, not crash the handler
        raise ClaimCheckFailed(f"custom check failed with {type(exc).__name__}") from exc
    if result is False:
        raise ClaimCheckFailed("a custom check refused the token")


_SYNC_TWINS: Final = {
    "AsyncDiscoveredJWKS": "DiscoveredJWKS",
    "AsyncRemoteJWKS": "RemoteJWKS",
    "AsyncRedisRevocationList": "RedisRevocationList",
}


def _async_message(keys: object, revocation: object) -> str:
    """Why ``validate()`` cannot run (async backends, named with their sync twins), or ``""``."""
    named = [
        f"{what} ({type(backend).__name__}) is async"
        + (
            f"; its sync twin is {_SYNC_TWINS[type(backend).__name__]}"
            if type(backend).__name__ in _SYNC_TWINS
            else ""
        )
        for what, backend in (("the key source", keys), ("the revocation list", revocation))
        if backend is not None
    ]
    if not named:
        return ""
    return (
        f"validate() cannot wait for async backends: {', and '.join(named)}. Call "
        "`await validator.avalidate(token)` from async code (a sync framework cannot use this "
        "validator), or build the validator on sync backends (see docs/sync-or-async.md)"
    )


def _checked_key(key: object) -> Key:
    """Defence in depth against custom key sources: the key must be a :class:`Key` (which
    is bound to one alg; :meth:`Validator._verify` checks that alg and the kid)."""
    if not isinstance(key, Key):
        raise BackendUnavailable("the key source returned something that is not a Key")
    return key


def _check_revoked(revoked: object) -> None:
    if revoked:
        raise TokenRevoked("the token has been revoked")


def _audit_validated(audit: AuditSink, verified: VerifiedToken, clock: Callable[[], float]) -> None:
    """Off the default path: only validators built with ``audit=`` get here."""
    from .observability.audit import emit, validated_event  # noqa: PLC0415 - keep `import tokensmith` cheap

    emit(audit, validated_event(verified, clock()))


def _audit_refused(
    audit: AuditSink, exc: TokensmithError, token: object, clock: Callable[[], float]
) -> None:
    from .observability.audit import emit, refused_event  # noqa: PLC0415 - keep `import tokensmith` cheap

    if isinstance(exc, TokenError | BackendUnavailable):
        emit(audit, refused_event(exc, token, clock()))
