"""tokensmith: issue and validate API tokens (JWT), secure by default.

The names most services need are importable from here. Backends with heavier or optional
dependencies (files, SQLite, HTTP, Redis, refresh tokens, OAuth) are imported lazily on first
use, so ``import tokensmith`` stays cheap and works without the ``redis`` package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .claims import DEFAULT_SCOPE_CLAIMS, VerifiedToken, fingerprint
from .errors import (
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    AmbiguousKey,
    AuthenticationTooOld,
    AuthorizationCodeReused,
    BackendUnavailable,
    ClaimCheckFailed,
    ConfigurationError,
    CSRFCheckFailed,
    CSRFTokenExpired,
    DiscoveryError,
    ExpiredToken,
    ImmatureToken,
    InsecureKeyDirectory,
    InsufficientScope,
    InvalidAudience,
    InvalidAuthorizedParty,
    InvalidClaim,
    InvalidClient,
    InvalidEncoding,
    InvalidGrant,
    InvalidIssuer,
    InvalidJSON,
    InvalidKey,
    InvalidNonce,
    InvalidRefreshToken,
    InvalidRequest,
    InvalidScope,
    InvalidSignature,
    InvalidTokenRequest,
    InvalidTokenType,
    IssuedInFuture,
    JWKSFetchError,
    KeyMaterialError,
    KeyStoreCorrupt,
    MalformedAuthorization,
    MalformedToken,
    MissingClaim,
    MissingToken,
    MultipleCredentials,
    NetworkNotAllowed,
    NoSigningKey,
    OAuthError,
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
    ReplayedToken,
    ReservedClaim,
    StateMismatch,
    Throttled,
    TokenError,
    TokenHashMismatch,
    TokenInQuery,
    TokenRevoked,
    TokensmithError,
    TokenTooLarge,
    TokenTooOld,
    UnauthorizedClient,
    UnknownKey,
    UnsupportedGrantType,
    UnsupportedHeader,
    UnsupportedTokenType,
    WeakKey,
    WrongPassphrase,
)
from .keys import SUPPORTED_ALGORITHMS, Key
from .keyset import KeySet, RotationPolicy
from .revocation.base import AsyncRevocationList, RevocationList, revoke_token
from .signer import IssuedToken, Signer
from .stores import AsyncKeySource, KeySource, KeyStore, MemoryKeyStore
from .validator import NO_AUDIENCE, UNCHECKED, UNSAFE_ANY_AUDIENCE, Policy, Validator

if TYPE_CHECKING:
    from .cache import ValidatedTokenCache
    from .jwks.discovery import adiscover, discover
    from .jwks.document import SkippedKey
    from .jwks.publish import jwks_response
    from .jwks.remote import AsyncRemoteJWKS, RemoteJWKS
    from .observability import AuditEvent, JsonFormatter, LoggingSink, QueueSink
    from .refresh import MemoryRefreshStore, RefreshManager, RefreshStore, TokenPair
    from .revocation.memory import MemoryRevocationList
    from .revocation.redis import AsyncRedisRevocationList, RedisRevocationList
    from .revocation.sqlite import SQLiteRevocationList
    from .stores.file import FileKeyStore
    from .stores.redis import RedisKeyStore
    from .web import CSRFProtector, bearer_token, extract_token, token_cookie, www_authenticate
    from .web.netrules import NetworkPolicy
    from .web.ratelimit import (
        AsyncRedisRateLimiter,
        AsyncRefusalThrottle,
        MemoryRateLimiter,
        RedisRateLimiter,
        RefusalThrottle,
    )

__version__ = "0.1.0.dev0"

_LAZY: dict[str, str] = {
    "CSRFProtector": "web",
    "token_cookie": "web",
    "extract_token": "web",
    "MemoryRateLimiter": "web.ratelimit",
    "RedisRateLimiter": "web.ratelimit",
    "AsyncRedisRateLimiter": "web.ratelimit",
    "AsyncRefusalThrottle": "web.ratelimit",
    "RefusalThrottle": "web.ratelimit",
    "NetworkPolicy": "web.netrules",
    "QueueSink": "observability",
    "AsyncRedisRevocationList": "revocation.redis",
    "AsyncRemoteJWKS": "jwks.remote",
    "AuditEvent": "observability",
    "FileKeyStore": "stores.file",
    "JsonFormatter": "observability",
    "LoggingSink": "observability",
    "MemoryRefreshStore": "refresh",
    "RedisKeyStore": "stores.redis",
    "RedisRevocationList": "revocation.redis",
    "RefreshManager": "refresh",
    "RefreshStore": "refresh",
    "RemoteJWKS": "jwks.remote",
    "SQLiteRevocationList": "revocation.sqlite",
    "SkippedKey": "jwks.document",
    "TokenPair": "refresh",
    "ValidatedTokenCache": "cache",
    "MemoryRevocationList": "revocation.memory",
    "adiscover": "jwks.discovery",
    "bearer_token": "web",
    "discover": "jwks.discovery",
    "jwks_response": "jwks.publish",
    "www_authenticate": "web",
}


def __getattr__(name: str) -> Any:
    """Import optional backends on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokensmith' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_SCOPE_CLAIMS",
    "NO_AUDIENCE",
    "SUPPORTED_ALGORITHMS",
    "UNCHECKED",
    "UNSAFE_ANY_AUDIENCE",
    "AlgorithmMismatch",
    "AlgorithmNotAllowed",
    "AmbiguousKey",
    "AsyncKeySource",
    "AsyncRedisRateLimiter",
    "AsyncRedisRevocationList",
    "AsyncRefusalThrottle",
    "AsyncRemoteJWKS",
    "AsyncRevocationList",
    "AuditEvent",
    "AuthenticationTooOld",
    "AuthorizationCodeReused",
    "BackendUnavailable",
    "CSRFCheckFailed",
    "CSRFProtector",
    "CSRFTokenExpired",
    "ClaimCheckFailed",
    "ConfigurationError",
    "DiscoveryError",
    "ExpiredToken",
    "FileKeyStore",
    "ImmatureToken",
    "InsecureKeyDirectory",
    "InsufficientScope",
    "InvalidAudience",
    "InvalidAuthorizedParty",
    "InvalidClaim",
    "InvalidClient",
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
    "IssuedToken",
    "JWKSFetchError",
    "JsonFormatter",
    "Key",
    "KeyMaterialError",
    "KeySet",
    "KeySource",
    "KeyStore",
    "KeyStoreCorrupt",
    "LoggingSink",
    "MalformedAuthorization",
    "MalformedToken",
    "MemoryKeyStore",
    "MemoryRateLimiter",
    "MemoryRefreshStore",
    "MemoryRevocationList",
    "MissingClaim",
    "MissingToken",
    "MultipleCredentials",
    "NetworkNotAllowed",
    "NetworkPolicy",
    "NoSigningKey",
    "OAuthError",
    "Policy",
    "QueueSink",
    "RedisKeyStore",
    "RedisRateLimiter",
    "RedisRevocationList",
    "RefreshManager",
    "RefreshStore",
    "RefreshTokenExpired",
    "RefreshTokenReused",
    "RefreshTokenRevoked",
    "RefusalThrottle",
    "RemoteJWKS",
    "ReplayedToken",
    "ReservedClaim",
    "RevocationList",
    "RotationPolicy",
    "SQLiteRevocationList",
    "Signer",
    "SkippedKey",
    "StateMismatch",
    "Throttled",
    "TokenError",
    "TokenHashMismatch",
    "TokenInQuery",
    "TokenPair",
    "TokenRevoked",
    "TokenTooLarge",
    "TokenTooOld",
    "TokensmithError",
    "UnauthorizedClient",
    "UnknownKey",
    "UnsupportedGrantType",
    "UnsupportedHeader",
    "UnsupportedTokenType",
    "ValidatedTokenCache",
    "Validator",
    "VerifiedToken",
    "WeakKey",
    "WrongPassphrase",
    "__version__",
    "adiscover",
    "bearer_token",
    "discover",
    "extract_token",
    "fingerprint",
    "jwks_response",
    "revoke_token",
    "token_cookie",
    "www_authenticate",
]
