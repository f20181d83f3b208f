"""Refresh-token families in Redis, shared by every replica; every change is one Lua script.

Keys (``P`` the prefix, default ``tokensmith:rt:``; ``b64(x)`` unpadded base64url)::

    P{f.b64(family_id)}:f              hash: the family's JSON, absolute expiry, revoked flag
    P{f.b64(family_id)}:t:<token_hash> hash: family id, the token's expiry, consumed flag

A family and all its tokens share one hash tag, so they live in one Redis Cluster slot and
every script touches one slot only: the store works on one Redis (primary/replica, Sentinel)
and on Redis Cluster alike. A refresh token carries its family id (see
:mod:`tokensmith.refresh.core`), so the slot is known before the lookup; the token itself is
still stored only as its keyed hash. Every key expires (Redis TTL) when its family does, so
nothing grows without bound. A Lua script runs atomically on the server, so of concurrent
rotations of one token (threads, processes, machines) exactly one wins.
``redis`` is imported only by :meth:`RedisRefreshStore.from_url`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

from .._options import seconds
from .._redis import build_connected, check_prefix, encode_key_part, require
from ..errors import BackendUnavailable, ConfigurationError
from .base import (
    RefreshFamily,
    RefreshRecord,
    RotateOutcome,
    RotateResult,
    check_family_id,
    check_hash,
)

__all__ = ["RedisRefreshStore"]

# KEYS[1] family key, KEYS[2] token key; ARGV[1] family JSON, ARGV[2] family expiry,
# ARGV[3] family id, ARGV[4] token expiry, ARGV[5] TTL in ms -> 1, or 0 if either exists
_CREATE: Final = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'exp', ARGV[2], 'revoked', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], 'fid', ARGV[3], 'exp', ARGV[4], 'used', '0')
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
"""

# KEYS[1] token key, KEYS[2] family key; ARGV[1] family id
# -> {data, token exp, consumed, revoked} or {}
_FIND: Final = """
local t = redis.call('HMGET', KEYS[1], 'fid', 'exp', 'used')
if t[1] ~= ARGV[1] then return {} end
local f = redis.call('HMGET', KEYS[2], 'data', 'revoked')
if not f[1] then return {} end
return {f[1], t[2], t[3], f[2]}
"""

# KEYS[1] old token key, KEYS[2] new token key, KEYS[3] family key; ARGV[1] family id,
# ARGV[2] now, ARGV[3] requested expiry of the new token, ARGV[4] a fallback TTL in ms. The
# new key lives as long as its family's key (PTTL), so reuse of any old token stays detectable.
# -> {outcome} | {outcome, data} | {'ok', data, new expiry}
_ROTATE: Final = """
local t = redis.call('HMGET', KEYS[1], 'fid', 'exp', 'used')
if t[1] ~= ARGV[1] then return {'unknown'} end
local f = redis.call('HMGET', KEYS[3], 'data', 'exp', 'revoked')
if not f[1] then return {'unknown'} end
if f[3] == '1' then return {'revoked', f[1]} end
if t[3] == '1' then
  redis.call('HSET', KEYS[3], 'revoked', '1')
  return {'reused', f[1]}
end
local now = tonumber(ARGV[2])
if now >= tonumber(t[2]) or now >= tonumber(f[2]) then return {'expired', f[1]} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'clash'} end
local exp = ARGV[3]
if tonumber(exp) > tonumber(f[2]) then exp = f[2] end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'fid', ARGV[1], 'exp', exp, 'used', '0')
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 then ttl = tonumber(ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], math.max(ttl, 1000))
return {'ok', f[1], exp}
"""

# KEYS[1] family key -> data if it was live and is now revoked, else false
_REVOKE: Final = """
local f = redis.call('HMGET', KEYS[1], 'data', 'revoked')
if not f[1] or f[2] == '1' then return false end
redis.call('HSET', KEYS[1], 'revoked', '1')
return f[1]
"""

_MIN_TTL_MS: Final = 1000


