"""Anomaly windows in Redis: a sorted set per key with a TTL, shared by every process.

One base (the checked options, the script and its arguments) and two faces that differ only by
``await``: :class:`RedisWindows` (``redis.Redis``) and :class:`AsyncRedisWindows`
(``redis.asyncio``), on the same keys, so sync and async replicas count in the same windows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final, TypedDict

from ..._options import integer
from ..._redis import (
    aclose,
    build_connected,
    check_prefix,
    connect_async,
    encode_key_part,
    register,
    require,
)
from ...errors import BackendUnavailable

if TYPE_CHECKING:  # annotations only
    from typing import Self

    from typing_extensions import Unpack

__all__ = ["AsyncRedisWindows", "RedisWindows", "RedisWindowsOptions"]


class RedisWindowsOptions(TypedDict, total=False):
    """The keyword options of :class:`RedisWindows` and :class:`AsyncRedisWindows`, as their
    ``from_url`` forwards them (typed: a misspelled option is refused at the call site)."""

    prefix: str
    """Put in front of every key (no ``{`` or ``}``); default ``"tokensmith:anomaly:"``."""
    max_members: int
    """Members kept per key at most; default 10,000."""


# KEYS[1] = key; ARGV = time, member, cutoff, TTL in ms, max members
_ADD_LUA: Final = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[5])
if count > cap then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - cap - 1)
  count = cap
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return count
"""


class _RedisWindowsCore:
    """What both Redis window stores share: the checked options, the script and its errors."""

    __slots__ = ("_client", "_max_members", "_prefix", "_script")

    def __init__(
        self, client: Any, *, prefix: str = "tokensmith:anomaly:", max_members: int = 10_000
    ) -> None:
        require()
        self._prefix = check_prefix(prefix)
        self._max_members = integer("max_members", max_members, minimum=1)
        self._client = client
        self._script = register(client, _ADD_LUA)

    def _call(self, key: str, member: str, at: float, window: float) -> dict[str, Any]:
        """The script's keyword arguments for one addition (the key encoded after the prefix,
        so no key can name another prefix's windows)."""
        ttl = max(1, math.ceil(window * 1000))
        args = (f"{at:.6f}", member, f"{at - window:.6f}", ttl, self._max_members)
        return {"keys": [self._prefix + encode_key_part(key)], "args": args}


def _failed(exc: Exception) -> BackendUnavailable:
    return BackendUnavailable(f"anomaly windows failed with {type(exc).__name__}")


class RedisWindows(_RedisWindowsCore):
    """Windows in Redis: one sorted set per key (score = time), trimmed and counted atomically.

    Every key expires ``window`` seconds after its last addition, so idle keys vanish; a key
    keeps at most ``max_members`` members. ``client`` is a sync ``redis.Redis`` or
    ``RedisCluster``; :meth:`from_url` makes one with tokensmith's timeouts. A Redis failure
    raises :class:`~tokensmith.errors.BackendUnavailable` (the detector's caller logs it). Not
    for a coroutine (it waits on the network): use :class:`AsyncRedisWindows` there, or keep
    the detector behind a :class:`~tokensmith.observability.QueueSink`.
    """

    __slots__ = ()

    @classmethod
    def from_url(
        cls, url: str, *, cluster: bool = False, **options: Unpack[RedisWindowsOptions]
    ) -> Self:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry);
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        return build_connected(url, cluster, lambda client: cls(client, **options))

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        try:
            return int(self._script(**self._call(key, member, at, window)))
        except Exception as exc:
            raise _failed(exc) from exc


class AsyncRedisWindows(_RedisWindowsCore):
    """The asyncio twin of :class:`RedisWindows` on a ``redis.asyncio`` client: the same
    script and keys, so sync and async replicas count in the same windows. Safe to await
    from a coroutine."""

    __slots__ = ()

    @classmethod
    def from_url(
        cls, url: str, *, cluster: bool = False, **options: Unpack[RedisWindowsOptions]
    ) -> Self:
        """Connect (``redis.asyncio``) with tokensmith's Redis timeouts; :meth:`aclose` closes
        the client."""
        return cls(connect_async(url, cluster=cluster), **options)

    async def aclose(self) -> None:
        """Close the Redis client."""
        await aclose(self._client)

    async def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        try:
            return int(await self._script(**self._call(key, member, at, window)))
        except Exception as exc:
            raise _failed(exc) from exc
