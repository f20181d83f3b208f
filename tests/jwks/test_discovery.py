"""OIDC / RFC 8414 discovery against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.support.jwks_server import JWKSServer
from tokensmith import ConfigurationError, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.errors import BackendUnavailable, DiscoveryError
from tokensmith.jwks import (
    AsyncRemoteJWKS,
    HTTPResponse,
    RemoteJWKS,
    StdlibTransport,
    adiscover,
    discover,
    metadata_urls,
)
from tokensmith.testing import FakeClock

OIDC = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


@pytest.fixture
def issuer_store(clock: FakeClock) -> MemoryKeyStore:
    return MemoryKeyStore(KeySet.generate("ES256"), clock=clock)


def publish(server: JWKSServer, store: MemoryKeyStore, path: str = OIDC, **extra: Any) -> str:
    issuer = server.url("")
    server.serve_store(store)
    server.serve_json(path, {"issuer": issuer, "jwks_uri": server.url(), **extra})
    return issuer


def test_metadata_urls() -> None:
    assert metadata_urls("https://a.example") == (
        "https://a.example/.well-known/openid-configuration",
        "https://a.example/.well-known/oauth-authorization-server",
    )
    assert metadata_urls("https://a.example/tenant/") == (
        "https://a.example/tenant/.well-known/openid-configuration",
        "https://a.example/.well-known/oauth-authorization-server/tenant",
    )
    for bad in ("http://a.example", "https://a.example?x=1", "https://a.example#f", ""):
        with pytest.raises(ConfigurationError):
            metadata_urls(bad)


def test_discover_openid_then_validate(
    server: JWKSServer, issuer_store: MemoryKeyStore, clock: FakeClock
) -> None:
    issuer = publish(server, issuer_store)
    remote = discover(issuer, clock=clock, timeout=1)
    assert isinstance(remote, RemoteJWKS)
    assert remote.issuer == issuer and remote.url == server.url()
    validator = Validator(remote, issuer=issuer, audience="api", clock=clock)
    token = Signer(issuer_store, issuer=issuer, clock=clock).issue("u", audience="api")
    assert validator.validate(token).subject == "u"
    assert server.paths == [OIDC, "/jwks.json"]


def test_discover_falls_back_to_rfc8414(
    server: JWKSServer, issuer_store: MemoryKeyStore, clock: FakeClock
) -> None:
    issuer = publish(server, issuer_store, OAUTH)
    remote = discover(issuer, clock=clock, timeout=1)
    assert not remote.kids  # the key set is fetched on first use (or refresh())
    remote.refresh()
    assert remote.kids == {k.kid for k in issuer_store.keyset}
    assert server.paths == [OIDC, OAUTH, "/jwks.json"]


def test_async_discover(server: JWKSServer, issuer_store: MemoryKeyStore, clock: FakeClock) -> None:
    issuer = publish(server, issuer_store, OAUTH)

    class AsyncStdlib:
        async def fetch(
            self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
        ) -> HTTPResponse:
            return await asyncio.to_thread(
                StdlibTransport().fetch, url, headers, timeout, max_bytes
            )

    async def main() -> None:
        for transport in (None, AsyncStdlib()):
            remote = await adiscover(issuer, transport=transport, clock=clock, timeout=1)
            assert isinstance(remote, AsyncRemoteJWKS)
            assert remote.issuer == issuer
            assert await remote.verification_key(None, "ES256")
            await remote.aclose()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"issuer": "https://evil.example", "jwks_uri": "JWKS"}, "issuer_mismatch"),
        ({"issuer": "ISSUER/", "jwks_uri": "JWKS"}, "issuer_mismatch"),
        ({"jwks_uri": "JWKS"}, "issuer_mismatch"),
        ({"issuer": "ISSUER"}, "no_jwks_uri"),
        ({"issuer": "ISSUER", "jwks_uri": 5}, "no_jwks_uri"),
        ({"issuer": "ISSUER", "jwks_uri": "http://evil.example/jwks"}, "no_jwks_uri"),
        (["ISSUER"], "invalid_shape"),
        (b"{not json", "invalid_json"),
        (b"x" * 70_000, "too_large"),
    ],
)
def test_bad_metadata_is_refused(
    server: JWKSServer, clock: FakeClock, document: Any, reason: str
) -> None:
    issuer = server.url("")
    if isinstance(document, dict):
        document = {
            k: v.replace("ISSUER", issuer).replace("JWKS", server.url())
            if isinstance(v, str)
            else v
            for k, v in document.items()
        }
    elif isinstance(document, list):
        document = [issuer]
    server.serve_json(OIDC, document)
    with pytest.raises(DiscoveryError) as info:
        discover(issuer, clock=clock, timeout=1)
    assert info.value.reason == reason
    assert isinstance(info.value, BackendUnavailable)
    assert info.value.code == "discovery_failed"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("500", "http_status"), ("wrong_type", "content_type"), ("redirect", "redirect")],
)
def test_misbehaving_metadata_endpoint(
    server: JWKSServer, issuer_store: MemoryKeyStore, clock: FakeClock, mode: str, reason: str
) -> None:
    issuer = publish(server, issuer_store)
    server.mode = mode
    with pytest.raises(DiscoveryError) as info:
        discover(issuer, clock=clock, timeout=1)
    assert info.value.reason == reason


def test_no_metadata_anywhere(server: JWKSServer, clock: FakeClock) -> None:
    with pytest.raises(DiscoveryError) as info:
        discover(server.url(""), clock=clock, timeout=1)
    assert info.value.reason == "http_status"
    assert server.paths == [OIDC, OAUTH]


def test_transport_failures(clock: FakeClock) -> None:
    class Broken:
        def fetch(self, *args: Any) -> HTTPResponse:
            raise RuntimeError("boom")

    class Wrong:
        async def fetch(self, *args: Any) -> Any:
            return "nope"

    with pytest.raises(DiscoveryError) as info:
        discover("https://a.example", transport=Broken())
    assert info.value.reason == "transport"

    async def main() -> None:
        for transport in (Broken(), Wrong()):
            with pytest.raises(DiscoveryError) as caught:
                await adiscover("https://a.example", transport=transport)
            assert caught.value.reason == "transport"

    asyncio.run(main())


def test_connection_refused(clock: FakeClock) -> None:
    from tests.support.redis import free_port

    with pytest.raises(DiscoveryError) as info:
        discover(f"http://127.0.0.1:{free_port()}", clock=clock, timeout=0.5)
    assert info.value.reason == "connection"


# --- an https issuer's metadata never points at plain http (issue 14, item 10) ---------------


@pytest.fixture
def tls_issuer(tmp_path: Any, issuer_store: MemoryKeyStore) -> Iterator[tuple[JWKSServer, Any]]:
    """An issuer on https://127.0.0.1 (a test CA the transport trusts)."""
    from tests.support import peers

    authority = peers.authority(tmp_path)
    with JWKSServer(tls=peers.server_context(tmp_path, authority, names=peers.LOOPBACK)) as tls:
        tls.serve_store(issuer_store)
        yield tls, peers.trusting(authority)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "evil.example"])
