"""Typed usage of the forwarded options: mypy --strict checks this file, nothing runs it.

Every ``# type: ignore[code]`` marks an error mypy must report on that line: a misspelled
option, or a value of the wrong type, refused at the call site. ``--strict`` includes
``--warn-unused-ignores``, so if an option stopped being typed (``**options: Any`` again), the
ignore would silence nothing and the check would fail. ``tools/run.py test`` runs it.
"""

from __future__ import annotations

from typing_extensions import Unpack

from tokensmith.jwks import (
    AsyncRemoteJWKS,
    RemoteJWKS,
    RemoteJWKSOptions,
    adiscover,
    discover,
)
from tokensmith.observability.anomaly import AsyncRedisWindows, RedisWindows
from tokensmith.revocation import (
    AsyncRedisRevocationList,
    RedisRevocationList,
    RedisRevocationOptions,
)
from tokensmith.testing import FakeClock
from tokensmith.web.ratelimit import AsyncRedisRateLimiter, RedisRateLimiter

JWKS = "https://issuer.example/.well-known/jwks.json"
ISSUER = "https://issuer.example"


def remote_key_sets() -> None:
    RemoteJWKS(JWKS, issuer=ISSUER, min_ttl=30, cooldown_burst=3, clock=FakeClock())
    RemoteJWKS(JWKS, min_tll=30)  # type: ignore[call-arg]
    RemoteJWKS(JWKS, cooldown_burst="3")  # type: ignore[arg-type]
    AsyncRemoteJWKS(JWKS, max_stael=60)  # type: ignore[call-arg]
    AsyncRemoteJWKS(JWKS, background_refresh="yes")  # type: ignore[arg-type]


async def discovery() -> None:
    discover(ISSUER, timeout=2.0, max_keys=10)
    discover(ISSUER, timout=2.0)  # type: ignore[call-arg]
    await adiscover(ISSUER, retry_interval=1.0)
    await adiscover(ISSUER, retry_intervall=1.0)  # type: ignore[call-arg]


def my_key_source(**options: Unpack[RemoteJWKSOptions]) -> RemoteJWKS:
    """A wrapper of your own forwards the options typed."""
    return discover(ISSUER, **options)


def wrapper_callers() -> None:
    my_key_source(max_stale=600.0)
    my_key_source(max_stale="600")  # type: ignore[arg-type]


def revocation_lists(client: object, async_client: object) -> None:
    RedisRevocationList(client, prefix="orders:", grace=60.0, fail_open=False)
    RedisRevocationList(client, fail_opne=True)  # type: ignore[call-arg]
    RedisRevocationList.from_url("redis://127.0.0.1:6379/0", local_cach=None)  # type: ignore[call-arg]
    AsyncRedisRevocationList(async_client, grace="60")  # type: ignore[arg-type]
    AsyncRedisRevocationList.from_url("redis://127.0.0.1:6379/0", prefx="a:")  # type: ignore[call-arg]


def my_revocation_list(**options: Unpack[RedisRevocationOptions]) -> RedisRevocationList:
    return RedisRevocationList.from_url("redis://127.0.0.1:6379/0", **options)


def redis_from_url() -> None:
    url = "redis://127.0.0.1:6379/0"
    RedisRateLimiter.from_url(url, 5.0, 10, prefix="api:", fail_open=False)
    RedisRateLimiter.from_url(url, 5.0, 10, fail_opn=True)  # type: ignore[call-arg]
    AsyncRedisRateLimiter.from_url(url, 5.0, 10, fail_open="no")  # type: ignore[arg-type]
    RedisWindows.from_url(url, max_members=100)
    RedisWindows.from_url(url, max_member=100)  # type: ignore[call-arg]
    AsyncRedisWindows.from_url(url, prefix=1)  # type: ignore[arg-type]


def resource_metadata_members() -> None:
    """RFC 9728 members are typed: a misspelled member or a wrong type is caught."""
    from tokensmith.oauth import ProtectedResourceMetadata

    servers = ["https://auth.example.com"]
    ProtectedResourceMetadata("https://api.example.com/mcp", authorization_servers=servers,
                              scopes_supported=["mcp:tools"], resource_name="Demo")  # fmt: skip
    ProtectedResourceMetadata("https://api.example.com/mcp", authorization_servers=servers,
                              scope_supported=["mcp"])  # type: ignore[call-arg]  # fmt: skip
    ProtectedResourceMetadata("https://api.example.com/mcp", authorization_servers=servers,
                              dpop_bound_access_tokens_required="yes")  # type: ignore[arg-type]  # fmt: skip
