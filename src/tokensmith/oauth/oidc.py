"""OpenID Connect ID token validation (Core 1.0 §3.1.3.7, §3.3.2.11): the client's side.

On top of the core checks (signature, ``iss``, ``aud`` contains the client, ``exp``, ``iat``):
``azp`` (required with several audiences, must be this client), ``nonce`` (required and equal,
constant-time, when the client sent one), ``auth_time`` against ``max_age``, and ``at_hash`` /
``c_hash`` against the access token and code received with the ID token.

Hash for ``at_hash`` / ``c_hash``: the left-most half of the hash the JWS ``alg`` uses
(``*256`` → SHA-256, ``*384`` → SHA-384, ``*512`` → SHA-512). For ``EdDSA`` the algorithm
does not name a hash; we follow OpenID Connect Core errata set 2 and common practice (e.g.
``oidc-token-hash``): Ed25519 → SHA-512 (left 32 bytes), Ed448 → SHAKE256 with a 114-byte
output (left 57 bytes). Both choices come from the algorithm table (``tokensmith._algorithms``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from .._algorithms import ALGORITHMS, token_hash_function
from .._b64 import b64url_encode
from .._backends import PASSES_THROUGH, backend_failed
from .._claims import numeric_date
from .._options import seconds
from .._secrets import secrets_equal
from ..claims import VerifiedToken
from ..errors import (
    AuthenticationTooOld,
    ConfigurationError,
    InvalidAuthorizedParty,
    InvalidClaim,
    InvalidNonce,
    IssuedInFuture,
    MissingClaim,
    TokenHashMismatch,
)
from ..keys import Key
from ..policy import DEFAULT_LEEWAY
from ..validator import Validator

__all__ = ["ID_TOKEN_REQUIRED_CLAIMS", "ID_TOKEN_TYPES", "IDTokenValidator", "token_hash"]

ID_TOKEN_REQUIRED_CLAIMS: Final = frozenset({"iss", "sub", "aud", "exp", "iat"})
"""Claims every ID token must carry (OpenID Connect Core §2)."""

ID_TOKEN_TYPES: Final[tuple[str | None, ...]] = (None, "JWT")
"""Accepted ``typ`` of an ID token; ``at+jwt`` is refused so an access token never passes."""

_PROFILE_OPTIONS: Final = frozenset({"token_types", "audience", "issuer", "max_age"})


def token_hash(value: str, alg: str, *, curve: str | None = None) -> str:
    """The ``at_hash`` / ``c_hash`` of ``value`` for an ID token signed with ``alg``.

    ``curve`` matters only for ``EdDSA`` (``Ed25519``, the default, or ``Ed448``; see the
    module docstring for the hash choice); RFC 9864's ``Ed25519`` and ``Ed448`` name theirs.
    """
    if not isinstance(value, str) or not value.isascii():
        raise ConfigurationError("value must be an ASCII string (an access token or a code)")
    row = ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if row is None:
        raise ConfigurationError("alg is not a supported algorithm")
    function = token_hash_function(row, curve)
    if function is None:
        raise ConfigurationError(f"curve must be {' or '.join(repr(c) for c in row.curves)}")
    name, size = function
    hashed: Any = hashlib.new(name, value.encode("ascii"))
    digest: bytes = hashed.digest(size) if name.startswith("shake_") else hashed.digest()
    return b64url_encode(digest[: size // 2])


class IDTokenValidator:
    """Validates ID tokens for one client of one OpenID provider.

    :param keys: the provider's key source (its JWKS).
    :param issuer: the provider's issuer identifier (exact match).
    :param client_id: this client: must be in ``aud``, and be ``azp`` when ``azp`` is present.
    :param options: further :class:`~tokensmith.Validator` options (``leeway``,
        ``algorithms``, ``required_claims``, ``checks``...); ``issuer``, ``audience``,
        ``token_types`` and ``max_age`` are fixed by the profile (``max_age`` is per call here).
    """

    __slots__ = ("_client_id", "_clock", "_keys", "_leeway", "_validator")

    def __init__(
        self,
        keys: Any,
        *,
        issuer: str,
        client_id: str,
        clock: Callable[[], float] = time.time,
        leeway: float = DEFAULT_LEEWAY,
        **options: Any,
    ) -> None:
        fixed = _PROFILE_OPTIONS.intersection(options)
        if fixed:
            raise ConfigurationError(f"the ID token profile fixes {sorted(fixed)}")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if not isinstance(issuer, str) or not issuer:
            raise ConfigurationError("issuer must be a non-empty string")
        required = set(ID_TOKEN_REQUIRED_CLAIMS)
        required.update(_claim_names(options.pop("required_claims", ())))
        self._validator = Validator(
            keys,
            issuer=issuer,
            audience=client_id,
            token_types=ID_TOKEN_TYPES,
            required_claims=required,
            clock=clock,
            leeway=leeway,
            **options,
        )
        self._keys = keys
        self._client_id = client_id
        self._clock = clock
        self._leeway = self._validator.policy.leeway

    def __repr__(self) -> str:
        return f"IDTokenValidator(client_id={self._client_id!r})"

    def validate(
        self,
        id_token: str | bytes,
        *,
        nonce: str | None = None,
        max_age: float | None = None,
        access_token: str | None = None,
        code: str | None = None,
        require_hashes: bool = False,
    ) -> VerifiedToken:
        """Validate ``id_token``; returns it verified or raises a ``TokenError`` subclass.

        :param nonce: the nonce this client sent; then the token must carry it
            (:class:`~tokensmith.errors.InvalidNonce`).
        :param max_age: the ``max_age`` sent; then ``auth_time`` is required
            (:class:`~tokensmith.errors.MissingClaim`) and must be recent enough
            (:class:`~tokensmith.errors.AuthenticationTooOld`).
        :param access_token: / :param code: the values received with the ID token; a present
            ``at_hash`` / ``c_hash`` must match (:class:`~tokensmith.errors.TokenHashMismatch`,
            also for a value that is not an ASCII string),
            and with ``require_hashes=True`` an absent one is
            :class:`~tokensmith.errors.MissingClaim` (implicit and hybrid responses).
        """
        token = self._validator.validate(id_token)
        claims = token.claims
        self._check_azp(token)
        if nonce is not None:
            if not isinstance(nonce, str) or not nonce:
                raise ConfigurationError("nonce must be a non-empty string")
            if not secrets_equal(nonce, claims.get("nonce")):
                raise InvalidNonce("the ID token's nonce does not match", claim="nonce")
        self._check_auth_time(claims, max_age)
        for name, value in (("at_hash", access_token), ("c_hash", code)):
            if value is not None:
                self._check_hash(token, name, value, require_hashes)
        return token

    def _check_azp(self, token: VerifiedToken) -> None:
        azp = token.claims.get("azp")
        if azp is None:
            if len(token.audience) > 1:
                raise InvalidAuthorizedParty(
                    "an ID token with several audiences must name 'azp'", claim="azp"
                )
            return
        if not isinstance(azp, str) or azp != self._client_id:
            raise InvalidAuthorizedParty("the ID token's azp is not this client", claim="azp")

    def _check_auth_time(self, claims: Mapping[str, Any], max_age: float | None) -> None:
        auth_time: float | None = None
        raw = claims.get("auth_time")
        if raw is not None or ("auth_time" in claims and max_age is None):
            auth_time = numeric_date(raw, "auth_time")  # null, when not required: wrong type
        now = self._clock()
        if auth_time is not None and auth_time > now + self._leeway:
            raise IssuedInFuture("auth_time is in the future", claim="auth_time")
        if max_age is None:
            return
        seconds("max_age", max_age, minimum=0, finite=False)
        if auth_time is None:
            raise MissingClaim(
                "max_age was requested and the ID token has no auth_time (or it is null)",
                claim="auth_time",
            )
        if now - auth_time > max_age + self._leeway:
            raise AuthenticationTooOld(
                "the end-user authenticated longer ago than max_age", claim="auth_time"
            )

    def _check_hash(self, token: VerifiedToken, name: str, value: str, required: bool) -> None:
        claimed = token.claims.get(name)
        if claimed is None:
            if required:
                raise MissingClaim(f"the ID token has no {name!r} (or it is null)", claim=name)
            if name in token.claims:
                raise InvalidClaim(f"{name!r} must be a string, not null", claim=name)
            return
        if not isinstance(value, str) or not value.isascii():  # no token or code looks so
            raise TokenHashMismatch(f"the ID token's {name} does not match", claim=name)
        curve = None
        row = ALGORITHMS[token.algorithm]
        if row.hash is None and len(row.curves) > 1:  # EdDSA: the hash is the key's curve's
            curve = self._curve(token)
        if not secrets_equal(token_hash(value, token.algorithm, curve=curve), claimed):
            raise TokenHashMismatch(f"the ID token's {name} does not match", claim=name)

    def _curve(self, token: VerifiedToken) -> str:
        """The EdDSA curve of the key that verified ``token`` (the key source is asked again:
        a failure there is an outage, as in the validator)."""
        try:
            key: Key = self._keys.verification_key(token.key_id, token.algorithm)
        except PASSES_THROUGH:
            raise
        except Exception as exc:
            raise backend_failed("the key source", exc) from exc
        return str(key.to_jwk()["crv"])


def _claim_names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)
