"""OAuth 2.0 and OpenID Connect building blocks: everything token-level an authorization server,
its clients and the APIs behind it need, so nobody hand-rolls them.

* RFC 9068 access tokens: :func:`issue_access_token`, :func:`access_token_validator`
* client credentials (RFC 6749 §4.4): :class:`Client`, :func:`client_credentials_grant`
* token endpoint client authentication (``client_secret_basic`` / ``_post`` with scrypt-hashed
  secrets, ``private_key_jwt``, RFC 8705 ``tls_client_auth``): :class:`ClientAuthenticator`
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
* resource servers clients can discover: RFC 8707 resource indicators
  (:func:`canonical_resource`, the ``audience`` to validate) and RFC 9728 metadata
  (:class:`ProtectedResourceMetadata`, :func:`resource_metadata_url`)

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
    from .basic_auth import MAX_BASIC_CREDENTIALS_LENGTH as MAX_BASIC_CREDENTIALS_LENGTH
    from .basic_auth import basic_authorization as basic_authorization
    from .basic_auth import parse_basic_authorization as parse_basic_authorization
    from .client_auth import TOKEN_ENDPOINT_AUTH_METHODS as TOKEN_ENDPOINT_AUTH_METHODS
    from .client_auth import ClientAuthenticator as ClientAuthenticator
    from .client_auth import ClientRegistration as ClientRegistration
    from .client_auth import ClientRegistry as ClientRegistry
    from .client_auth import MemoryClientRegistry as MemoryClientRegistry
    from .client_credentials import Client as Client
    from .client_credentials import client_credentials_grant as client_credentials_grant
    from .client_credentials import grant_scopes as grant_scopes
    from .client_credentials import parse_scope as parse_scope
    from .client_credentials import token_response as token_response
    from .client_secrets import MAX_CLIENT_SECRET_LENGTH as MAX_CLIENT_SECRET_LENGTH
    from .client_secrets import MIN_CLIENT_SECRET_LENGTH as MIN_CLIENT_SECRET_LENGTH
    from .client_secrets import SCRYPT_LOG2_N as SCRYPT_LOG2_N
    from .client_secrets import client_secret_needs_rehash as client_secret_needs_rehash
    from .client_secrets import generate_client_secret as generate_client_secret
    from .client_secrets import hash_client_secret as hash_client_secret
    from .client_secrets import verify_client_secret as verify_client_secret
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
    from .resource import RESOURCE_METADATA_PATH as RESOURCE_METADATA_PATH
    from .resource import canonical_resource as canonical_resource
    from .resource import resource_metadata_url as resource_metadata_url
    from .resource_metadata import BEARER_METHODS as BEARER_METHODS
    from .resource_metadata import DEFAULT_METADATA_MAX_AGE as DEFAULT_METADATA_MAX_AGE
    from .resource_metadata import ProtectedResourceMetadata as ProtectedResourceMetadata
    from .resource_metadata import ResourceMetadataMembers as ResourceMetadataMembers
    from .responses import ERROR_DESCRIPTIONS as ERROR_DESCRIPTIONS
    from .responses import NO_STORE_HEADERS as NO_STORE_HEADERS
    from .responses import OAuthResponse as OAuthResponse
    from .responses import error_description as error_description
    from .responses import error_response as error_response
    from .responses import json_response as json_response
    from .tls_client_auth import TLSClientAuth as TLSClientAuth
    from .tls_client_auth import certificate_thumbprint as certificate_thumbprint
    from .tls_client_auth import check_self_signed_certificate as check_self_signed_certificate
    from .tls_client_auth import (
        registered_certificate_thumbprints as registered_certificate_thumbprints,
    )


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
    "MAX_BASIC_CREDENTIALS_LENGTH": ".basic_auth",
    "basic_authorization": ".basic_auth",
    "parse_basic_authorization": ".basic_auth",
    "TOKEN_ENDPOINT_AUTH_METHODS": ".client_auth",
    "ClientAuthenticator": ".client_auth",
    "ClientRegistration": ".client_auth",
    "ClientRegistry": ".client_auth",
    "MemoryClientRegistry": ".client_auth",
    "Client": ".client_credentials",
    "client_credentials_grant": ".client_credentials",
    "grant_scopes": ".client_credentials",
    "parse_scope": ".client_credentials",
    "token_response": ".client_credentials",
    "MAX_CLIENT_SECRET_LENGTH": ".client_secrets",
    "MIN_CLIENT_SECRET_LENGTH": ".client_secrets",
    "SCRYPT_LOG2_N": ".client_secrets",
    "client_secret_needs_rehash": ".client_secrets",
    "generate_client_secret": ".client_secrets",
    "hash_client_secret": ".client_secrets",
    "verify_client_secret": ".client_secrets",
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
    "RESOURCE_METADATA_PATH": ".resource",
    "canonical_resource": ".resource",
    "resource_metadata_url": ".resource",
    "BEARER_METHODS": ".resource_metadata",
    "DEFAULT_METADATA_MAX_AGE": ".resource_metadata",
    "ProtectedResourceMetadata": ".resource_metadata",
    "ResourceMetadataMembers": ".resource_metadata",
    "ERROR_DESCRIPTIONS": ".responses",
    "NO_STORE_HEADERS": ".responses",
    "OAuthResponse": ".responses",
    "error_description": ".responses",
    "error_response": ".responses",
    "json_response": ".responses",
    "TLSClientAuth": ".tls_client_auth",
    "certificate_thumbprint": ".tls_client_auth",
    "check_self_signed_certificate": ".tls_client_auth",
    "registered_certificate_thumbprints": ".tls_client_auth",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
