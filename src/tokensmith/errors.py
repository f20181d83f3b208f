"""Every refusal tokensmith makes, as one exception hierarchy with stable codes.

Two families, so that a request handler can answer correctly without string matching:

* :class:`TokenError` — the token was refused (answer 401 or 403). Each subclass has a stable
  machine ``code`` and the RFC 6750 ``error`` to put in ``WWW-Authenticate``.
* :class:`BackendUnavailable` — tokensmith could not decide because something it depends on
  (a revocation store, a remote key set) did not answer (answer 503, never 401).

Configuration mistakes raise :class:`ConfigurationError`; unusable key material raises
:class:`KeyMaterialError`. Messages never contain the token or any key material: they name
the claim, header or option at fault and, where useful, the token's ``jti`` or fingerprint.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlgorithmMismatch",
    "AlgorithmNotAllowed",
    "AmbiguousKey",
    "BackendUnavailable",
    "ClaimCheckFailed",
    "ConfigurationError",
    "ExpiredToken",
    "ImmatureToken",
    "InsufficientScope",
    "InvalidAudience",
    "InvalidClaim",
    "InvalidEncoding",
    "InvalidIssuer",
    "InvalidJSON",
    "InvalidKey",
    "InvalidSignature",
    "InvalidTokenType",
    "IssuedInFuture",
    "KeyMaterialError",
    "MalformedToken",
    "MissingClaim",
    "NoSigningKey",
    "ReservedClaim",
    "TokenError",
    "TokenRevoked",
    "TokenTooLarge",
    "TokenTooOld",
    "TokensmithError",
    "UnknownKey",
    "UnsupportedHeader",
    "WeakKey",
]


class TokensmithError(Exception):
    """Base of every exception tokensmith raises on purpose."""

    code: ClassVar[str] = "tokensmith_error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)

    @property
    def message(self) -> str:
        """The human-readable reason (never contains a token or key material)."""
        return str(self.args[0])


class TokenError(TokensmithError):
    """The token was refused. ``code`` says why; ``error`` is the RFC 6750 error code."""

    code: ClassVar[str] = "invalid_token"
    error: ClassVar[str] = "invalid_token"
    status_code: ClassVar[int] = 401


# --- structure ------------------------------------------------------------------------------


class MalformedToken(TokenError):
    """The token is not a compact JWS with exactly three segments."""

    code = "malformed"


class TokenTooLarge(MalformedToken):
    """The token is longer than the configured maximum; it was not decoded."""

    code = "token_too_large"


class InvalidEncoding(MalformedToken):
    """A segment is not canonical, unpadded base64url."""

    code = "invalid_encoding"


class InvalidJSON(MalformedToken):
    """The header or payload is not a single JSON object with unique member names."""

    code = "invalid_json"


class UnsupportedHeader(TokenError):
    """The header asks for something tokensmith will not do (``crit``, ``b64``, nesting)."""

    code = "unsupported_header"


# --- algorithm and key selection -------------------------------------------------------------


class AlgorithmNotAllowed(TokenError):
    """The header's ``alg`` is missing, ``none``, unknown, or not allowed by the policy."""

    code = "algorithm_not_allowed"


class UnknownKey(TokenError):
    """No key in the key source matches the header's ``kid`` for its ``alg``."""

    code = "unknown_key"


class AmbiguousKey(UnknownKey):
    """The token has no ``kid`` and more than one key could verify it; refusing to guess."""

    code = "ambiguous_key"


class AlgorithmMismatch(UnknownKey):
    """The ``kid`` names a key bound to a different algorithm than the header's ``alg``."""

    code = "algorithm_mismatch"


class InvalidSignature(TokenError):
    """The signature does not verify with the selected key."""

    code = "invalid_signature"


# --- claims ---------------------------------------------------------------------------------


class InvalidClaim(TokenError):
    """A claim has the wrong type or an impossible value (e.g. ``exp`` as a string)."""

    code = "invalid_claim"

    def __init__(self, message: str | None = None, *, claim: str | None = None) -> None:
        super().__init__(message)
        self.claim = claim


class MissingClaim(InvalidClaim):
    """A claim the policy requires is absent."""

    code = "missing_claim"


class ExpiredToken(InvalidClaim):
    """The token's ``exp`` has passed (a token is expired at ``exp``, plus leeway)."""

    code = "expired"


class ImmatureToken(InvalidClaim):
    """The token's ``nbf`` is still in the future."""

    code = "not_yet_valid"


class IssuedInFuture(InvalidClaim):
    """The token's ``iat`` is in the future beyond the allowed leeway."""

    code = "issued_in_future"


class TokenTooOld(InvalidClaim):
    """The token was issued longer ago than the policy's ``max_age``."""

    code = "too_old"


class InvalidIssuer(InvalidClaim):
    """The ``iss`` claim is not one the policy trusts."""

    code = "invalid_issuer"


class InvalidAudience(InvalidClaim):
    """No value of the ``aud`` claim is an audience the policy accepts."""

    code = "invalid_audience"


class InvalidTokenType(TokenError):
    """The ``typ`` header is not a type the policy accepts (explicit typing, RFC 8725 §3.11)."""

    code = "invalid_type"


class ClaimCheckFailed(InvalidClaim):
    """A custom claim check of the policy refused the token."""

    code = "claim_check_failed"


class TokenRevoked(TokenError):
    """The token (by ``jti``, subject or session) has been revoked."""

    code = "revoked"


class InsufficientScope(TokenError):
    """The token is valid but lacks a scope the request requires (HTTP 403)."""

    code = "insufficient_scope"
    error = "insufficient_scope"
    status_code = 403

    def __init__(self, message: str | None = None, *, required: frozenset[str] = frozenset()):
        super().__init__(message)
        self.required = required


# --- not a refusal of the token ------------------------------------------------------------


class BackendUnavailable(TokensmithError):
    """A backend needed for the decision (revocation store, remote key set) did not answer.

    Handlers should answer 503: the token was neither accepted nor found invalid.
    """

    code = "backend_unavailable"
    status_code: ClassVar[int] = 503


class ConfigurationError(TokensmithError):
    """An option is unknown, contradictory or unsafe; raised at construction time."""

    code = "configuration_error"


class ReservedClaim(ConfigurationError):
    """A custom claim tried to override a registered claim the signer sets itself."""

    code = "reserved_claim"


class NoSigningKey(TokensmithError):
    """The key store holds no key that may sign at this instant."""

    code = "no_signing_key"


class KeyMaterialError(TokensmithError):
    """Key material could not be used."""

    code = "key_error"


class InvalidKey(KeyMaterialError):
    """The key is malformed, of the wrong type for its algorithm, or unusable for signing."""

    code = "invalid_key"


class WeakKey(KeyMaterialError):
    """The key is below tokensmith's strength floor (HMAC < hash size, RSA < 2048 bits)."""

    code = "weak_key"
