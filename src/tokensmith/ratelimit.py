"""Rate limiting keyed by any string (client IP, subject, client_id): GCRA, memory or Redis.

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

import heapq
import inspect
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

from ._options import integer, number, seconds
from ._redis import aclose, check_prefix, connect, connect_async, encode_key_part
from .errors import BackendUnavailable, ConfigurationError, Throttled
from .netrules import parse_address

__all__ = [
    "AsyncRateLimiter",
    "AsyncRedisRateLimiter",
    "AsyncRefusalThrottle",
    "Decision",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "RefusalThrottle",
    "client_key",
]

_MAX_KEY: Final = 512
_log: Final = logging.getLogger("tokensmith.ratelimit")


def client_key(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    ipv6_prefix: int = 64,
    ipv4_prefix: int = 32,
) -> str:
    """The rate-limit key of a client address: one key per client, however it is spelled.

    The address is canonicalised (:func:`~tokensmith.netrules.parse_address`: whitespace,
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


def _params(rate: object, burst: object) -> tuple[float, int]:
    per_second = number("rate", rate, unit="requests per second", positive=True)
    return 1.0 / per_second, integer("burst", burst, minimum=1)


def _key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ConfigurationError(f"a rate-limit key must be a non-empty string of <= {_MAX_KEY}")
    return key


def _cost(cost: object, burst: int) -> int:
    return integer("cost", cost, minimum=1, maximum=burst)


def _gcra(
    tat: float, now: float, interval: float, burst: int, cost: int
) -> tuple[bool, float, int, float]:
    """(allowed, retry_after, remaining, new_tat) — the whole algorithm, shared by both backends."""
    tat = max(tat, now)
    new_tat = tat + interval * cost
    allow_at = new_tat - burst * interval
    if now < allow_at:
        remaining = max(0, int((now - (tat - burst * interval)) / interval + 1e-9))
        return False, allow_at - now, remaining, tat
    return True, 0.0, int((now - allow_at) / interval + 1e-9), new_tat


class MemoryRateLimiter:
    """GCRA limiter in process memory: ``rate`` requests per second, bursts up to ``burst``.

    Thread-safe, and safe to call from a coroutine (no I/O; the lock is held for microseconds).

    Memory is bounded by ``max_keys``. A key is held while its bucket is not full; when a new
    key finds ``max_keys`` held, room is made by forgetting first idle keys (bucket full again,
    the same as a fresh key), then the key whose bucket is fullest, but **never a key that is
    limited** (whose next request would be refused): a spray of other keys cannot lift a
    lock-out. When every held key is limited, the new key is refused (a denied
    :class:`Decision`, ``retry_after`` until the first held key drains) and a warning is
    logged: a full limiter fails closed. Each choice costs O(log n) (a heap ordered by the
    time each bucket is full again).
    """

    __slots__ = (
        "_clock",
        "_full_since",
        "_interval",
        "_lock",
        "_max_keys",
        "_order",
        "_tats",
        "burst",
    )

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = 100_000,
    ) -> None:
        self._interval, self.burst = _params(rate, burst)
        integer("max_keys", max_keys, minimum=1)
        self._clock = clock
        self._max_keys = max_keys
        self._tats: dict[str, float] = {}
        self._order: list[tuple[float, str]] = []  # (tat, key) heap; outdated pairs are skipped
        self._full_since: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryRateLimiter(rate={1 / self._interval:g}, burst={self.burst})"

    def check(self, key: str, *, cost: int = 1) -> Decision:
        """See :meth:`RateLimiter.check`."""
        key = _key(key)
        cost = _cost(cost, self.burst)
        with self._lock:
            now = self._clock()
            tat = self._tats.get(key)
            if tat is None and not self._make_room(now, take=True):
                return self._refuse_new(now)
            allowed, retry, remaining, new_tat = _gcra(
                now if tat is None else tat, now, self._interval, self.burst, cost
            )
            if allowed:
                self._tats[key] = new_tat
                self._remember(new_tat, key)
        return Decision(allowed, retry, remaining)

    def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        key = _key(key)
        with self._lock:
            now = self._clock()
            tat = self._tats.get(key)
            if tat is None and not self._make_room(now, take=False):
                return self._refuse_new(now)
            allowed, retry, remaining, _ = _gcra(
                now if tat is None else tat, now, self._interval, self.burst, 1
            )
        return Decision(allowed, retry, remaining + 1 if allowed else 0)

    def reset(self, key: str) -> None:
        """Forget ``key`` (e.g. after a successful login)."""
        with self._lock:
            self._tats.pop(_key(key), None)

    def _remember(self, tat: float, key: str) -> None:
        """Order ``key`` by its new TAT; rebuild the heap when outdated pairs dominate it."""
        heapq.heappush(self._order, (tat, key))
        if len(self._order) > 2 * len(self._tats) + 1024:
            self._order = [(t, k) for k, t in self._tats.items()]
            heapq.heapify(self._order)

    def _make_room(self, now: float, *, take: bool) -> bool:
        """True when a new key may be held: forget idle keys, then (``take``: for a key about to
        be stored, not a peek) the fullest bucket; never a limited key (one whose TAT is beyond
        ``now + (burst - 1) * interval``)."""
        limited_after = now + (self.burst - 1) * self._interval
        order = self._order
        while len(self._tats) >= self._max_keys:
            tat, key = order[0]
            if self._tats.get(key) != tat:
                heapq.heappop(order)  # the key moved on (or was reset): an outdated pair
                continue
            if tat > limited_after:
                return False  # the fullest held bucket is limited: so is every other
            if tat > now and not take:
                return True  # room could be made, but a peek stores nothing: keep the key
            heapq.heappop(order)
            del self._tats[key]
        if self._full_since is not None:
            self._full_since = None
        return True

    def _refuse_new(self, now: float) -> Decision:
        """Every held key is limited: refuse a new one until the first stops being limited."""
        if self._full_since is None:
            self._full_since = now
            _log.warning(
                "MemoryRateLimiter: all %d keys are limited; new keys are refused until one "
                "drains (raise max_keys, or key clients with client_key)",
                self._max_keys,
            )
        retry = self._order[0][0] - (now + (self.burst - 1) * self._interval)
        return Decision(False, retry, 0)