class RedisRefreshStore:
    """Refresh-token families in Redis (see the module docstring for the key layout).

    ``client`` is a ``redis.Redis`` or ``redis.cluster.RedisCluster`` client;
    :meth:`from_url` makes one with tokensmith's timeouts. The ``clock`` turns absolute
    expiries into relative TTLs (Redis's own clock is not consulted). A Redis error is
    :class:`~tokensmith.errors.BackendUnavailable` (answer 503).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:rt:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        require()
        if not callable(getattr(client, "register_script", None)):
            raise ConfigurationError("client must be a redis client")
        self._client = client
        self._prefix = check_prefix(prefix)
        self._clock = clock
        self._create = client.register_script(_CREATE)
        self._find = client.register_script(_FIND)
        self._rotate = client.register_script(_ROTATE)
        self._revoke = client.register_script(_REVOKE)

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, **options: Any) -> RedisRefreshStore:
        """Connect with tokensmith's timeouts (see :func:`tokensmith._redis.client_options`);
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        return build_connected(url, cluster, lambda client: cls(client, **options))

    def _tag(self, family_id: str) -> str:
        return f"{self._prefix}{{f.{encode_key_part(family_id)}}}:"

    def _family_key(self, family_id: str) -> str:
        return f"{self._tag(family_id)}f"

    def _token_key(self, family_id: str, token_hash: str) -> str:
        return f"{self._tag(family_id)}t:{token_hash}"

    def _family_ttl_ms(self, family: RefreshFamily) -> int:
        """Keys live as long as their family (reuse of any old token stays detectable)."""
        return _ttl_ms(family.expires_at - self._clock())

    def create_family(self, family: RefreshFamily, token_hash: str, *, expires_at: float) -> None:
        """Store a new family and its first token (one script: both or neither)."""
        check_hash("token_hash", token_hash)
        family_id = check_family_id(family.family_id)
        until = min(seconds("expires_at", expires_at), family.expires_at)
        try:
            created = self._create(
                keys=[self._family_key(family_id), self._token_key(family_id, token_hash)],
                args=[
                    family.to_json(),
                    repr(family.expires_at),
                    family_id,
                    repr(until),
                    self._family_ttl_ms(family),
                ],
            )
        except Exception as exc:
            raise _unavailable(exc) from exc
        if not int(created):
            raise ConfigurationError("that family or token is already stored")

    def find(self, token_hash: str, *, family_id: str) -> RefreshRecord | None:
        """The token's record, or ``None`` (one script call on the family's slot)."""
        check_hash("token_hash", token_hash)
        check_family_id(family_id)
        keys = [self._token_key(family_id, token_hash), self._family_key(family_id)]
        try:
            row = self._find(keys=keys, args=[family_id])
        except Exception as exc:
            raise _unavailable(exc) from exc
        if not row:
            return None
        data, expires_at, used, revoked = row
        return RefreshRecord(
            RefreshFamily.from_json(data),
            _float(expires_at),
            _text(used) == "1",
            _text(revoked) == "1",
        )

    def rotate(
        self, token_hash: str, new_hash: str, *, family_id: str, now: float, expires_at: float
    ) -> RotateResult:
        """Consume ``token_hash`` and store ``new_hash`` in one Lua script (atomic)."""
        check_hash("token_hash", token_hash)
        check_hash("new_hash", new_hash)
        check_family_id(family_id)
        now = seconds("now", now)
        requested = seconds("expires_at", expires_at)
        keys = [
            self._token_key(family_id, token_hash),
            self._token_key(family_id, new_hash),
            self._family_key(family_id),
        ]
        try:
            reply = self._rotate(
                keys=keys,
                args=[family_id, repr(now), repr(requested), _ttl_ms(requested - now)],
            )
        except Exception as exc:
            raise _unavailable(exc) from exc
        outcome = _text(reply[0])
        if outcome == "clash":
            raise ConfigurationError("the new token hash is already stored")
        family = RefreshFamily.from_json(reply[1]) if len(reply) > 1 else None
        if outcome == "ok":
            return RotateResult(RotateOutcome.OK, family, _float(reply[2]))
        return RotateResult(RotateOutcome(outcome), family)

    def revoke_family(self, family_id: str) -> RefreshFamily | None:
        """Revoke a family (one script call); return it if it was live."""
        if not isinstance(family_id, str) or not family_id:
            raise ConfigurationError("family_id must be a non-empty string")
        try:
            data = self._revoke(keys=[self._family_key(family_id)])
        except Exception as exc:
            raise _unavailable(exc) from exc
        return None if data is None else RefreshFamily.from_json(data)

    def purge(self, now: float) -> int:
        """Nothing to do: every key carries a TTL ending with its family. Returns 0."""
        seconds("now", now)
        return 0

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisRefreshStore(prefix={self._prefix!r})"


def _ttl_ms(seconds: float) -> int:
    return max(_MIN_TTL_MS, math.ceil(seconds * 1000))


def _text(value: bytes | str | None) -> str:
    """Replies are bytes, or str with ``decode_responses=True``."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _float(value: bytes | str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BackendUnavailable("a stored refresh-token record is damaged") from None


def _unavailable(exc: Exception) -> BackendUnavailable:
    return BackendUnavailable(f"the Redis refresh store failed with {type(exc).__name__}")
