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
    "AuthenticationTooOld",
    "AuthorizationCodeKeyMismatch",
    "AuthorizationCodeReused",
    "BackendUnavailable",
    "CSRFCheckFailed",
    "CSRFTokenExpired",
    "ClaimCheckFailed",
    "ClientAuthMethodNotRegistered",
    "ClientCertificateMismatch",
    "ClientSecretMismatch",
    "ConfigurationError",
    "ConflictingClientCredentials",
    "DPoPProofRequired",
    "DiscoveryError",
    "ExpiredToken",
    "ImmatureToken",
    "InsecureKeyDirectory",
    "InsecureTransport",
    "InsufficientScope",
    "InvalidAudience",
    "InvalidAuthorizedParty",
    "InvalidClaim",
    "InvalidClient",
    "InvalidClientCertificate",
    "InvalidConfirmation",
    "InvalidDPoPProof",
    "InvalidEncoding",
    "InvalidGrant",
    "InvalidIssuer",
    "InvalidJSON",
    "InvalidKey",
    "InvalidNonce",
    "InvalidRefreshToken",
    "InvalidRequest",
    "InvalidScope",
    "InvalidSignature",
    "InvalidTokenRequest",
    "InvalidTokenType",
    "IssuedInFuture",
    "JWKSFetchError",
    "KeyMaterialError",
    "KeyStoreCorrupt",
    "MalformedAuthorization",
    "MalformedClientCredentials",
    "MalformedToken",
    "MissingClaim",
    "MissingClientCredentials",
    "MissingToken",
    "MultipleCredentials",
    "NetworkNotAllowed",
    "NoSigningKey",
    "OAuthError",
    "RefreshTokenExpired",
    "RefreshTokenKeyMismatch",
    "RefreshTokenReused",
    "RefreshTokenRevoked",
    "ReplayedDPoPProof",
    "ReplayedToken",
    "ReservedClaim",
    "StateMismatch",
    "Throttled",
    "TokenError",
    "TokenHashMismatch",
    "TokenInQuery",
    "TokenRevoked",
    "TokenTooLarge",
    "TokenTooOld",
    "TokensmithError",
    "UnauthorizedClient",
    "UnknownClient",
    "UnknownKey",
    "UnsupportedGrantType",
    "UnsupportedHeader",
    "UnsupportedTokenType",
    "UseDPoPNonce",
    "WeakKey",
    "WrongPassphrase",
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
    """A claim the policy requires is absent or ``null`` (a token without the ``aud`` the policy
    requires is this, not ``invalid_audience``)."""

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
    """No value of the ``aud`` claim is an audience the policy accepts (``[]`` included), or,
    under ``NO_AUDIENCE``, the token names an audience."""

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


class ReplayedToken(TokenError):
    """A single-use token (a client assertion's ``jti``) was presented a second time."""

    code = "replayed"


class InvalidNonce(InvalidClaim):
    """The ID token's ``nonce`` is missing or differs from the one the client sent."""

    code = "invalid_nonce"


class InvalidAuthorizedParty(InvalidClaim):
    """The ID token's ``azp`` is missing (several audiences) or is not this client."""

    code = "invalid_azp"


class AuthenticationTooOld(InvalidClaim):
    """The end-user authenticated (``auth_time``) longer ago than the requested ``max_age``."""

    code = "auth_too_old"


class InvalidConfirmation(InvalidClaim):
    """The token is sender-constrained (``cnf``, RFC 7800) and this request did not prove
    possession of the key it is bound to: no DPoP proof or client certificate, one for another
    key, a binding tokensmith cannot verify, or a DPoP proof presented with an unbound token
    (RFC 9449 §7, RFC 8705 §3). Answered ``invalid_token`` (401)."""

    code = "invalid_confirmation"


class InvalidDPoPProof(TokenError):
    """The DPoP proof is missing, malformed, or not a proof of this request.

    RFC 9449 §4.3: a second ``DPoP`` header, a JWS that is not ``typ: dpop+jwt``, an
    algorithm outside the allow-list, a ``jwk`` with private members or below the key floors,
    a bad signature, another method or URI, an ``iat`` outside the window, or an ``ath`` for
    another token. Answered 401 with ``WWW-Authenticate: DPoP error="invalid_dpop_proof"``.
    """

    code = "invalid_dpop_proof"
    error = "invalid_dpop_proof"


