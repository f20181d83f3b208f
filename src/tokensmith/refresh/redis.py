"""Refresh-token families in Redis, shared by every replica; rotation is one Lua script.

Keys (``prefix`` default ``tokensmith:rt:``): ``<prefix>f:<family_id>`` is a hash with the
family's JSON, absolute expiry and revoked flag; ``<prefix>t:<token_hash>`` is a hash with the
family id, the token's expiry and a consumed flag. Every key expires (Redis TTL) when its
family does, so nothing grows without bound. A Lua script runs atomically on the server, so of
concurrent rotations of one token (threads, processes, machines) exactly one wins.

The scripts read the family key named inside the token record, so this store needs one Redis
(primary/replica or Sentinel), not Redis Cluster. ``redis`` is imported only by
:meth:`RedisRefreshStore.from_url`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

from ..errors import BackendUnavailable, ConfigurationError
from .base import (
    RefreshFamily,
    RefreshRecord,
    RotateOutcome,
    RotateResult,
    check_hash,
    check_time,
)

__all__ = ["RedisRefreshStore"]

# KEYS[1] token key; ARGV[1] family key prefix -> {data, token exp, consumed, revoked} or {}
_FIND: Final = """
local t = redis.call('HMGET', KEYS[1], 'fid', 'exp', 'used')
if not t[1] then return {} end
local f = redis.call('HMGET', ARGV[1] .. t[1], 'data', 'revoked')
if not f[1] then return {} end
return {f[1], t[2], t[3], f[2]}
"""

# KEYS[1] old token key, KEYS[2] new token key; ARGV[1] family key prefix, ARGV[2] now,
# ARGV[3] requested expiry of the new token, ARGV[4] a fallback TTL in ms. The new key lives as
# long as its family's key (PTTL), so reuse of any old token stays detectable.
# -> {outcome} | {outcome, data} | {'ok', data, new expiry}
_ROTATE: Final = """
local t = redis.call('HMGET', KEYS[1], 'fid', 'exp', 'used')
if not t[1] then return {'unknown'} end
local fkey = ARGV[1] .. t[1]
local f = redis.call('HMGET', fkey, 'data', 'exp', 'revoked')
if not f[1] then return {'unknown'} end
if f[3] == '1' then return {'revoked', f[1]} end
if t[3] == '1' then
  redis.call('HSET', fkey, 'revoked', '1')
  return {'reused', f[1]}
end
local now = tonumber(ARGV[2])
if now >= tonumber(t[2]) or now >= tonumber(f[2]) then return {'expired', f[1]} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'clash'} end
local exp = ARGV[3]
if tonumber(exp) > tonumber(f[2]) then exp = f[2] end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'fid', t[1], 'exp', exp, 'used', '0')
local ttl = redis.call('PTTL', fkey)
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

    ``client`` is a ``redis.Redis`` (or compatible) client; :meth:`from_url` makes one. The
    ``clock`` turns absolute expiries into relative TTLs (Redis's own clock is not consulted).
    A Redis error is :class:`~tokensmith.errors.BackendUnavailable` (answer 503).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:rt:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise ConfigurationError("client must be a redis client")
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("prefix must be a non-empty string")
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._find = client.register_script(_FIND)
        self._rotate = client.register_script(_ROTATE)
        self._revoke = client.register_script(_REVOKE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisRefreshStore:
        """Connect with ``redis.Redis.from_url(url)`` (needs the ``redis`` extra)."""
        import redis  # noqa: PLC0415 - optional dependency, imported only when used

        return cls(redis.Redis.from_url(url), **options)

    def _family_key(self, family_id: str) -> str:
        return f"{self._prefix}f:{family_id}"

    def _token_key(self, token_hash: str) -> str:
        return f"{self._prefix}t:{token_hash}"

    def _family_ttl_ms(self, family: RefreshFamily) -> int:
        """Keys live as long as their family (reuse of any old token stays detectable)."""
        return _ttl_ms(family.expires_at - self._clock())

    def create_family(self, family: RefreshFamily, token_hash: str, *, expires_at: float) -> None:
        """Store a new family and its first token in one ``MULTI`` transaction."""
        check_hash("token_hash", token_hash)
        until = min(check_time("expires_at", expires_at), family.expires_at)
        ttl = self._family_ttl_ms(family)
        family_key = self._family_key(family.family_id)
        token_key = self._token_key(token_hash)
        try:
            if self._client.exists(family_key, token_key):
                raise ConfigurationError("that family or token is already stored")
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(
                family_key,
                mapping={"data": family.to_json(), "exp": repr(family.expires_at), "revoked": "0"},
            )
            pipe.pexpire(family_key, ttl)
            pipe.hset(token_key, mapping={"fid": family.family_id, "exp": repr(until), "used": "0"})
            pipe.pexpire(token_key, ttl)
            pipe.execute()
        except ConfigurationError:
            raise
        except Exception as exc:
            raise _unavailable(exc) from exc

    def find(self, token_hash: str) -> RefreshRecord | None:
        """The token's record, or ``None`` (one script call)."""
        check_hash("token_hash", token_hash)
        try:
            row = self._find(keys=[self._token_key(token_hash)], args=[f"{self._prefix}f:"])
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
        self, token_hash: str, new_hash: str, *, now: float, expires_at: float
    ) -> RotateResult:
        """Consume ``token_hash`` and store ``new_hash`` in one Lua script (atomic)."""
        check_hash("token_hash", token_hash)
        check_hash("new_hash", new_hash)
        now = check_time("now", now)
        requested = check_time("expires_at", expires_at)
        try:
            reply = self._rotate(
                keys=[self._token_key(token_hash), self._token_key(new_hash)],
                args=[f"{self._prefix}f:", repr(now), repr(requested), _ttl_ms(requested - now)],
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
        check_time("now", now)
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
