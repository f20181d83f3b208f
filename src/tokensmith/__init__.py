"""tokensmith: issue and validate API tokens (JWT), secure by default.

The names most services need are importable from here: the core (keys, key sets, signing,
validation, every error class), which ``import tokensmith`` loads, and the backends and helpers
a service picks from (key stores, remote key sets, revocation lists, refresh and replay stores,
the validated-token cache, HTTP helpers, rate limits, audit sinks), each imported on first use
so ``import tokensmith`` stays cheap and works without the ``redis`` package. The rest lives in
the group packages: :mod:`tokensmith.stores`, :mod:`tokensmith.jwks`,
:mod:`tokensmith.revocation`, :mod:`tokensmith.refresh`, :mod:`tokensmith.replay`,
:mod:`tokensmith.oauth`, :mod:`tokensmith.web`, :mod:`tokensmith.observability`,
:mod:`tokensmith.testing`.
"""

import typing as _typing

from . import errors as _errors
from ._exports import lazy_exports as _lazy_exports
from .claims import VerifiedToken, fingerprint
from .confirmation import Confirmation
from .errors import *  # noqa: F403 - every error class is exported here (errors.__all__)
from .keys import SUPPORTED_ALGORITHMS, Key
from .keyset import KeySet, RotationPolicy
from .policy import (
    DEFAULT_SCOPE_CLAIMS,
    NO_AUDIENCE,
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    ValidationPolicy,
)
from .revocation.base import AsyncRevocationList, RevocationList, revoke_token
from .signer import IssuedToken, Signer
from .stores.base import AsyncKeySource, KeySource, KeyStore
from .stores.memory import MemoryKeyStore
from .validator import Validator

if _typing.TYPE_CHECKING:
    from .cache import ValidatedTokenCache as ValidatedTokenCache
    from .jwks.discovery import adiscover as adiscover
    from .jwks.discovery import discover as discover
    from .jwks.document import SkippedKey as SkippedKey
    from .jwks.publish import jwks_response as jwks_response
    from .jwks.remote import AsyncRemoteJWKS as AsyncRemoteJWKS
    from .jwks.remote import RemoteJWKS as RemoteJWKS
    from .observability.audit import AuditEvent as AuditEvent
    from .observability.audit import audit_context as audit_context
    from .observability.sinks import AsyncQueueSink as AsyncQueueSink
    from .observability.sinks import Fanout as Fanout
    from .observability.sinks import JsonFormatter as JsonFormatter
    from .observability.sinks import LoggingSink as LoggingSink
    from .observability.sinks import QueueSink as QueueSink
    from .refresh.base import RefreshStore as RefreshStore
    from .refresh.core import RefreshManager as RefreshManager
    from .refresh.core import TokenPair as TokenPair
    from .refresh.memory import MemoryRefreshStore as MemoryRefreshStore
    from .refresh.redis import RedisRefreshStore as RedisRefreshStore
    from .refresh.sqlite import SQLiteRefreshStore as SQLiteRefreshStore
    from .replay.base import JtiReplayStore as JtiReplayStore
    from .replay.memory import MemoryJtiReplayStore as MemoryJtiReplayStore
    from .replay.redis import RedisJtiReplayStore as RedisJtiReplayStore
    from .replay.sqlite import SQLiteJtiReplayStore as SQLiteJtiReplayStore
    from .revocation.memory import MemoryRevocationList as MemoryRevocationList
    from .revocation.redis import AsyncRedisRevocationList as AsyncRedisRevocationList
    from .revocation.redis import LocalCache as LocalCache
    from .revocation.redis import RedisRevocationList as RedisRevocationList
    from .revocation.sqlite import SQLiteRevocationList as SQLiteRevocationList
    from .stores.file import FileKeyStore as FileKeyStore
    from .stores.redis import RedisKeyStore as RedisKeyStore
    from .web.bearer import bearer_token as bearer_token
    from .web.bearer import extract_token as extract_token
    from .web.bearer import www_authenticate as www_authenticate
    from .web.cookies import delete_token_cookie as delete_token_cookie
    from .web.cookies import token_cookie as token_cookie
    from .web.csrf import CSRFProtector as CSRFProtector
    from .web.netrules import NetworkPolicy as NetworkPolicy
    from .web.ratelimit.base import client_key as client_key
    from .web.ratelimit.memory import MemoryRateLimiter as MemoryRateLimiter
    from .web.ratelimit.redis import AsyncRedisRateLimiter as AsyncRedisRateLimiter
    from .web.ratelimit.redis import RedisRateLimiter as RedisRateLimiter
    from .web.ratelimit.throttle import AsyncRefusalThrottle as AsyncRefusalThrottle
    from .web.ratelimit.throttle import RefusalThrottle as RefusalThrottle