# KEYS[1] = key; ARGV = now ("" = the Redis server's clock), interval, burst, cost,
# mode ("check" | "peek")
_LUA: Final = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - burst * interval
if now < allow_at then
  local remaining = math.floor((now - (tat - burst * interval)) / interval + 1e-9)
  if remaining < 0 then remaining = 0 end
  return {0, string.format('%.6f', allow_at - now), remaining}
end
if ARGV[5] == 'check' then
  local ttl = math.ceil((new_tat - now) * 1000)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', ttl)
end
return {1, '0', math.floor((now - allow_at) / interval + 1e-9)}
"""


class _RedisLimiterBase:
    """What both Redis limiters share: the checked options, the script and its answers."""

    __slots__ = ("_client", "_clock", "_fail_open", "_interval", "_prefix", "_script", "burst")

    def __init__(
        self,
        client: Any,
        rate: float,
        burst: int,
        *,
        prefix: str = "tokensmith:rl:",
        clock: Callable[[], float] | None = None,
        fail_open: bool = False,
    ) -> None:
        self._interval, self.burst = _params(rate, burst)
        if not callable(getattr(client, "register_script", None)):
            raise ConfigurationError("client must be a redis client")
        self._prefix = check_prefix(prefix)
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be callable (or None for the Redis clock)")
        self._client = client
        self._script = client.register_script(_LUA)
        self._clock = clock
        self._fail_open = bool(fail_open)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={1 / self._interval:g}, burst={self.burst})"

    def _name(self, key: str) -> str:
        """The Redis key of ``key``: encoded, so no key can name another prefix's entries."""
        return self._prefix + encode_key_part(key)

    def _call(self, key: str, cost: int, mode: str) -> dict[str, Any]:
        """The script's keyword arguments for one check (``now`` empty: the Redis clock)."""
        now = "" if self._clock is None else f"{self._clock():.6f}"
        return {
            "keys": [self._name(key)],
            "args": (now, repr(self._interval), self.burst, cost, mode),
        }

    def _failed(self, exc: Exception) -> Decision:
        if self._fail_open:
            return Decision(True, 0.0, 0)
        raise BackendUnavailable(f"the rate limiter failed with {type(exc).__name__}") from exc


