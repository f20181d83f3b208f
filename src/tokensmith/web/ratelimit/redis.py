"""Rate limits in Redis: one atomic Lua script per check, shared by every process.

One base (the checked options, the script, its arguments and answers, what a failure means)
and two faces that differ only by ``await``: :class:`RedisRateLimiter` (``redis.Redis``) and
:class:`AsyncRedisRateLimiter` (``redis.asyncio``), sharing keys, so sync and async processes
count in the same buckets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypedDict

from ..._options import flag
from ..._redis import (
    aclose,
    build_connected,
    check_prefix,
    connect_async,
    encode_key_part,
    register,
    require,
)
from ...errors import BackendUnavailable, ConfigurationError
from .base import Decision, check_cost, check_key, limits

if TYPE_CHECKING:  # annotations only
    from typing import Self

    from typing_extensions import Unpack

__all__ = ["AsyncRedisRateLimiter", "RedisRateLimiter", "RedisRateLimiterOptions"]


class RedisRateLimiterOptions(TypedDict, total=False):
    """The keyword options of :class:`RedisRateLimiter` and :class:`AsyncRedisRateLimiter`, as
    their ``from_url`` forwards them (typed: a misspelled option is refused at the call site)."""

    prefix: str
    """Put in front of every key (no ``{`` or ``}``); default ``"tokensmith:rl:"``."""
    clock: Callable[[], float] | None
    """Seconds since the epoch; default ``None``: the Redis server's clock."""
    fail_open: bool
    """Allow the request when Redis fails; default False: fail closed."""


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
        require()
        self._interval, self.burst = limits(rate, burst)
        self._prefix = check_prefix(prefix)
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be callable (or None for the Redis clock)")
        self._fail_open = flag("fail_open", fail_open)
        self._clock = clock
        self._client = client
        self._script = register(client, _LUA)

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
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> BackendUnavailable:
    return BackendUnavailable(f"the rate limiter failed with {type(exc).__name__}")


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
        cls,
        url: str,
        rate: float,
        burst: int,
        *,
        cluster: bool = False,
        **options: Unpack[RedisRateLimiterOptions],
    ) -> Self:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry);
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        return build_connected(url, cluster, lambda client: cls(client, rate, burst, **options))

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
        return self._run(check_key(key), check_cost(cost, self.burst), "check")

    def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        return _peeked(self._run(check_key(key), 1, "peek"))

    def reset(self, key: str) -> None:
        """Forget ``key``."""
        try:
            self._client.delete(self._name(check_key(key)))
        except Exception as exc:
            raise _unavailable(exc) from exc


class AsyncRedisRateLimiter(_RedisLimiterBase):
    """The async twin of :class:`RedisRateLimiter` on a ``redis.asyncio`` client: the same
    script, keys and answers, so sync and async processes can share one limit. Safe to await
    from a coroutine."""

    __slots__ = ()

    @classmethod
    def from_url(
        cls,
        url: str,
        rate: float,
        burst: int,
        *,
        cluster: bool = False,
        **options: Unpack[RedisRateLimiterOptions],
    ) -> Self:
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
        return await self._run(check_key(key), check_cost(cost, self.burst), "check")

    async def peek(self, key: str) -> Decision:
        """See :meth:`RateLimiter.peek`."""
        return _peeked(await self._run(check_key(key), 1, "peek"))

    async def reset(self, key: str) -> None:
        """Forget ``key``."""
        try:
            await self._client.delete(self._name(check_key(key)))
        except Exception as exc:
            raise _unavailable(exc) from exc
