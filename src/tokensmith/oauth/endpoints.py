"""Introspection (RFC 7662) and revocation (RFC 7009) endpoint logic, framework-free.

Each function takes the request's form parameters and the already-authenticated calling
client (``None`` when authentication failed or was missing), and returns an
:class:`~tokensmith.oauth.OAuthResponse` to unpack as ``status, headers, body``.

Introspection answers ``{"active": false}`` for *every* refusal (bad signature, expired,
revoked, wrong type, not the caller's business...) and never says why. Revocation answers 200
for unknown, invalid and already-revoked tokens (RFC 7009 §2.2): a caller learns nothing about
tokens it does not own. Both answer 503 when a backend cannot decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from ..claims import VerifiedToken
from ..errors import (
    BackendUnavailable,
    ConfigurationError,
    InvalidClient,
    InvalidRequest,
    TokenError,
    UnsupportedTokenType,
)
from ..revocation.base import RevocationList, revoke_token
from ..validator import Validator
from .client_credentials import Client
from .params import request_param
from .responses import (
    ERROR_DESCRIPTIONS,
    NO_STORE_HEADERS,
    OAuthResponse,
    error_response,
    json_response,
)

__all__ = [
    "INTROSPECTION_CLAIMS",
    "RefreshRevoker",
    "audience_or_owner",
    "introspection_response",
    "revocation_response",
]

INTROSPECTION_CLAIMS: Final = ("sub", "aud", "iss", "exp", "iat", "nbf", "jti", "client_id")
"""Claims copied into an active introspection response (RFC 7662 §2.2), when present."""

RefreshRevoker = Callable[[str, str], bool]
"""``(token, client_id) -> bool``: revoke a refresh token of that client; ``False`` if unknown."""

_INACTIVE: Final[Mapping[str, Any]] = {"active": False}


def _unavailable() -> OAuthResponse:
    headers = {**NO_STORE_HEADERS, "Retry-After": "1"}
    error = "temporarily_unavailable"
    body = {"error": error, "error_description": ERROR_DESCRIPTIONS[error]}
    return OAuthResponse(503, headers, MappingProxyType(body))


def _token_param(params: Mapping[str, str]) -> str:
    token = request_param(params, "token", required=True)
    assert token is not None  # required
    return token


def audience_or_owner(caller: Client, token: VerifiedToken) -> bool:
    """Default introspection rule: the caller is an audience of the token or the client it
    was issued to. Resource servers introspect with their resource identifier as client id."""
    return caller.client_id in token.audience or caller.client_id == token.client_id


def introspection_response(
    params: Mapping[str, str],
    *,
    caller: Client | None,
    validator: Validator,
    may_introspect: Callable[[Client, VerifiedToken], bool] = audience_or_owner,
) -> OAuthResponse:
    """Answer an RFC 7662 introspection request.

    :param caller: the authenticated client calling the endpoint (``None``: 401
        ``invalid_client``; RFC 7662 §2.1 requires authorization).
    :param validator: validates the token; give it the revocation list so revoked tokens are
        inactive (:func:`~tokensmith.oauth.access_token_validator` for RFC 9068 tokens).
    :param may_introspect: whether this caller may learn about that token (default
        :func:`audience_or_owner`); ``False`` answers ``active: false``.

    ``token_type_hint`` is accepted and ignored (only access tokens are introspected here).
    Parameters are read with :func:`~tokensmith.oauth.request_param`: a missing, repeated or
    non-text ``token`` is a 400 ``invalid_request``.
    """
    if not isinstance(validator, Validator):
        raise ConfigurationError("validator must be a Validator")
    if caller is None:
        return error_response(InvalidClient("the caller must authenticate"), auth_scheme="Basic")
    try:
        token = validator.validate(_token_param(params))
    except InvalidRequest as exc:
        return error_response(exc)
    except TokenError:
        return json_response(200, _INACTIVE)
    except BackendUnavailable:
        return _unavailable()
    if not may_introspect(caller, token):
        return json_response(200, _INACTIVE)
    body: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    for name in INTROSPECTION_CLAIMS:
        value = token.claims.get(name)
        if value is not None:
            body[name] = value
    if token.scopes:
        body["scope"] = " ".join(sorted(token.scopes))
    return json_response(200, body)


def revocation_response(  # noqa: C901 - RFC 7009 §2.1-2.2 in order, one branch per rule
    params: Mapping[str, str],
    *,
    caller: Client | None,
    validator: Validator | None = None,
    revocations: RevocationList | None = None,
    refresh_revoker: RefreshRevoker | None = None,
) -> OAuthResponse:
    """Answer an RFC 7009 revocation request.

    Access tokens (JWTs) are recognised with ``validator`` and revoked by ``(iss, jti)`` in
    ``revocations``; refresh tokens are handed to ``refresh_revoker``. A token is revoked only
    when it was issued to ``caller`` (RFC 7009 §2.1); otherwise, and for unknown or invalid
    tokens, the answer is still 200 and nothing happens. A ``token_type_hint`` this server
    cannot revoke (no refresh revoker, or an unknown value) answers 400
    ``unsupported_token_type``; a known hint only changes which kind is tried first. A missing,
    repeated or non-text ``token`` (or hint) is a 400 ``invalid_request``.
    """
    if (validator is None) != (revocations is None):
        raise ConfigurationError("pass validator and revocations together")
    if validator is None and refresh_revoker is None:
        raise ConfigurationError(
            "nothing to revoke: pass validator+revocations or a refresh_revoker"
        )
    if caller is None:
        return error_response(InvalidClient("the caller must authenticate"), auth_scheme="Basic")
    supported = set()
    if validator is not None:
        supported.add("access_token")
    if refresh_revoker is not None:
        supported.add("refresh_token")
    try:
        token = _token_param(params)
        hint = request_param(params, "token_type_hint")
        if hint is not None and hint not in supported:
            raise UnsupportedTokenType("this server does not revoke that type of token")
    except (InvalidRequest, UnsupportedTokenType) as exc:
        return error_response(exc)
    order = (
        ["refresh_token", "access_token"]
        if hint == "refresh_token"
        else ["access_token", "refresh_token"]
    )
    try:
        for kind in order:
            if kind not in supported:
                continue
            if kind == "access_token":
                assert validator is not None
                assert revocations is not None
                if _revoke_access(token, caller, validator, revocations):
                    break
            else:
                assert refresh_revoker is not None
                if refresh_revoker(token, caller.client_id):
                    break
    except BackendUnavailable:
        return _unavailable()
    return json_response(200, {})


def _revoke_access(
    raw: str, caller: Client, validator: Validator, revocations: RevocationList
) -> bool:
    """Revoke ``raw`` if it is a valid access token of ``caller``; ``True`` if it was ours."""
    try:
        token = validator.validate(raw)
    except TokenError:
        return False
    if token.client_id == caller.client_id and token.jti is not None:
        revoke_token(revocations, token)
    return True  # a valid access token: stop looking, revoked or not ours
