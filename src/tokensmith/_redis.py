"""What every Redis backend of tokensmith shares: key names, client settings, connections.

* :func:`check_prefix` and :func:`encode_key_part` — key prefixes without hash-tag braces, and
  attacker-chosen parts (issuers, ids, rate-limit keys) encoded so they can never name another
  key or choose a Redis Cluster slot.
* :func:`client_options` — the one set of timeouts and retries of every client tokensmith
  builds (each ``from_url``): every request handler waits on these clients, so a dead Redis
  must cost half a second, not redis-py's default of blocking and backing off for seconds.
* :func:`connect` / :func:`connect_async` — a ``redis.Redis`` or ``redis.cluster.RedisCluster``
  (sync or ``redis.asyncio``) with those options; :func:`build_connected` — what every sync
  ``from_url`` does with one: build the backend on it, or close it again.
* :func:`subscription_client` / :func:`async_subscription_client` — a private client for one
  pub/sub subscription that reports an outage at once (no retries); on a cluster it talks to
  one node, since ``PUBLISH`` reaches subscribers on every node.
* :func:`register` — the Lua script of a backend registered on the client it was given (a
  :class:`~tokensmith.errors.ConfigurationError` when that is not a redis-py client).
* :func:`require` and :func:`failures` — what lets every Redis module import without the
  ``redis`` extra: a Redis class calls :func:`require` when it is built (a clear
  ``pip install 'tokensmith[redis]'``), and catches :func:`failures` rather than naming
  ``redis.exceptions`` at import time.

``redis`` is imported only when a connection is made, so importing this module is free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, TypeVar

from ._b64 import b64url_encode
from ._options import flag
from .errors import BackendUnavailable, ConfigurationError

__all__ = [
    "SOCKET_TIMEOUT",
    "aclose",
    "async_subscription_client",
    "build_connected",
    "check_prefix",
    "client_options",
    "connect",
    "connect_async",
    "encode_key_part",
    "failures",
    "is_cluster",
    "register",
    "require",
    "subscription_client",
]

MAX_PREFIX: Final = 256
SOCKET_TIMEOUT: Final = 0.5
"""Seconds a tokensmith-built client waits to connect, and for each reply."""
RETRIES: Final = 1
"""Immediate retries (no backoff) after a failed command: one, for a dropped idle connection."""
HEALTH_CHECK_INTERVAL: Final = 30
"""A connection idle this many seconds is PINGed before reuse (stale sockets after failover)."""
_MISSING: Final = "tokensmith's Redis backends need redis-py: pip install 'tokensmith[redis]'"


def require() -> None:
    """Raise :class:`ImportError` saying how to install redis-py when it is missing: every Redis
    class calls this when it is built, so the modules themselves import without it."""
    try:
        import redis  # noqa: F401, PLC0415 - redis is optional
    except ImportError as exc:  # pragma: no cover - tested in a subprocess without redis
        raise ImportError(_MISSING) from exc


@functools.cache
def failures() -> tuple[type[Exception], ...]:
    """What a redis-py call raises when Redis cannot answer: ``RedisError`` and ``OSError``
    (``OSError`` alone without redis-py, when no redis-py client can exist). For ``except``
    clauses, which evaluate it only when an exception is raised."""
    try:
        from redis.exceptions import RedisError  # noqa: PLC0415 - redis is optional
    except ImportError:  # pragma: no cover - tested in a subprocess without redis
        return (OSError,)
    return (RedisError, OSError)


def register(client: object, lua: str) -> Any:
    """``client.register_script(lua)``: the callable that runs ``lua`` (``EVALSHA``, loading it
    once). A ``client`` that cannot (not a redis-py client: a URL string, ``None``...) is a
    :class:`~tokensmith.errors.ConfigurationError`, never an ``AttributeError``."""
    if not callable(getattr(client, "register_script", None)):
        raise ConfigurationError("client must be a redis client (or use from_url)")
    return client.register_script(lua)  # type: ignore[attr-defined]


def check_prefix(prefix: object) -> str:
    """Validate a key prefix: a string of at most 256 characters without ``{`` or ``}``.

    Braces would change which part of a key Redis Cluster hashes (the hash tag), so they are
    refused; everything else is allowed (``"tenant-a:"``, ``"prod:tokensmith:"``).
    """
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX:
        raise ConfigurationError("prefix must be a string of at most 256 characters")
    if "{" in prefix or "}" in prefix:
        raise ConfigurationError("prefix may not contain '{' or '}' (Redis Cluster hash tags)")
    return prefix


def encode_key_part(value: str) -> str:
    """Unpadded base64url of ``value``'s UTF-8 bytes: safe inside a Redis key and a hash tag.

    The alphabet has no ``{``, ``}``, ``:`` or ``|``, so an attacker-chosen ``jti``, subject,
    issuer or rate-limit key can never produce another key's name. Lone surrogates are encoded,
    never refused.
    """
    return b64url_encode(value.encode("utf-8", "surrogatepass"))


def client_options() -> dict[str, Any]:
    """The timeouts and retry policy of every client tokensmith builds (a fresh dict).

    0.5 s to connect and per reply, one immediate retry, a health check of connections idle
    for 30 s. Pass them to your own client too: ``redis.Redis(host=..., **client_options())``
    or ``RedisCluster(host=..., port=..., **client_options())``.
    """
    from redis.backoff import NoBackoff  # noqa: PLC0415 - redis is optional
    from redis.retry import Retry  # noqa: PLC0415

    return {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "retry": Retry(NoBackoff(), RETRIES),
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


def _async_options() -> dict[str, Any]:
    from redis.asyncio.retry import Retry  # noqa: PLC0415 - redis is optional
    from redis.backoff import NoBackoff  # noqa: PLC0415

    return {**client_options(), "retry": Retry(NoBackoff(), RETRIES)}


def connect(url: str, *, cluster: bool = False) -> Any:
    """A sync client for ``url`` with :func:`client_options` (a cluster client if asked)."""
    _check_url(url, cluster)
    try:
        import redis  # noqa: PLC0415 - redis is optional
        import redis.cluster  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - tested in a subprocess without redis
        raise ImportError(_MISSING) from exc
    if not cluster:
        return redis.Redis.from_url(url, **client_options())
    try:  # a sync cluster client reads the slot map at once
        return redis.cluster.RedisCluster.from_url(url, **client_options())
    except (redis.RedisError, redis.exceptions.RedisClusterException, OSError) as exc:
        raise BackendUnavailable(f"no Redis Cluster node answered ({type(exc).__name__})") from exc


T = TypeVar("T")


def build_connected(url: str, cluster: bool, build: Callable[[Any], T]) -> T:
    """``build(client)`` with a new :func:`connect` client for ``url``; the client is closed
    again if ``build`` raises (a refused option must not leave a connection open)."""
    client = connect(url, cluster=cluster)
    try:
        return build(client)
    except BaseException:
        client.close()
        raise


def connect_async(url: str, *, cluster: bool = False) -> Any:
    """A ``redis.asyncio`` client for ``url`` with :func:`client_options`."""
    _check_url(url, cluster)
    try:
        import redis.asyncio  # noqa: PLC0415 - redis is optional
        import redis.asyncio.cluster  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - tested in a subprocess without redis
        raise ImportError(_MISSING) from exc
    kind = redis.asyncio.cluster.RedisCluster if cluster else redis.asyncio.Redis
    return kind.from_url(url, **_async_options())


def _check_url(url: object, cluster: object) -> None:
    if not isinstance(url, str) or not url:
        raise ConfigurationError("url must be a redis:// or rediss:// URL")
    flag("cluster", cluster)


def is_cluster(client: object) -> bool:
    """True for ``redis.cluster.RedisCluster`` and ``redis.asyncio.cluster.RedisCluster``."""
    return callable(getattr(client, "get_nodes", None)) and callable(
        getattr(client, "get_random_node", None)
    )


def _without_retries(pool: Any, retry: Any) -> Any:
    """A new pool to the same server as ``pool`` whose commands are never retried."""
    options = dict(pool.connection_kwargs)
    options.pop("redis_connect_func", None)  # a cluster's per-node hook, not ours
    options["retry"] = retry
    return type(pool)(connection_class=pool.connection_class, **options)


def subscription_client(client: Any) -> Any | None:
    """A private sync client for a subscription on ``client``'s server, or ``None`` if
    ``client`` is of a kind we cannot copy (then the caller subscribes through it)."""
    from redis.backoff import NoBackoff  # noqa: PLC0415 - redis is optional
    from redis.retry import Retry  # noqa: PLC0415

    if is_cluster(client):
        client = client.get_redis_connection(client.get_random_node())
    pool = getattr(client, "connection_pool", None)
    if pool is None or not isinstance(getattr(pool, "connection_kwargs", None), dict):
        return None
    return type(client)(connection_pool=_without_retries(pool, Retry(NoBackoff(), 0)))


async def async_subscription_client(client: Any) -> Any | None:
    """The ``redis.asyncio`` twin of :func:`subscription_client`."""
    import redis.asyncio  # noqa: PLC0415 - redis is optional
    from redis.asyncio.retry import Retry  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415

    if is_cluster(client):
        if not client.get_nodes():
            await client.initialize()
        node = client.get_random_node()
        pool: Any = redis.asyncio.ConnectionPool(
            connection_class=node.connection_class, **node.connection_kwargs
        )
        kind: Any = redis.asyncio.Redis
    else:
        pool = getattr(client, "connection_pool", None)
        if pool is None or not isinstance(getattr(pool, "connection_kwargs", None), dict):
            return None
        kind = type(client)
    return kind(connection_pool=_without_retries(pool, Retry(NoBackoff(), 0)))


async def aclose(resource: Any) -> None:
    """Close a ``redis.asyncio`` client or pub/sub (``aclose`` since redis-py 5.0.1)."""
    close = getattr(resource, "aclose", None)
    if close is None:  # pragma: no cover - old redis-py
        close = resource.close
    await close()
