"""Spent ``jti`` values in Redis, shared by every replica: one ``SET NX PX`` per use."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .._redis import build_connected, check_prefix, require
from ..errors import BackendUnavailable, ConfigurationError
from .base import check_use, entry_key

__all__ = ["RedisJtiReplayStore"]


class RedisJtiReplayStore:
    """Spent ``jti`` values in Redis, shared by every replica: one ``SET NX PX`` per use.

    The production choice across machines: a replica's restart forgets nothing.

    ``client`` is a ``redis.Redis`` or ``RedisCluster`` client; :meth:`from_url` makes one
    with tokensmith's timeouts. Keys are ``prefix`` + SHA-256 of the pair and expire with the
    token. A Redis error is :class:`~tokensmith.errors.BackendUnavailable` (answer 503): never
    a silent accept.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:jti:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        require()
        if not callable(getattr(client, "set", None)):
            raise ConfigurationError("client must be a redis client")
        self._client = client
        self._prefix = check_prefix(prefix)
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, **options: Any) -> RedisJtiReplayStore:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry; needs the
        ``redis`` extra); ``cluster=True`` makes a ``RedisCluster`` client."""
        return build_connected(url, cluster, lambda client: cls(client, **options))

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)`` with ``SET key 1 NX PX ttl`` (see :class:`JtiReplayStore`)."""
        check_use(issuer, jti, expires_at)
        ttl_ms = max(1000, math.ceil((float(expires_at) - self._clock()) * 1000))
        try:
            created = self._client.set(
                self._prefix + entry_key(issuer, jti), b"1", nx=True, px=ttl_ms
            )
        except Exception as exc:
            raise BackendUnavailable(f"the replay store failed with {type(exc).__name__}") from exc
        return bool(created)

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisJtiReplayStore(prefix={self._prefix!r})"
