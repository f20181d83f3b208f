"""Rate limiting keyed by any string (client address, subject, client_id): GCRA, memory or Redis.

Key clients by :func:`client_key`, not by the raw address string: one key per client however
its address is spelled, and one key per IPv6 ``/64``. :class:`RefusalThrottle` (and its async
twin) is the ready brute-force policy: check a client before validating its token, record each
refusal, answer 429 while it is locked out. The limiters: :class:`MemoryRateLimiter` (one
process), :class:`RedisRateLimiter` / :class:`AsyncRedisRateLimiter` (shared).
"""

import typing as _typing

from ..._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import AsyncRateLimiter as AsyncRateLimiter
    from .base import Decision as Decision
    from .base import RateLimiter as RateLimiter
    from .base import client_key as client_key
    from .memory import MemoryRateLimiter as MemoryRateLimiter
    from .redis import AsyncRedisRateLimiter as AsyncRedisRateLimiter
    from .redis import RedisRateLimiter as RedisRateLimiter
    from .redis import RedisRateLimiterOptions as RedisRateLimiterOptions
    from .throttle import AsyncRefusalThrottle as AsyncRefusalThrottle
    from .throttle import RefusalThrottle as RefusalThrottle

_LAZY = {
    "AsyncRateLimiter": ".base",
    "Decision": ".base",
    "RateLimiter": ".base",
    "client_key": ".base",
    "MemoryRateLimiter": ".memory",
    "AsyncRedisRateLimiter": ".redis",
    "RedisRateLimiter": ".redis",
    "RedisRateLimiterOptions": ".redis",
    "AsyncRefusalThrottle": ".throttle",
    "RefusalThrottle": ".throttle",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