class ReplayedDPoPProof(InvalidDPoPProof):
    """The DPoP proof was already used: a proof is good for one request only.

    Its ``jti`` is in the replay store (RFC 9449 §11.1).
    """

    code = "dpop_replayed"


class UseDPoPNonce(InvalidDPoPProof):
    """The server requires a current DPoP nonce: sign a new proof with the one it sent.

    The proof carried no nonce, or a stale one (RFC 9449 §8, §9): answered 401
    ``use_dpop_nonce`` with a fresh nonce in the ``DPoP-Nonce`` header.
    """

    code = "use_dpop_nonce"
    error = "use_dpop_nonce"

    def __init__(self, message: str | None = None, *, nonce: str = "") -> None:
        super().__init__(message)
        self.nonce = nonce
        """The fresh nonce to send back in ``DPoP-Nonce`` (not a secret)."""


class TokenHashMismatch(InvalidClaim):
    """The ID token's ``at_hash`` or ``c_hash`` does not match the access token or code."""

    code = "hash_mismatch"


class InsufficientScope(TokenError):
    """The token is valid but lacks a scope the request requires (HTTP 403)."""

    code = "insufficient_scope"
    error = "insufficient_scope"
    status_code = 403

    def __init__(self, message: str | None = None, *, required: frozenset[str] = frozenset()):
        super().__init__(message)
        self.required = required


# --- how the request carried its credentials (RFC 6750 §2, §3.1; tokensmith.web) -------


class MissingToken(TokenError):
    """The request carries no bearer token (RFC 6750 §3.1: answer 401 with no error code)."""

    code = "missing_token"
    error = ""  # RFC 6750 §3.1: no ``error`` attribute when no credentials were sent


class InvalidTokenRequest(TokenError):
    """The request presents its credentials in a way RFC 6750 forbids (HTTP 400)."""

    code = "invalid_token_request"
    error = "invalid_request"
    status_code = 400


class MalformedAuthorization(InvalidTokenRequest):
    """The ``Authorization: Bearer`` header does not follow the RFC 6750 §2.1 grammar."""

    code = "malformed_authorization"


class MultipleCredentials(InvalidTokenRequest):
    """The request carries more than one token or uses more than one method to send it."""

    code = "multiple_credentials"


class TokenInQuery(InvalidTokenRequest):
    """A token was sent in the URL query (``access_token``); tokensmith refuses URL tokens."""

    code = "token_in_query"


class InsecureTransport(InvalidTokenRequest):
    """Credentials arrived over plain HTTP, where anyone on the path can read them.

    RFC 6750 §5.3: bearer tokens travel over TLS only. Serve over https, or list the proxy that
    terminates TLS in ``TransportSecurity(trusted_proxies=...)``.
    """

    code = "insecure_transport"


class InvalidClientCertificate(InvalidTokenRequest):
    """A trusted proxy's client-certificate header (``X-Client-Cert``, ``Client-Cert``,
    ``X-Forwarded-Client-Cert``) is malformed, repeated, too large, or not one X.509
    certificate: the request cannot say which certificate the client presented (RFC 8705 §3).

    Only headers from ``TransportSecurity(trusted_proxies=...)`` are read; fix the proxy's
    configuration (see the "Certificate-bound tokens" page).
    """

    code = "invalid_client_certificate"


class CSRFCheckFailed(InvalidTokenRequest):
    """The CSRF token is missing, malformed, forged, bound to another session, or mismatched."""

    code = "csrf_failed"


class CSRFTokenExpired(CSRFCheckFailed):
    """The CSRF token is older than its maximum age (or dated in the future)."""

    code = "csrf_expired"


class NetworkNotAllowed(TokenError):
    """The token may not be used from the client's network (policy or token binding)."""

    code = "network_not_allowed"


# --- not a refusal of the token ------------------------------------------------------------


class Throttled(TokensmithError):
    """Too many refused attempts from this client: answer 429 with ``Retry-After``.

    The token was not examined. ``retry_after`` is in seconds.
    """

    code = "throttled"
    status_code: ClassVar[int] = 429

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendUnavailable(TokensmithError):
    """A backend needed for the decision (key source, revocation store, remote key set) failed.

    Handlers should answer 503: the token was neither accepted nor found invalid. When the
    backend raised something of its own (a key source's ``KeyError``, an unreadable key store's
    ``KeyStoreCorrupt``), that exception is chained as ``__cause__``.
    """

    code = "backend_unavailable"
    status_code: ClassVar[int] = 503


