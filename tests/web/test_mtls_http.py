"""RFC 8705 certificate-bound tokens over real TLS on 127.0.0.1, with client certificates made
by a throwaway authority (tests/support/peers.py).

* Direct TLS: werkzeug (WSGI, ``SSL_CLIENT_CERT``) and aiohttp (the connection's
  ``ssl_object``) terminate TLS themselves and ask for a client certificate.
* Behind a trusted proxy: a TLS-terminating proxy (tests/support/tls_proxy.py, playing nginx,
  an RFC 9440 proxy and Envoy) forwards the certificate in a header to uvicorn (ASGI). uvicorn
  implements no ASGI ``tls`` extension, so behind a proxy is the only way an ASGI app served by
  uvicorn learns the client's certificate.

The rule, each way: a bound token works with its certificate only (another certificate, or
none: 401 ``invalid_token``); an unbound token works with any certificate or none.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding

from tests.support import AUDIENCE, ISSUER
from tests.support.app_servers import aiohttp_server, uvicorn_server
from tests.support.peers import (
    Authority,
    ClientCert,
    authority,
    client_certificate,
    mutual_tls_context,
)
from tests.support.tls_proxy import TLSProxy, forwarded_form
from tests.support.werkzeug_server import serving
from tokensmith import Confirmation, Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.integrations import aiohttp as ts_aiohttp
from tokensmith.integrations import asgi as ts_asgi
from tokensmith.integrations import wsgi as ts_wsgi
from tokensmith.web import ClientCertHeader, Guard, TransportSecurity

KINDS: tuple[ClientCertHeader, ...] = ("x-client-cert", "client-cert", "x-forwarded-client-cert")


class World:
    def __init__(self, directory: Path) -> None:
        self.ca: Authority = authority(directory)
        self.alice: ClientCert = client_certificate(directory, self.ca, "alice")
        self.mallory: ClientCert = client_certificate(directory, self.ca, "mallory")
        self.directory = directory
        store = MemoryKeyStore(KeySet([Key.generate("ES256")]))
        signer = Signer(store, issuer=ISSUER)
        self.validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
        self.bound = signer.issue(
            "alice", audience=AUDIENCE, confirmation=Confirmation.of_certificate(self.alice.cert)
        )
        self.bearer = signer.issue("bob", audience=AUDIENCE)

    def server_context(self) -> ssl.SSLContext:
        return mutual_tls_context(self.directory, self.ca)

    def client(self, cert: ClientCert | None) -> ssl.SSLContext:
        if cert is not None:
            return cert.context(self.ca)
        return ssl.create_default_context(cafile=str(self.ca.path))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("mtls"))


def get(
    url: str,
    token: str,
    context: ssl.SSLContext | None,
    headers: Iterable[tuple[str, str]] = (),
    source: str | None = None,
) -> tuple[int, str]:
    """GET ``url`` with ``token`` (over TLS with ``context``): status and WWW-Authenticate."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    address = None if source is None else (source, 0)
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=10, source_address=address
        )
    else:
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=context)
    try:
        conn.putrequest("GET", "/orders")
        conn.putheader("Authorization", f"Bearer {token}")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("WWW-Authenticate") or ""
    finally:
        conn.close()


def rule_holds(world: World, url: str, send: Callable[..., tuple[int, str]] = get) -> None:
    """The RFC 8705 rule over one server."""
    assert send(url, world.bound, world.client(world.alice))[0] == 200
    for other in (world.mallory, None):
        status, challenge = send(url, world.bound, world.client(other))
        assert status == 401 and 'error="invalid_token"' in challenge, (status, challenge)
    for cert in (world.alice, world.mallory, None):
        assert send(url, world.bearer, world.client(cert))[0] == 200


# --- direct TLS ----------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(ts_wsgi.verified_token(environ).subject or "").encode()]


def test_werkzeug_direct_tls(world: World) -> None:
    app = ts_wsgi.TokenMiddleware(wsgi_app, Guard(world.validator))
    with serving(app, ssl_context=world.server_context()) as url:
        rule_holds(world, url)


def test_aiohttp_direct_tls(world: World) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=ts_aiohttp.verified_token(request).subject or "")

    app = web.Application(middlewares=[ts_aiohttp.token_middleware(Guard(world.validator))])
    app.router.add_get("/orders", handler)
    with aiohttp_server(app, ssl_context=world.server_context()) as url:
        rule_holds(world, url)


