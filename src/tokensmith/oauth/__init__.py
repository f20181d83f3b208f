"""OAuth 2.0 and OpenID Connect building blocks: everything token-level an authorization server,
its clients and the APIs behind it need, so nobody hand-rolls them.

* RFC 9068 access tokens: :func:`issue_access_token`, :func:`access_token_validator`
* client credentials (RFC 6749 §4.4): :class:`Client`, :func:`client_credentials_grant`
* client assertions (RFC 7523, ``private_key_jwt``): :func:`create_client_assertion`,
  :func:`validate_client_assertion`, spending each ``jti`` in a replay store of
  :mod:`tokensmith.replay` (SQLite or Redis in production; memory for tests)
* DPoP at the token endpoint (RFC 9449 §5): :func:`verify_token_request_proof` (and
  :func:`averify_token_request_proof`), :func:`dpop_error_response`; the grant
  helpers bind tokens to a ``confirmation`` and answer ``token_type: DPoP``
* authorization code flow: PKCE (RFC 7636), ``state`` / ``nonce``, :class:`AuthorizationCodes`
* OpenID Connect ID tokens: :class:`IDTokenValidator`
* introspection (RFC 7662) and revocation (RFC 7009): :func:`introspection_response`,
  :func:`revocation_response`
* request parameters, checked once for every helper: :func:`request_param`

The implicit grant is deliberately absent (RFC 9700 §2.1.2): use the code flow with PKCE.
Every name is imported on first use.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .._secrets import secrets_equal as secrets_equal
    from .access_tokens import ACCESS_TOKEN_REQUIRED_CLAIMS as ACCESS_TOKEN_REQUIRED_CLAIMS
    from .access_tokens import ACCESS_TOKEN_TYPE as ACCESS_TOKEN_TYPE
    from .access_tokens import access_token_validator as access_token_validator
    from .access_tokens import issue_access_token as issue_access_token
    from .assertions import ASSERTION_TOKEN_TYPES as ASSERTION_TOKEN_TYPES
    from .assertions import CLIENT_ASSERTION_TYPE as CLIENT_ASSERTION_TYPE
    from .assertions import MAX_ASSERTION_LIFETIME as MAX_ASSERTION_LIFETIME
    from .assertions import authenticate_client as authenticate_client
    from .assertions import create_client_assertion as create_client_assertion
    from .assertions import unverified_client_id as unverified_client_id
    from .assertions import validate_client_assertion as validate_client_assertion
    from .client_credentials import Client as Client
    from .client_credentials import client_credentials_grant as client_credentials_grant
    from .client_credentials import grant_scopes as grant_scopes
    from .client_credentials import parse_scope as parse_scope
    from .client_credentials import token_response as token_response
    from .codes import DEFAULT_CODE_TTL as DEFAULT_CODE_TTL
    from .codes import AuthorizationCodes as AuthorizationCodes
    from .codes import AuthorizationCodeStore as AuthorizationCodeStore
    from .codes import AuthorizationGrant as AuthorizationGrant
    from .codes import MemoryAuthorizationCodeStore as MemoryAuthorizationCodeStore
    from .codes import code_hash as code_hash
    from .dpop_binding import BEARER_TOKEN_TYPE as BEARER_TOKEN_TYPE
    from .dpop_binding import DPOP_TOKEN_TYPE as DPOP_TOKEN_TYPE
    from .dpop_binding import AsyncDPoPProofVerifier as AsyncDPoPProofVerifier
    from .dpop_binding import DPoPProofVerifier as DPoPProofVerifier
    from .dpop_binding import VerifiedDPoPProof as VerifiedDPoPProof
    from .dpop_binding import access_token_type as access_token_type
    from .dpop_binding import averify_token_request_proof as averify_token_request_proof
    from .dpop_binding import dpop_error_response as dpop_error_response
    from .dpop_binding import require_dpop as require_dpop
    from .dpop_binding import verify_token_request_proof as verify_token_request_proof
    from .endpoints import INTROSPECTION_CLAIMS as INTROSPECTION_CLAIMS
    from .endpoints import RefreshRevoker as RefreshRevoker
    from .endpoints import audience_or_owner as audience_or_owner
    from .endpoints import introspection_response as introspection_response
    from .endpoints import revocation_response as revocation_response
    from .oidc import ID_TOKEN_REQUIRED_CLAIMS as ID_TOKEN_REQUIRED_CLAIMS
    from .oidc import ID_TOKEN_TYPES as ID_TOKEN_TYPES
    from .oidc import IDTokenValidator as IDTokenValidator
    from .oidc import token_hash as token_hash
    from .params import MAX_PARAM_LENGTH as MAX_PARAM_LENGTH
    from .params import request_param as request_param
    from .pkce import MAX_VERIFIER_LENGTH as MAX_VERIFIER_LENGTH
    from .pkce import MIN_VERIFIER_LENGTH as MIN_VERIFIER_LENGTH
    from .pkce import PKCEChallenge as PKCEChallenge
    from .pkce import code_challenge as code_challenge
    from .pkce import generate_code_verifier as generate_code_verifier
    from .pkce import generate_nonce as generate_nonce
    from .pkce import generate_state as generate_state
    from .pkce import parse_code_challenge as parse_code_challenge
    from .pkce import verify_code_verifier as verify_code_verifier
    from .pkce import verify_state as verify_state
    from .responses import ERROR_DESCRIPTIONS as ERROR_DESCRIPTIONS
    from .responses import NO_STORE_HEADERS as NO_STORE_HEADERS
    from .responses import OAuthResponse as OAuthResponse
    from .responses import error_description as error_description
    from .responses import error_response as error_response
    from .responses import json_response as json_response

_LAZY = {
    "secrets_equal": ".._secrets",
    "ACCESS_TOKEN_REQUIRED_CLAIMS": ".access_tokens",
    "ACCESS_TOKEN_TYPE": ".access_tokens",
    "access_token_validator": ".access_tokens",
    "issue_access_token": ".access_tokens",
    "ASSERTION_TOKEN_TYPES": ".assertions",
    "CLIENT_ASSERTION_TYPE": ".assertions",
    "MAX_ASSERTION_LIFETIME": ".assertions",
    "authenticate_client": ".assertions",
    "create_client_assertion": ".assertions",
    "unverified_client_id": ".assertions",
    "validate_client_assertion": ".assertions",
    "Client": ".client_credentials",
    "client_credentials_grant": ".client_credentials",
    "grant_scopes": ".client_credentials",
    "parse_scope": ".client_credentials",
    "token_response": ".client_credentials",
    "DEFAULT_CODE_TTL": ".codes",
    "AuthorizationCodes": ".codes",
    "AuthorizationCodeStore": ".codes",
    "AuthorizationGrant": ".codes",
    "MemoryAuthorizationCodeStore": ".codes",
    "code_hash": ".codes",
    "BEARER_TOKEN_TYPE": ".dpop_binding",
    "AsyncDPoPProofVerifier": ".dpop_binding",
    "DPOP_TOKEN_TYPE": ".dpop_binding",
    "DPoPProofVerifier": ".dpop_binding",
    "VerifiedDPoPProof": ".dpop_binding",
    "access_token_type": ".dpop_binding",
    "averify_token_request_proof": ".dpop_binding",
    "dpop_error_response": ".dpop_binding",
    "require_dpop": ".dpop_binding",
    "verify_token_request_proof": ".dpop_binding",
    "INTROSPECTION_CLAIMS": ".endpoints",
    "RefreshRevoker": ".endpoints",
    "audience_or_owner": ".endpoints",
    "introspection_response": ".endpoints",
    "revocation_response": ".endpoints",
    "ID_TOKEN_REQUIRED_CLAIMS": ".oidc",
    "ID_TOKEN_TYPES": ".oidc",
    "IDTokenValidator": ".oidc",
    "token_hash": ".oidc",
    "MAX_PARAM_LENGTH": ".params",
    "request_param": ".params",
    "MAX_VERIFIER_LENGTH": ".pkce",
    "MIN_VERIFIER_LENGTH": ".pkce",
    "PKCEChallenge": ".pkce",
    "code_challenge": ".pkce",
    "generate_code_verifier": ".pkce",
    "generate_nonce": ".pkce",
    "generate_state": ".pkce",
    "parse_code_challenge": ".pkce",
    "verify_code_verifier": ".pkce",
    "verify_state": ".pkce",
    "ERROR_DESCRIPTIONS": ".responses",
    "NO_STORE_HEADERS": ".responses",
    "OAuthResponse": ".responses",
    "error_description": ".responses",
    "error_response": ".responses",
    "json_response": ".responses",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