def test_an_https_issuer_may_not_point_jwks_uri_at_plain_http(
    tls_issuer: tuple[JWKSServer, Any], server: JWKSServer, clock: FakeClock, host: str
) -> None:
    tls, transport = tls_issuer
    issuer = tls.url("")
    assert issuer.startswith("https://127.0.0.1:")
    plain = f"http://{host}:{server.port}/jwks.json"
    tls.serve_json(OIDC, {"issuer": issuer, "jwks_uri": plain})
    with pytest.raises(DiscoveryError) as info:
        discover(issuer, transport=transport, clock=clock, timeout=2)
    assert type(info.value) is DiscoveryError
    assert info.value.reason in ("insecure_url", "no_jwks_uri")  # evil.example: not even allowed
    if host != "evil.example":
        assert info.value.reason == "insecure_url"
        assert "jwks_uri" in info.value.message

    async def main() -> None:
        with pytest.raises(DiscoveryError) as caught:
            await adiscover(issuer, transport=transport, clock=clock, timeout=2)
        assert caught.value.reason == info.value.reason

    asyncio.run(main())
    assert server.count == 0  # nothing was fetched over plain http


def test_an_https_issuer_with_an_https_jwks_uri_is_discovered(
    tls_issuer: tuple[JWKSServer, Any], clock: FakeClock
) -> None:
    tls, transport = tls_issuer
    issuer = tls.url("")
    tls.serve_json(OIDC, {"issuer": issuer, "jwks_uri": tls.url()})
    remote = discover(issuer, transport=transport, clock=clock, timeout=2)
    remote.refresh()
    assert remote.kids


def test_a_loopback_http_issuer_may_use_a_loopback_http_jwks_uri(
    server: JWKSServer, issuer_store: MemoryKeyStore, clock: FakeClock
) -> None:
    issuer = server.url("")
    server.serve_store(issuer_store)
    for host in ("127.0.0.1", "localhost"):
        jwks_uri = f"http://{host}:{server.port}/jwks.json"
        server.serve_json(OIDC, {"issuer": issuer, "jwks_uri": jwks_uri})
        assert discover(issuer, clock=clock, timeout=1).url == jwks_uri


def test_published_metadata_follows_the_same_rule() -> None:
    from tokensmith.jwks import authorization_server_metadata

    with pytest.raises(ConfigurationError, match="plain http"):
        authorization_server_metadata("https://auth.example", "http://127.0.0.1/jwks.json")
    assert authorization_server_metadata("http://127.0.0.1", "http://localhost/jwks.json")
    assert authorization_server_metadata("https://auth.example", "https://cdn.example/jwks")
