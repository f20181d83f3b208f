"""OAuth 2.0 and OpenID Connect building blocks: everything token-level an authorization server,
its clients and the APIs behind it need, so nobody hand-rolls them.

* RFC 9068 access tokens: :func:`issue_access_token`, :func:`access_token_validator`
* client credentials (RFC 6749 §4.4): :class:`Client`, :func:`client_credentials_grant`
* client assertions (RFC 7523, ``private_key_jwt``): :func:`create_client_assertion`,
  :func:`validate_client_assertion`, spending each ``jti`` in a replay store of
  :mod:`tokensmith.replay` (SQLite or Redis in production; memory for tests)
* authorization code flow: PKCE (RFC 7636), ``state`` / ``nonce``, :class:`AuthorizationCodes`
* OpenID Connect ID tokens: :class:`IDTokenValidator`
* introspection (RFC 7662) and revocation (RFC 7009): :func:`introspection_response`,
  :func:`revocation_response`
* request parameters, checked once for every helper: :func:`request_param`

The implicit grant is deliberately absent (RFC 9700 §2.1.2): use the code flow with PKCE.
"""

from __future__ import annotations

from .._secrets import secrets_equal
from .access_tokens import (
    ACCESS_TOKEN_REQUIRED_CLAIMS,
    ACCESS_TOKEN_TYPE,
    access_token_validator,
    issue_access_token,
)
from .assertions import (
    ASSERTION_TOKEN_TYPES,
    CLIENT_ASSERTION_TYPE,
    MAX_ASSERTION_LIFETIME,
    authenticate_client,
    create_client_assertion,
    unverified_client_id,
    validate_client_assertion,
)
from .client_credentials import (
    Client,
    client_credentials_grant,
    grant_scopes,
    parse_scope,
    token_response,
)
from .codes import (
    DEFAULT_CODE_TTL,
    AuthorizationCodes,
    AuthorizationCodeStore,
    AuthorizationGrant,
    MemoryAuthorizationCodeStore,
    code_hash,
)
from .endpoints import (
    INTROSPECTION_CLAIMS,
    RefreshRevoker,
    audience_or_owner,
    introspection_response,
    revocation_response,
)
from .oidc import ID_TOKEN_REQUIRED_CLAIMS, ID_TOKEN_TYPES, IDTokenValidator, token_hash
from .params import MAX_PARAM_LENGTH, request_param
from .pkce import (
    MAX_VERIFIER_LENGTH,
    MIN_VERIFIER_LENGTH,
    PKCEChallenge,
    code_challenge,
    generate_code_verifier,
    generate_nonce,
    generate_state,
    parse_code_challenge,
    verify_code_verifier,
    verify_state,
)
from .responses import (
    ERROR_DESCRIPTIONS,
    NO_STORE_HEADERS,
    OAuthResponse,
    error_description,
    error_response,
    json_response,
)

__all__ = [
    "ACCESS_TOKEN_REQUIRED_CLAIMS",
    "ACCESS_TOKEN_TYPE",
    "ASSERTION_TOKEN_TYPES",
    "CLIENT_ASSERTION_TYPE",
    "DEFAULT_CODE_TTL",
    "ERROR_DESCRIPTIONS",
    "ID_TOKEN_REQUIRED_CLAIMS",
    "ID_TOKEN_TYPES",
    "INTROSPECTION_CLAIMS",
    "MAX_ASSERTION_LIFETIME",
    "MAX_PARAM_LENGTH",
    "MAX_VERIFIER_LENGTH",
    "MIN_VERIFIER_LENGTH",
    "NO_STORE_HEADERS",
    "AuthorizationCodeStore",
    "AuthorizationCodes",
    "AuthorizationGrant",
    "Client",
    "IDTokenValidator",
    "MemoryAuthorizationCodeStore",
    "OAuthResponse",
    "PKCEChallenge",
    "RefreshRevoker",
    "access_token_validator",
    "audience_or_owner",
    "authenticate_client",
    "client_credentials_grant",
    "code_challenge",
    "code_hash",
    "create_client_assertion",
    "error_description",
    "error_response",
    "generate_code_verifier",
    "generate_nonce",
    "generate_state",
    "grant_scopes",
    "introspection_response",
    "issue_access_token",
    "json_response",
    "parse_code_challenge",
    "parse_scope",
    "request_param",
    "revocation_response",
    "secrets_equal",
    "token_hash",
    "token_response",
    "unverified_client_id",
    "validate_client_assertion",
    "verify_code_verifier",
    "verify_state",
]