class JWKSFetchError(BackendUnavailable):
    """A remote JWKS could not be fetched or used, and no key set fresh enough was left to serve.

    ``reason`` says what went wrong (``timeout``, ``connection``, ``http_status``, ``redirect``,
    ``too_large``, ``truncated``, ``content_type``, ``invalid_json``, ``invalid_shape``,
    ``no_usable_keys``, ``not_modified``, ``transport``, ``stale``); the message names the URL's
    host, never a token or key material.
    """

    code = "jwks_fetch_failed"

    def __init__(self, message: str | None = None, *, reason: str = "unknown") -> None:
        super().__init__(message)
        self.reason = reason


class DiscoveryError(JWKSFetchError):
    """Authorization-server metadata could not be fetched, or its ``issuer`` is not the one asked.

    ``reason`` is one of :class:`JWKSFetchError`'s, or ``issuer_mismatch`` / ``no_jwks_uri`` /
    ``insecure_url`` (an https issuer's metadata names a plain http URL).
    """

    code = "discovery_failed"


class ConfigurationError(TokensmithError):
    """An option is unknown, contradictory or unsafe; raised at construction time."""

    code = "configuration_error"


class InsecureKeyDirectory(ConfigurationError):
    """A key directory, or a file in it, could be changed by someone else.

    Raised for a directory that is a symbolic link, is not owned by the effective user, or is
    writable by group or others, and for a manifest or lock file that is a symbolic link, not a
    regular file, owned by another user or open to group or others. The message names the path
    and the problem; the store re-checks on every reload, not only at construction.
    """

    code = "insecure_key_directory"


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
    """The key is below tokensmith's strength floor (HMAC < hash size, RSA < 2048 bits, an RSA
    public exponent that is even, 1 or above 2**32, or an RSA modulus with the ROCA
    fingerprint, CVE-2017-15361)."""

    code = "weak_key"


class KeyStoreCorrupt(KeyMaterialError):
    """A key store file is unreadable, truncated, tampered with or not a tokensmith key set.

    The message names the file; it never contains key material.
    """

    code = "keystore_corrupt"


class WrongPassphrase(KeyMaterialError):
    """The passphrase does not open the key store (or one is missing, or was given needlessly)."""

    code = "wrong_passphrase"


# --- OAuth 2.0 protocol errors (RFC 6749 §5.2, RFC 7009 §2.2.1) -----------------------------


class OAuthError(TokensmithError):
    """An OAuth 2.0 error response: ``error`` is the RFC 6749 §5.2 code, with an HTTP status.

    The message is for logs (it never names a secret or a token) and is not sent to the client:
    :func:`tokensmith.oauth.error_response` writes a fixed ``error_description`` per ``error``.
    """

    code = "oauth_error"
    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400


class InvalidRequest(OAuthError):
    """The request misses a parameter, repeats one, or has a malformed value."""

    code = "invalid_request"


class StateMismatch(InvalidRequest):
    """The authorization response's ``state`` is missing or not the one this client sent."""

    code = "state_mismatch"


class DPoPProofRequired(InvalidRequest):
    """This client is registered with ``dpop_bound_access_tokens`` and sent no DPoP proof.

    RFC 9449 §5.2: the authorization server must refuse such a token request; the request is
    incomplete (``invalid_request``), not its proof (``invalid_dpop_proof`` is for a proof that
    was sent and failed verification).
    """

    code = "dpop_proof_required"


class InvalidClient(OAuthError):
    """Client authentication failed (unknown client, bad credentials or assertion): HTTP 401.

    ``auth_scheme`` is the ``Authorization`` scheme the client tried (``"Basic"``), or
    ``None``: :func:`tokensmith.oauth.error_response` then adds the ``WWW-Authenticate``
    challenge RFC 6749 §5.2 requires.
    """

    code = "invalid_client"
    error = "invalid_client"
    status_code = 401

    def __init__(self, message: str | None = None, *, auth_scheme: str | None = None) -> None:
        super().__init__(message)
        self.auth_scheme = auth_scheme


