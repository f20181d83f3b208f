"""tokensmith: issue and validate API tokens (JWT), secure by default.

The names most services need are importable from here; backends with optional dependencies
live in their own modules (``tokensmith.stores``, ``tokensmith.revocation``).
"""

from __future__ import annotations

from .claims import VerifiedToken, fingerprint
from .errors import (
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    AmbiguousKey,
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
    InvalidJSON,
    InvalidKey,
    InvalidSignature,
    InvalidTokenType,
    IssuedInFuture,
    KeyMaterialError,
    MalformedToken,
    MissingClaim,
    NoSigningKey,
    ReservedClaim,
    TokenError,
    TokenRevoked,
    TokensmithError,
    TokenTooLarge,
    TokenTooOld,
    UnknownKey,
    UnsupportedHeader,
    WeakKey,
)
from .keys import SUPPORTED_ALGORITHMS, Key
from .keyset import KeySet, RotationPolicy
from .revocation import AsyncRevocationList, MemoryRevocationList, RevocationList, revoke_token
from .signer import IssuedToken, Signer
from .stores import AsyncKeySource, KeySource, KeyStore, MemoryKeyStore
from .validator import UNCHECKED, Policy, Validator

__version__ = "0.1.0.dev0"

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "UNCHECKED",
    "AlgorithmMismatch",
    "AlgorithmNotAllowed",
    "AmbiguousKey",
    "AsyncKeySource",
    "AsyncRevocationList",
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
    "IssuedToken",
    "Key",
    "KeyMaterialError",
    "KeySet",
    "KeySource",
    "KeyStore",
    "MalformedToken",
    "MemoryKeyStore",
    "MemoryRevocationList",
    "MissingClaim",
    "NoSigningKey",
    "Policy",
    "ReservedClaim",
    "RevocationList",
    "RotationPolicy",
    "Signer",
    "TokenError",
    "TokenRevoked",
    "TokenTooLarge",
    "TokenTooOld",
    "TokensmithError",
    "UnknownKey",
    "UnsupportedHeader",
    "Validator",
    "VerifiedToken",
    "WeakKey",
    "__version__",
    "fingerprint",
    "revoke_token",
]
