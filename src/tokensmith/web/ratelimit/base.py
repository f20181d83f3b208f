"""What every rate limiter shares: the decision, the protocols, the GCRA, client keys, and the
brute-force throttles built on any limiter (the limiters: :mod:`.memory`, :mod:`.redis`).

Key clients by :func:`client_key`, not by the raw address string: it gives one key per
client however its address is spelled, and one key per IPv6 ``/64`` (a host can rotate freely
inside its ``/64``).

The Generic Cell Rate Algorithm is a token bucket stored as one number per key, the
*theoretical arrival time* (TAT): a check is one read, one comparison and one write, so the Redis
backend does it in one atomic Lua script and every process sharing that Redis sees one limit.

:class:`RefusalThrottle` is the ready brute-force policy built on it: check a client before
validating its token, record each refusal, and after ``max_refusals`` refusals in a burst the
client is answered 429 until the bucket drains (one more attempt per ``window / max_refusals``
seconds, so a sustained attacker gets at most ``max_refusals`` guesses per ``window``).
"""

from __future__ import annotations

import inspect
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from ..._options import integer, number, seconds
from ..._redis import connect, connect_async
from ...errors import ConfigurationError, Throttled
from ..netrules import parse_address

__all__ = [
    "AsyncRateLimiter",
    "AsyncRefusalThrottle",
    "Decision",
    "RateLimiter",
    "RefusalThrottle",
    "check_cost",
    "check_key",
    "client_key",
    "gcra",
    "limits",
]

_MAX_KEY: Final = 512


def client_key(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    ipv6_prefix: int = 64,
    ipv4_prefix: int = 32,
) -> str:
    """The rate-limit key of a client address: one key per client, however it is spelled.

    The address is canonicalised (:func:`~tokensmith.web.parse_address`: whitespace,
    brackets and IPv6 zone ids go; IPv4-mapped IPv6 is IPv4; IPv6 in its compressed form), then
    aggregated to its network: IPv6 to ``ipv6_prefix`` bits (``/64`` by default, because one
    host or subscriber is given a whole ``/64`` and can pick any address in it), IPv4 to
    ``ipv4_prefix`` (``/32``: the address). The key is the address (``"203.0.113.7"``) or the
    network (``"2001:db8:1:2::/64"``). Anything that is not an IP address raises
    :class:`~tokensmith.errors.NetworkNotAllowed`.
    """
    v6 = integer("ipv6_prefix", ipv6_prefix, minimum=0, maximum=128)
    v4 = integer("ipv4_prefix", ipv4_prefix, minimum=0, maximum=32)
    ip = parse_address(address)
    prefix = v4 if ip.version == 4 else v6
    if prefix == ip.max_prefixlen:
        return str(ip)
    host_bits = ip.max_prefixlen - prefix
    return f"{type(ip)(int(ip) >> host_bits << host_bits)}/{prefix}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of one check: allowed or not, when to retry, and what is left of the burst.

    ``retry_after`` is in seconds (``0.0`` when allowed); ``remaining`` is how many more
    requests would be allowed right now (after this one, for a check).
    """

    allowed: bool
    retry_after: float
    remaining: int


@runtime_checkable
class RateLimiter(Protocol):
    """What :class:`RefusalThrottle` needs; both limiters here implement it."""

    def check(self, key: str, *, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``key`` if allowed; a denied check counts nothing."""
        ...

    def peek(self, key: str) -> Decision:
        """Would one more request for ``key`` be allowed? Counts nothing."""
        ...


@runtime_checkable
class AsyncRateLimiter(Protocol):
    """The async twin of :class:`RateLimiter` (what :class:`AsyncRefusalThrottle` needs)."""

    async def check(self, key: str, *, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``key`` if allowed; a denied check counts nothing."""
        ...

    async def peek(self, key: str) -> Decision:
        """Would one more request for ``key`` be allowed? Counts nothing."""
        ...


def limits(rate: object, burst: object) -> tuple[float, int]:
    """``(interval, burst)``: seconds between requests at ``rate`` per second, and the burst."""
    per_second = number("rate", rate, unit="requests per second", positive=True)
    return 1.0 / per_second, integer("burst", burst, minimum=1)


def check_key(key: object) -> str:
    """A rate-limit key: a non-empty string of at most 512 characters."""
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ConfigurationError(f"a rate-limit key must be a non-empty string of <= {_MAX_KEY}")
    return key


def check_cost(cost: object, burst: int) -> int:
    """How many requests one check counts: an int from 1 to ``burst``."""
    return integer("cost", cost, minimum=1, maximum=burst)


def gcra(
    tat: float, now: float, interval: float, burst: int, cost: int
) -> tuple[bool, float, int, float]:
    """``(allowed, retry_after, remaining, new_tat)``: the whole algorithm, in Python (the Redis
    backend runs the same steps in Lua)."""
    tat = max(tat, now)
    new_tat = tat + interval * cost
    allow_at = new_tat - burst * interval
    if now < allow_at:
        remaining = max(0, int((now - (tat - burst * interval)) / interval + 1e-9))
        return False, allow_at - now, remaining, tat
    return True, 0.0, int((now - allow_at) / interval + 1e-9), new_tat


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
    ) -> RefusalThrottle:
        """A throttle held in this process: ``max_refusals`` per ``window`` seconds.

        At most ``max_keys`` clients are held (see
        :class:`~tokensmith.web.ratelimit.MemoryRateLimiter`: a locked-out client is never
        forgotten; when all are locked out, new clients are refused).
        """
        from .memory import MemoryRateLimiter  # noqa: PLC0415 - the limiter's own module

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
    ) -> RefusalThrottle:
        """A throttle shared through Redis by every process using the same ``prefix`` (time
        from the Redis server unless ``clock`` is given). ``client`` is a ``redis.Redis`` /
        ``RedisCluster``, or a ``redis://`` URL to connect with tokensmith's client settings."""
        from .redis import RedisRateLimiter  # noqa: PLC0415 - the limiter's own module

        if isinstance(client, str):
            client = connect(client)
        limiter = RedisRateLimiter(
            client, _rate(max_refusals, window), max_refusals, prefix=prefix, clock=clock
        )
        return cls(limiter)

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
    ) -> AsyncRefusalThrottle:
        """A throttle shared through Redis (a ``redis.asyncio`` client, or a ``redis://`` URL);
        same keys as the sync :meth:`RefusalThrottle.redis`, so sync and async services count
        together."""
        from .redis import AsyncRedisRateLimiter  # noqa: PLC0415 - the limiter's own module

        if isinstance(client, str):
            client = connect_async(client)
        limiter = AsyncRedisRateLimiter(
            client, _rate(max_refusals, window), max_refusals, prefix=prefix, clock=clock
        )
        return cls(limiter)

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