class UnknownClient(InvalidClient):
    """No client is registered under the presented ``client_id`` (``invalid_client``)."""

    code = "unknown_client"


class ClientSecretMismatch(InvalidClient):
    """The presented client secret is not the registered one (``invalid_client``)."""

    code = "client_secret_mismatch"


class MalformedClientCredentials(InvalidClient):
    """The ``Authorization`` header is not RFC 6749 §2.3.1 ``Basic`` client credentials."""

    code = "malformed_client_credentials"


class MissingClientCredentials(InvalidClient):
    """The token request carries no client authentication at all (``invalid_client``)."""

    code = "missing_client_credentials"


class ClientAuthMethodNotRegistered(InvalidClient):
    """The client authenticated by a method it is not registered for (``invalid_client``)."""

    code = "auth_method_not_registered"


class ClientCertificateMismatch(InvalidClient):
    """No client certificate, or not the one registered for the client (RFC 8705 §2)."""

    code = "client_certificate_mismatch"


class ConflictingClientCredentials(InvalidRequest):
    """The request uses more than one client authentication method, or names two clients."""

    code = "conflicting_client_credentials"


class InvalidGrant(OAuthError):
    """The grant (code, refresh token, PKCE verifier) is invalid, expired, used or not yours."""

    code = "invalid_grant"
    error = "invalid_grant"


class AuthorizationCodeReused(InvalidGrant):
    """An authorization code was redeemed twice: revoke what was issued from it (RFC 6749 §4.1.2).

    ``grant_id`` names the grant (use it as the ``sid`` of the tokens you issue from a code, then
    revoke that session); ``client_id`` and ``subject`` say whose grant it was.
    """

    code = "code_reused"

    def __init__(
        self, message: str | None = None, *, grant_id: str, client_id: str, subject: str
    ) -> None:
        super().__init__(message)
        self.grant_id = grant_id
        self.client_id = client_id
        self.subject = subject


class AuthorizationCodeKeyMismatch(InvalidGrant):
    """The code was bound to a DPoP key (``dpop_jkt``, RFC 9449 §10) and the token request
    proved no key, or another one. The code is consumed, like any failed redemption."""

    code = "code_key_mismatch"


class InvalidRefreshToken(InvalidGrant):
    """The refresh token is malformed, unknown, or not bound to this client (``invalid_grant``)."""

    code = "invalid_refresh_token"


class RefreshTokenKeyMismatch(InvalidRefreshToken):
    """The refresh token is bound to a DPoP key and the request has no proof by that key.

    RFC 9449 §5.8: a public client's refresh token is usable only with a DPoP proof by the key
    it was issued to; a stolen one is useless without that key. The token is not consumed.
    """

    code = "refresh_token_key_mismatch"


class RefreshTokenExpired(InvalidRefreshToken):
    """The refresh token's idle lifetime or its family's absolute lifetime is over."""

    code = "refresh_token_expired"


class RefreshTokenRevoked(InvalidRefreshToken):
    """The refresh token's family (its login session) was revoked: log in again."""

    code = "refresh_token_revoked"


class RefreshTokenReused(InvalidRefreshToken):
    """An already-used refresh token was presented: the whole family is now revoked.

    RFC 9700 §4.14: one of the two parties holding that token is an attacker. ``session_id``
    names the family (the ``sid`` of its access tokens); ``subject`` and ``client_id`` whose it
    was.
    """

    code = "refresh_token_reused"

    def __init__(
        self,
        message: str | None = None,
        *,
        session_id: str,
        subject: str,
        client_id: str | None,
    ) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.subject = subject
        self.client_id = client_id


class UnauthorizedClient(OAuthError):
    """The authenticated client may not use this grant type."""

    code = "unauthorized_client"
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """The ``grant_type`` is not one this endpoint supports."""

    code = "unsupported_grant_type"
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """The requested scope is malformed, unknown, or none of it is allowed for the client."""

    code = "invalid_scope"
    error = "invalid_scope"


class UnsupportedTokenType(OAuthError):
    """The revocation endpoint does not handle tokens of the hinted type (RFC 7009 §2.2.1)."""

    code = "unsupported_token_type"
    error = "unsupported_token_type"
