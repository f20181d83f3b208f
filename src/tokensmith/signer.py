"""Issue signed tokens (compact JWS) with the registered claims set for you."""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._b64 import b64url_encode
from ._frozen import Value
from ._jti import new_jti
from ._options import seconds
from .claims import fingerprint
from .confirmation import Confirmation
from .errors import ConfigurationError, ReservedClaim
from .stores.base import KeyStore

if TYPE_CHECKING:
    from .observability.audit import AuditSink

__all__ = ["REGISTERED_CLAIMS", "IssuedToken", "Signer"]

REGISTERED_CLAIMS: Final = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "cnf"}
)
"""Claims the signer sets itself; custom ``claims`` may not override them."""


def _claims_encoder() -> Callable[[Any], str]:
    """Compact UTF-8 JSON without NaN or Infinity, for a claims object.

    ``JSONEncoder.encode`` builds a new C encoder on every call (about 1 µs); CPython's is built
    once here instead. It runs without the circular-reference bookkeeping (a cyclic value hits
    the recursion limit, reported like any unencodable claim). Elsewhere: the stdlib path.
    """
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return encoder.encode
    try:
        chunks = make(
            None,
            encoder.default,
            json.encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
    except TypeError:  # pragma: no cover - a future signature
        return encoder.encode
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    return encode


_JSON: Final = _claims_encoder()


class IssuedToken(Value):
    """A token together with what the issuer usually wants to record about it.

    ``repr()`` shows the fingerprint, never the token.
    """

    __slots__ = ("claims", "expires_at", "issued_at", "jti", "key_id", "subject", "token")
    _fields = ("token", "jti", "subject", "issued_at", "expires_at", "key_id", "claims")
    _repr_fields = ("jti", "subject", "issued_at", "expires_at", "key_id")

    token: str
    jti: str
    subject: str | None
    issued_at: int
    expires_at: int
    key_id: str
    claims: Mapping[str, Any]

    def __init__(
        self,
        token: str,
        jti: str,
        subject: str | None,
        issued_at: int,
        expires_at: int,
        key_id: str,
        claims: Mapping[str, Any],
    ) -> None:
        set_ = object.__setattr__
        set_(self, "token", token)
        set_(self, "jti", jti)
        set_(self, "subject", subject)
        set_(self, "issued_at", issued_at)
        set_(self, "expires_at", expires_at)
        set_(self, "key_id", key_id)
        set_(self, "claims", claims)

    @property
    def fingerprint(self) -> str:
        """A short, loggable hash of the token (see :func:`tokensmith.fingerprint`)."""
        return fingerprint(self.token)

    @property
    def expires_in(self) -> int:
        """Lifetime in seconds, as an OAuth ``expires_in``."""
        return self.expires_at - self.issued_at

    def __str__(self) -> str:
        return f"IssuedToken(jti={self.jti!r}, fingerprint={self.fingerprint!r})"


class Signer:
    """Issues tokens signed by the key store's current signing key.

    ``iss``, ``iat``, ``exp`` and a random ``jti`` (144 bits) are always set; ``kid`` and
    ``typ`` go in the header. The lifetime never exceeds what the signing key can verify: a
    token that would outlive its key's ``not_after`` is refused rather than issued broken.
    With ``audit=``, every issued token is reported as a ``token.issued`` event (its
    fingerprint and ``jti``, never the token).
    """

    def __init__(
        self,
        keys: KeyStore,
        *,
        issuer: str,
        ttl: float = 3600,
        token_type: str = "JWT",
        max_ttl: float = 366 * 86400,
        clock: Callable[[], float] = time.time,
        jti_factory: Callable[[], str] | None = None,
        audit: AuditSink | None = None,
    ) -> None:
        if not isinstance(issuer, str) or not issuer:
            raise ConfigurationError("issuer must be a non-empty string")
        seconds("ttl", ttl, positive=True, maximum=max_ttl)
        if not isinstance(token_type, str) or not token_type:
            raise ConfigurationError("token_type must be a non-empty string")
        self._keys = keys
        self._issuer = issuer
        self._ttl = ttl
        self._ttl_seconds = math.ceil(ttl)
        self._max_ttl = max_ttl
        self._typ = token_type
        self._clock = clock
        self._new_jti = jti_factory or new_jti
        self._headers: dict[tuple[str, str, str], str] = {}
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be a callable taking an AuditEvent")
        self._audit = audit

    @property
    def issuer(self) -> str:
        """The ``iss`` this signer writes."""
        return self._issuer

    def issue(
        self,
        subject: str | None,
        *,
        audience: str | Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        not_before: float | None = None,
        token_type: str | None = None,
        jti: str | None = None,
        confirmation: Confirmation | None = None,
    ) -> str:
        """Issue a token and return it (see :meth:`issue_token` for the full record)."""
        return self._issue(
            subject, audience, scopes, claims, ttl, not_before, token_type, jti, confirmation
        )[0]

    def issue_token(
        self,
        subject: str | None,
        *,
        audience: str | Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        not_before: float | None = None,
        token_type: str | None = None,
        jti: str | None = None,
        confirmation: Confirmation | None = None,
    ) -> IssuedToken:
        """Issue a token; returns it with its ``jti``, times and key id.

        ``scopes`` are written as one space-separated ``scope`` claim (RFC 8693 / RFC 9068).
        ``claims`` may add any claim except those in :data:`REGISTERED_CLAIMS`
        (:class:`~tokensmith.errors.ReservedClaim` otherwise). ``not_before`` is an absolute
        time for ``nbf``. ``token_type`` overrides the ``typ`` header. ``confirmation``
        binds the token to a DPoP key or a client certificate (the ``cnf`` claim, RFC 7800;
        see :mod:`tokensmith.confirmation`): a validator then accepts it only with that proof.
        """
        token, token_id, now, exp, kid, payload = self._issue(
            subject, audience, scopes, claims, ttl, not_before, token_type, jti, confirmation
        )
        return IssuedToken(
            token=token,
            jti=token_id,
            subject=subject,
            issued_at=now,
            expires_at=exp,
            key_id=kid,
            claims=payload,
        )

    def _issue(  # noqa: C901 - the issue() hot path, inline on purpose (see benchmarks/peers.py)
        self,
        subject: str | None,
        audience: str | Iterable[str] | None,
        scopes: Iterable[str] | None,
        claims: Mapping[str, Any] | None,
        ttl: float | None,
        not_before: float | None,
        token_type: str | None,
        jti: str | None,
        confirmation: Confirmation | None = None,
    ) -> tuple[str, str, int, int, str, dict[str, Any]]:
        """The one implementation behind :meth:`issue` and :meth:`issue_token`."""
        payload: dict[str, Any] = {"iss": self._issuer}
        if subject is not None:
            if not isinstance(subject, str) or not subject:
                raise ConfigurationError("subject must be a non-empty string or None")
            payload["sub"] = subject
        if audience is not None:
            payload["aud"] = (
                audience if audience.__class__ is str and audience else _audience(audience)
            )
        now = int(self._clock())
        if ttl is None:
            exp = now + self._ttl_seconds
        else:
            seconds("ttl", ttl, positive=True, maximum=self._max_ttl)
            exp = now + math.ceil(ttl)
        payload["iat"] = now
        payload["exp"] = exp
        if not_before is not None:
            if seconds("not_before", not_before) >= exp:
                raise ConfigurationError("not_before must be before the expiry")
            payload["nbf"] = int(not_before)
        token_id = self._new_jti() if jti is None else jti
        if not isinstance(token_id, str) or not token_id:
            raise ConfigurationError("jti must be a non-empty string")
        payload["jti"] = token_id
        if scopes is not None:
            payload["scope"] = _scope_string(scopes)
        if confirmation is not None:
            if confirmation.__class__ is not Confirmation:
                raise ConfigurationError("confirmation must be a tokensmith Confirmation")
            payload["cnf"] = confirmation.claim()
        if claims:
            if not REGISTERED_CLAIMS.isdisjoint(claims):
                clash = REGISTERED_CLAIMS.intersection(claims)
                raise ReservedClaim(
                    f"custom claims may not set {sorted(clash)}; use the issue() arguments"
                )
            payload.update(claims)

        key = self._keys.signing_key()
        if key.not_after is not None and exp > key.not_after:
            raise ConfigurationError(
                "token lifetime exceeds the signing key's verification window; "
                "raise RotationPolicy.verify_for or lower the ttl"
            )
        typ = self._typ if token_type is None else token_type
        header = self._header(key.alg, key.kid, typ)
        try:
            body = b64url_encode(_JSON(payload).encode("utf-8"))
        except (TypeError, ValueError, RecursionError):
            raise ConfigurationError("claims must be JSON-serialisable (finite numbers)") from None
        signing_input = f"{header}.{body}"
        signature = b64url_encode(key.sign(signing_input.encode("ascii")))
        token = f"{signing_input}.{signature}"
        if self._audit is not None:
            self._audit_issued(token, token_id, subject, now, key.kid, payload)
        return token, token_id, now, exp, key.kid, payload

    def _audit_issued(
        self,
        token: str,
        token_id: str,
        subject: str | None,
        now: int,
        kid: str,
        payload: Mapping[str, Any],
    ) -> None:
        """A ``token.issued`` event (fingerprint, never the token); only with ``audit=``."""
        from .observability.audit import emit, issued_event  # noqa: PLC0415 - keep `import tokensmith` cheap

        event = issued_event(
            token,
            at=float(now),
            jti=token_id,
            subject=subject,
            issuer=self._issuer,
            kid=kid,
            claims=payload,
        )
        emit(self._audit, event)

    def _header(self, alg: str, kid: str, typ: str) -> str:
        """Encoded headers are few (one per key and type), so they are built once."""
        cache_key = (alg, kid, typ)
        encoded = self._headers.get(cache_key)
        if encoded is None:
            if not isinstance(typ, str) or not typ:
                raise ConfigurationError("token_type must be a non-empty string")
            encoded = b64url_encode(_JSON({"alg": alg, "kid": kid, "typ": typ}).encode())
            if len(self._headers) > 64:
                self._headers.clear()
            self._headers[cache_key] = encoded
        return encoded

    def __repr__(self) -> str:
        return f"Signer(issuer={self._issuer!r}, ttl={self._ttl!r})"


def _audience(audience: str | Iterable[str]) -> str | list[str]:
    if isinstance(audience, str):
        if not audience:
            raise ConfigurationError("audience must be non-empty")
        return audience
    values = list(audience)
    if not values or not all(isinstance(a, str) and a for a in values):
        raise ConfigurationError("audience must be a string or a non-empty list of strings")
    return values[0] if len(values) == 1 else values


@functools.lru_cache(maxsize=256)
def _scope_string_of(scopes: tuple[object, ...]) -> str:
    values: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str) or scope.split() != [scope]:
            raise ConfigurationError("each scope must be a non-empty string without spaces")
        if scope not in values:
            values.append(scope)
    return " ".join(values)


def _scope_string(scopes: Iterable[str]) -> str:
    """Scopes as one space-separated string; the few distinct scope lists are cached."""
    values = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
    try:
        return _scope_string_of(values)
    except TypeError:  # an unhashable element
        raise ConfigurationError("each scope must be a non-empty string without spaces") from None