def test_a_certificate_header_from_a_direct_client_is_ignored(world: World) -> None:
    """Over direct TLS with no proxy configured, Mallory's header naming Alice's certificate
    changes nothing: only the connection's certificate counts."""
    app = ts_wsgi.TokenMiddleware(wsgi_app, Guard(world.validator))
    alice_der = world.alice.cert.public_bytes(Encoding.DER)
    with serving(app, ssl_context=world.server_context()) as url:
        for kind in ("x-client-cert", "client-cert", "x-forwarded-client-cert"):
            forged = [(kind, forwarded_form(kind, alice_der))]
            status, _ = get(url, world.bound, world.client(world.mallory), forged)
            assert status == 401


# --- behind a trusted proxy ----------------------------------------------------------------


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    body = (ts_asgi.verified_token(scope).subject or "").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def proxied(world: World) -> Iterator[Callable[[ClientCertHeader], str]]:
    """uvicorn serving the ASGI middleware whose guard trusts 127.0.0.1 as its proxy, for each
    header form; yields a function giving the proxy's URL for a form."""
    apps: dict[str, ts_asgi.TokenMiddleware] = {
        kind: ts_asgi.TokenMiddleware(
            asgi_app,
            Guard(
                world.validator,
                transport=TransportSecurity(trusted_proxies="127.0.0.1", client_cert_header=kind),
            ),
        )
        for kind in KINDS
    }

    async def router(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", ()))
        await apps[headers[b"x-test-form"].decode()](scope, receive, send)

    with uvicorn_server(router, lifespan="off") as backend:
        port = int(backend.rsplit(":", 1)[1])
        proxies = {
            kind: TLSProxy(world.server_context(), ("127.0.0.1", port), kind) for kind in KINDS
        }
        for proxy in proxies.values():
            proxy.__enter__()
        try:
            yield lambda kind: f"https://127.0.0.1:{proxies[kind].port}"
        finally:
            for proxy in proxies.values():
                proxy.__exit__()


@pytest.mark.parametrize("kind", KINDS)
def test_uvicorn_behind_a_trusted_tls_proxy(
    world: World, proxied: Callable[[ClientCertHeader], str], kind: ClientCertHeader
) -> None:
    def send(url: str, token: str, context: ssl.SSLContext) -> tuple[int, str]:
        return get(url, token, context, [("X-Test-Form", kind)])

    rule_holds(world, proxied(kind), send)


def test_a_client_header_through_the_proxy_is_replaced(
    world: World, proxied: Callable[[ClientCertHeader], str]
) -> None:
    """A well-configured proxy overwrites the client's own header: Mallory naming Alice's
    certificate still presents Mallory's, and without a certificate none."""
    alice_der = world.alice.cert.public_bytes(Encoding.DER)
    forged = ("x-client-cert", forwarded_form("x-client-cert", alice_der))
    for cert in (world.mallory, None):
        headers = [("X-Test-Form", "x-client-cert"), forged]
        status, challenge = get(proxied("x-client-cert"), world.bound, world.client(cert), headers)
        assert status == 401 and 'error="invalid_token"' in challenge


def test_a_certificate_header_from_an_untrusted_peer_is_ignored(world: World) -> None:
    """Plain HTTP from 127.0.0.2, which is not the trusted proxy (127.0.0.1): its header naming
    Alice's certificate is not read, so the bound token has no certificate (401)."""
    guard = Guard(
        world.validator,
        transport=TransportSecurity(
            trusted_proxies="127.0.0.1",
            client_cert_header="x-client-cert",
            insecure_allow_plain_http=True,
        ),
    )
    alice_der = world.alice.cert.public_bytes(Encoding.DER)
    header = [("X-Client-Cert", forwarded_form("x-client-cert", alice_der))]
    with uvicorn_server(ts_asgi.TokenMiddleware(asgi_app, guard), lifespan="off") as url:
        status, challenge = get(url, world.bound, None, header, source="127.0.0.2")
        assert status == 401 and 'error="invalid_token"' in challenge
        assert get(url, world.bound, None, header, source="127.0.0.1")[0] == 200  # the proxy
        status, challenge = get(url, world.bound, None, [("X-Client-Cert", "junk")], "127.0.0.1")
        assert status == 400 and 'error="invalid_request"' in challenge