def _decision(reply: Any) -> Decision:
    allowed, retry, remaining = reply
    return Decision(bool(int(allowed)), float(retry), int(remaining))


def _peeked(decision: Decision) -> Decision:
    """A peek probes with one request; when allowed, that one is still there."""
    if decision.allowed:
        return Decision(True, 0.0, decision.remaining + 1)
    return decision


class RedisRateLimiter(_RedisLimiterBase):
    """GCRA limiter in Redis: one atomic Lua script per check, shared by every process.

    ``client`` is a ``redis.Redis`` (sync) client. Each key lives only as long as its bucket is
    not full (``PX`` = time to drain), so Redis holds nothing for idle clients. Time comes from
    the Redis server's clock by default (``TIME`` inside the script, Redis >= 5), so processes
    on hosts whose clocks disagree still share one limit; pass ``clock=`` to inject one (tests).
    A Redis failure raises :class:`~tokensmith.errors.BackendUnavailable` (fail closed) unless
    ``fail_open=True``, which allows the request instead. Not for a coroutine (each check waits
    on the network): use :class:`AsyncRedisRateLimiter` there.
    """

    __slots__ = ()

    @classmethod
    def from_url(
        cls, url: str, rate: float, burst: int, *, cluster: bool = False, **options: Any
    ) -> RedisRateLimiter:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry);
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        client = connect(url, cluster=cluster)
        try:
            return cls(client, rate, burst, **options)
        except BaseException:
            client.close()
            raise

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def _run(self, key: str, cost: int, mode: str) -> Decision:
        try:
            return _decision(self._script(**self._call(key, cost, mode)))
        except Exception as exc:
            return self._failed(exc)

    def check(self, key: str, *, cost: int = 1) -> Decision:
        """See :meth:`RateLimiter.check`."""
        return self._run(_key(key), _cost(cost, self.burst), "check")

    def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        return _peeked(self._run(_key(key), 1, "peek"))

    def reset(self, key: str) -> None:
        """Forget ``key``."""
        try:
            self._client.delete(self._name(_key(key)))
        except Exception as exc:
            raise BackendUnavailable(f"the rate limiter failed with {type(exc).__name__}") from exc


class AsyncRedisRateLimiter(_RedisLimiterBase):
    """The async twin of :class:`RedisRateLimiter` on a ``redis.asyncio`` client: the same
    script, keys and answers, so sync and async processes can share one limit. Safe to await
    from a coroutine."""

    __slots__ = ()

    @classmethod
    def from_url(
        cls, url: str, rate: float, burst: int, *, cluster: bool = False, **options: Any
    ) -> AsyncRedisRateLimiter:
        """Connect (``redis.asyncio``) with tokensmith's Redis timeouts; :meth:`aclose`
        closes the client."""
        return cls(connect_async(url, cluster=cluster), rate, burst, **options)

    async def aclose(self) -> None:
        """Close the Redis client."""
        await aclose(self._client)

    async def _run(self, key: str, cost: int, mode: str) -> Decision:
        try:
            return _decision(await self._script(**self._call(key, cost, mode)))
        except Exception as exc:
            return self._failed(exc)

    async def check(self, key: str, *, cost: int = 1) -> Decision:
        """See :meth:`RateLimiter.check`."""
        return await self._run(_key(key), _cost(cost, self.burst), "check")

    async def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        return _peeked(await self._run(_key(key), 1, "peek"))

    async def reset(self, key: str) -> None:
        """Forget ``key``."""
        try:
            await self._client.delete(self._name(_key(key)))
        except Exception as exc:
            raise BackendUnavailable(f"the rate limiter failed with {type(exc).__name__}") from exc


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

        At most ``max_keys`` clients are held (see :class:`MemoryRateLimiter`: a locked-out
        client is never forgotten; when all are locked out, new clients are refused).
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
    ) -> RefusalThrottle:
        """A throttle shared through Redis by every process using the same ``prefix`` (time
        from the Redis server unless ``clock`` is given). ``client`` is a ``redis.Redis`` /
        ``RedisCluster``, or a ``redis://`` URL to connect with tokensmith's client settings."""
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
    (e.g. :class:`AsyncRedisRateLimiter`); ``await throttle.check(key)`` and
    ``await throttle.record_refusal(key)`` behave exactly like the sync methods. Safe to
    await from a coroutine."""

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
