"""Slowing brute force: after ``max_refusals`` refused attempts from one client, answer 429.

:class:`RefusalThrottle` (and its async twin) is the ready policy built on any rate limiter:
check a client before validating its token, record each refusal, and after ``max_refusals``
refusals in a burst the client is answered 429 until the bucket drains (one more attempt per
``window / max_refusals`` seconds, so a sustained attacker gets at most ``max_refusals``
guesses per ``window``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..._options import integer, seconds
from ..._redis import build_connected, connect_async
from ...errors import ConfigurationError, Throttled
from .base import AsyncRateLimiter, Decision, RateLimiter
from .memory import MemoryRateLimiter
from .redis import AsyncRedisRateLimiter, RedisRateLimiter

if TYPE_CHECKING:  # annotations only
    from typing import Self

__all__ = ["AsyncRefusalThrottle", "RefusalThrottle"]


class RefusalThrottle:
    """Slows brute force: after ``max_refusals`` refused attempts from one key, answer 429.

    Use it around validation::

        client = client_key(ip)         # one key per client (and per IPv6 /64)
        throttle.check(client)          # raises Throttled while the client is locked out
        try:
            tok = validator.validate(token)
        except TokenError:
            throttle.record_refusal(client)
            raise

    Build it with :meth:`memory` (one process) or :meth:`redis` (shared across processes), or
    wrap any :class:`RateLimiter` whose burst is the number of refusals tolerated. Safe to
    call from a coroutine when its limiter is (the memory one); over Redis use
    :class:`AsyncRefusalThrottle`.
    """

    __slots__ = ("limiter",)

    def __init__(self, limiter: RateLimiter) -> None:
        if not isinstance(limiter, RateLimiter) or _is_async(limiter):
            raise ConfigurationError(
                "limiter must provide check() and peek() (async ones: AsyncRefusalThrottle)"
            )
        self.limiter = limiter

    @classmethod
    def memory(
        cls,
        max_refusals: int = 10,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = 100_000,
    ) -> Self:
        """A throttle held in this process: ``max_refusals`` per ``window`` seconds.

        At most ``max_keys`` clients are held (see
        :class:`~tokensmith.web.ratelimit.MemoryRateLimiter`: a locked-out client is never
        forgotten; when all are locked out, new clients are refused).
        """
        limiter = MemoryRateLimiter(
            _rate(max_refusals, window), max_refusals, clock=clock, max_keys=max_keys
        )
        return cls(limiter)

    @classmethod
    def redis(
        cls,
        client: Any,
        max_refusals: int = 10,
        window: float = 60.0,
        *,
        prefix: str = "tokensmith:refusals:",
        clock: Callable[[], float] | None = None,
    ) -> Self:
        """A throttle shared through Redis by every process using the same ``prefix`` (time
        from the Redis server unless ``clock`` is given). ``client`` is a ``redis.Redis`` /
        ``RedisCluster``, or a ``redis://`` URL to connect with tokensmith's client settings
        (closed again if an option is refused)."""
        rate = _rate(max_refusals, window)

        def limiter(on: Any) -> RedisRateLimiter:
            return RedisRateLimiter(on, rate, max_refusals, prefix=prefix, clock=clock)

        if isinstance(client, str):
            return cls(build_connected(client, False, limiter))
        return cls(limiter(client))

    def check(self, key: str) -> None:
        """Raise :class:`~tokensmith.errors.Throttled` if ``key`` is locked out; else return."""
        _raise_if_locked(self.limiter.peek(key))

    def record_refusal(self, key: str) -> Decision:
        """Count one refused attempt for ``key``; the decision says whether it is now locked.

        One limiter call, plus a second only for the refusal that uses up the last attempt
        (to learn when the lock-out ends).
        """
        counted = self.limiter.check(key)
        if _locks(counted):
            return self.limiter.peek(key)
        return counted


class AsyncRefusalThrottle:
    """The async twin of :class:`RefusalThrottle`, around an :class:`AsyncRateLimiter`
    (e.g. :class:`~tokensmith.web.ratelimit.AsyncRedisRateLimiter`);
    ``await throttle.check(key)`` and ``await throttle.record_refusal(key)`` behave exactly
    like the sync methods. Safe to await from a coroutine."""

    __slots__ = ("limiter",)

    def __init__(self, limiter: AsyncRateLimiter) -> None:
        if not isinstance(limiter, AsyncRateLimiter) or not _is_async(limiter):
            raise ConfigurationError("limiter must provide async check() and peek()")
        self.limiter = limiter

    @classmethod
    def redis(
        cls,
        client: Any,
        max_refusals: int = 10,
        window: float = 60.0,
        *,
        prefix: str = "tokensmith:refusals:",
        clock: Callable[[], float] | None = None,
    ) -> Self:
        """A throttle shared through Redis (a ``redis.asyncio`` client, or a ``redis://`` URL);
        same keys as the sync :meth:`RefusalThrottle.redis`, so sync and async services count
        together."""
        rate = _rate(max_refusals, window)
        if isinstance(client, str):
            client = connect_async(client)  # an unused asyncio client holds no connection
        return cls(AsyncRedisRateLimiter(client, rate, max_refusals, prefix=prefix, clock=clock))

    async def check(self, key: str) -> None:
        """See :meth:`RefusalThrottle.check`."""
        _raise_if_locked(await self.limiter.peek(key))

    async def record_refusal(self, key: str) -> Decision:
        """See :meth:`RefusalThrottle.record_refusal`."""
        counted = await self.limiter.check(key)
        if _locks(counted):
            return await self.limiter.peek(key)
        return counted


def _is_async(limiter: object) -> bool:
    return inspect.iscoroutinefunction(getattr(limiter, "check", None)) and (
        inspect.iscoroutinefunction(getattr(limiter, "peek", None))
    )


def _raise_if_locked(decision: Decision) -> None:
    if not decision.allowed:
        raise Throttled("too many refused attempts; retry later", retry_after=decision.retry_after)


def _locks(counted: Decision) -> bool:
    """True for the refusal that used up the last attempt (the caller then asks until when);
    a refusal while already locked was not counted and already says until when."""
    return counted.allowed and counted.remaining == 0


def _rate(max_refusals: object, window: object) -> float:
    refusals = integer("max_refusals", max_refusals, minimum=1)
    return refusals / seconds("window", window, positive=True)