__version__ = "0.1.0.dev0"

_LAZY = {
    "ValidatedTokenCache": ".cache",
    "adiscover": ".jwks.discovery",
    "discover": ".jwks.discovery",
    "SkippedKey": ".jwks.document",
    "jwks_response": ".jwks.publish",
    "AsyncRemoteJWKS": ".jwks.remote",
    "RemoteJWKS": ".jwks.remote",
    "AuditEvent": ".observability.audit",
    "audit_context": ".observability.audit",
    "AsyncQueueSink": ".observability.sinks",
    "Fanout": ".observability.sinks",
    "JsonFormatter": ".observability.sinks",
    "LoggingSink": ".observability.sinks",
    "QueueSink": ".observability.sinks",
    "RefreshStore": ".refresh.base",
    "RefreshManager": ".refresh.core",
    "TokenPair": ".refresh.core",
    "MemoryRefreshStore": ".refresh.memory",
    "RedisRefreshStore": ".refresh.redis",
    "SQLiteRefreshStore": ".refresh.sqlite",
    "JtiReplayStore": ".replay.base",
    "MemoryJtiReplayStore": ".replay.memory",
    "RedisJtiReplayStore": ".replay.redis",
    "SQLiteJtiReplayStore": ".replay.sqlite",
    "MemoryRevocationList": ".revocation.memory",
    "AsyncRedisRevocationList": ".revocation.redis",
    "LocalCache": ".revocation.redis",
    "RedisRevocationList": ".revocation.redis",
    "SQLiteRevocationList": ".revocation.sqlite",
    "FileKeyStore": ".stores.file",
    "RedisKeyStore": ".stores.redis",
    "bearer_token": ".web.bearer",
    "extract_token": ".web.bearer",
    "www_authenticate": ".web.bearer",
    "delete_token_cookie": ".web.cookies",
    "token_cookie": ".web.cookies",
    "CSRFProtector": ".web.csrf",
    "NetworkPolicy": ".web.netrules",
    "client_key": ".web.ratelimit.base",
    "MemoryRateLimiter": ".web.ratelimit.memory",
    "AsyncRedisRateLimiter": ".web.ratelimit.redis",
    "RedisRateLimiter": ".web.ratelimit.redis",
    "AsyncRefusalThrottle": ".web.ratelimit.throttle",
    "RefusalThrottle": ".web.ratelimit.throttle",
}
"""Each name imported on first use, and its module (what ``import tokensmith`` does not load)."""

__all__ = [
    "DEFAULT_SCOPE_CLAIMS",
    "NO_AUDIENCE",
    "SUPPORTED_ALGORITHMS",
    "UNCHECKED",
    "UNSAFE_ANY_AUDIENCE",
    "AsyncKeySource",
    "AsyncRevocationList",
    "Confirmation",
    "IssuedToken",
    "Key",
    "KeySet",
    "KeySource",
    "KeyStore",
    "MemoryKeyStore",
    "RevocationList",
    "RotationPolicy",
    "Signer",
    "ValidationPolicy",
    "Validator",
    "VerifiedToken",
    "__version__",
    "fingerprint",
    "revoke_token",
]
__all__ += _errors.__all__
__all__ += list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
