"""Discovery at the first lookup, per tenant, against a real loopback metadata + JWKS server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.issuers.conftest import AUD, Run, tenant
from tests.support.jwks_server import JWKSServer
from tokensmith import ConfigurationError, Signer, Validator
from tokensmith.errors import BackendUnavailable, DiscoveryError
from tokensmith.issuers import AsyncDiscoveredJWKS, DiscoveredJWKS, MultiIssuerValidator
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.testing import FakeClock

OIDC = "/.well-known/openid-configuration"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


def publish(server: JWKSServer, clock: FakeClock, tid: str, *, claimed: str = "") -> Signer:
    """A tenant of a loopback provider: metadata, then its JWKS."""
    issuer = server.url(f"/{tid}")
    store, signer = tenant(clock, issuer)
    server.serve_store(store, f"/{tid}/jwks.json")
    metadata = {"issuer": claimed or issuer, "jwks_uri": server.url(f"/{tid}/jwks.json")}
    server.serve_json(f"/{tid}{OIDC}", metadata)
    return signer


def source(run: Run, issuer: str, **options: Any) -> Any:
    kind = DiscoveredJWKS if run.face == "validate" else AsyncDiscoveredJWKS
    return kind(issuer, **options)


def test_tenants_are_discovered_at_their_first_token(
    server: JWKSServer, clock: FakeClock, run: Run
) -> None:
    acme = publish(server, clock, "acme")
    router = MultiIssuerValidator(
        templates=server.url("/{tid}"),
        keys_for=lambda issuer: source(run, issuer, clock=clock),
        audience=AUD,
        clock=clock,
    )
    assert server.count == 0  # nothing is fetched before a token comes
    token = acme.issue("u", audience=AUD, claims={"tid": "acme"})
    for _ in range(3):
        assert run(router, token).claims["tid"] == "acme"
    assert server.count == 2  # the metadata, then the key set, once
    # a tenant the provider does not have: both metadata locations 404, remembered
    ghost = Signer(acme._keys, issuer=server.url("/ghost"), clock=clock)  # noqa: SLF001
    ghost_token = ghost.issue("u", audience=AUD, claims={"tid": "ghost"})
    run.refused(router, ghost_token, DiscoveryError)
    fetched = server.count
    for _ in range(10):  # the router remembers the failure: refused without a fetch
        run.refused(router, ghost_token, BackendUnavailable)
    assert server.count == fetched


def test_a_failed_discovery_waits_for_the_retry_interval(
    server: JWKSServer, clock: FakeClock, run: Run
) -> None:
    issuer = server.url("/late")
    keys = source(run, issuer, clock=clock, retry_interval=5)
    assert repr(keys) == f"{type(keys).__name__}(issuer={issuer!r})"
    router = MultiIssuerValidator({issuer: keys}, audience=AUD, clock=clock)
    signer = Signer(tenant(clock, issuer)[0], issuer=issuer, clock=clock)
    token = signer.issue("u", audience=AUD)
    run.refused(router, token, DiscoveryError)
    assert server.count == 2  # the OpenID location, then RFC 8414's
    run.refused(router, token, DiscoveryError)
    assert server.count == 2
    server.serve_store(signer._keys, "/late/jwks.json")  # noqa: SLF001
    server.serve_json(f"/late{OIDC}", {"issuer": issuer, "jwks_uri": server.url("/late/jwks.json")})
    clock.advance(5)
    assert run(router, token).issuer == issuer
    assert isinstance(keys.remote, RemoteJWKS | AsyncRemoteJWKS)


def test_metadata_naming_another_issuer_is_refused(
    server: JWKSServer, clock: FakeClock, run: Run
) -> None:
    acme = publish(server, clock, "acme", claimed=server.url("/globex"))
    issuer = server.url("/acme")
    router = MultiIssuerValidator({issuer: source(run, issuer, clock=clock)}, audience=AUD)
    exc = run.refused(router, acme.issue("u", audience=AUD), DiscoveryError)
    assert exc.reason == "issuer_mismatch"  # type: ignore[attr-defined]


def test_it_is_pinned_to_its_issuer_and_checks_everything_when_built() -> None:
    keys = DiscoveredJWKS("https://a.example")
    assert keys.issuer == "https://a.example" and keys.remote is None
    with pytest.raises(ConfigurationError):
        Validator(keys, issuer="https://b.example", audience=AUD)
    for bad in ("http://a.example", "https://a.example?x", ""):
        with pytest.raises(ConfigurationError):
            DiscoveredJWKS(bad)
        with pytest.raises(ConfigurationError):
            AsyncDiscoveredJWKS(bad)
    with pytest.raises(ConfigurationError):
        DiscoveredJWKS("https://a.example", retry_interval=0)
    with pytest.raises(ConfigurationError):
        DiscoveredJWKS("https://a.example", max_sale=3)  # type: ignore[call-arg]


def test_concurrent_first_lookups_discover_once(server: JWKSServer, clock: FakeClock) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    acme = publish(server, clock, "acme")
    issuer = server.url("/acme")
    token = acme.issue("u", audience=AUD)
    sync = Validator(DiscoveredJWKS(issuer, clock=clock), issuer=issuer, audience=AUD, clock=clock)
    with ThreadPoolExecutor(8) as pool:
        assert all(v.issuer == issuer for v in pool.map(lambda _: sync.validate(token), range(16)))
    assert server.count == 2
    validator = Validator(
        AsyncDiscoveredJWKS(issuer, clock=clock), issuer=issuer, audience=AUD, clock=clock
    )

    async def many() -> list[Any]:
        return await asyncio.gather(*(validator.avalidate(token) for _ in range(16)))

    assert len(asyncio.run(many())) == 16
    assert server.count == 4


def test_the_sync_face_answers_the_event_loop_only_once_discovered(
    server: JWKSServer, clock: FakeClock
) -> None:
    """avalidate() over the sync DiscoveredJWKS: discovery and the first fetch in a worker
    thread, then the cached keys on the loop (docs/sync-or-async.md)."""
    acme = publish(server, clock, "acme")
    issuer = server.url("/acme")
    keys = DiscoveredJWKS(issuer, clock=clock)
    token = acme.issue("u", audience=AUD)
    kid = Validator(keys, issuer=issuer, audience=AUD, clock=clock).validate(token).key_id
    fresh = DiscoveredJWKS(issuer, clock=clock)
    assert fresh.verification_key_nowait(kid, "ES256") is None  # discovery is I/O
    assert keys.verification_key_nowait(kid, "ES256") is not None  # discovered and cached
