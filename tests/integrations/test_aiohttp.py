"""aiohttp's middleware on aiohttp's own server (AppRunner + TCPSite) through the shared
scenario table, and over a real TLS connection."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.integrations.scenarios import (
    HTTPS,
    PATH,
    SCENARIOS,
    World,
    make_guard,
    request,
    run_table,
)
from tests.support.app_servers import aiohttp_server
from tests.support.peers import LOOPBACK, server_context
from tokensmith import ConfigurationError
from tokensmith.integrations.aiohttp import (
    REQUEST_KEY,
    request_facts,
    token_middleware,
    verified_token,
)


async def orders(request: web.Request) -> web.Response:
    document = {"sub": verified_token(request).subject}
    if request.query.get("scheme"):
        document["scheme"] = request_facts(request).scheme
    return web.json_response(document)


async def health(request: web.Request) -> web.Response:
    with pytest.raises(ConfigurationError):
        verified_token(request)
    return web.json_response({"status": "ok"})


def build(world: World) -> web.Application:
    app = web.Application(
        middlewares=[token_middleware(make_guard(world), public_paths=["/health"])]
    )
    app.router.add_get(PATH, orders)
    app.router.add_get("/health", health)
    return app


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with aiohttp_server(build(world)) as url:
        yield url


def test_the_aiohttp_middleware_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) == len(SCENARIOS)


def test_public_paths_are_exact(base_url: str) -> None:
    status, _, body = request(base_url, "/health", [HTTPS])
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert request(base_url, "/health/", [HTTPS])[0] == 401


def test_a_real_tls_connection_counts_as_https(world: World, tmp_path: Path) -> None:
    """No proxy header at all: the scheme comes from the connection itself."""
    with aiohttp_server(
        build(world), ssl_context=server_context(tmp_path, None, names=LOOPBACK)
    ) as url:
        client = ssl.create_default_context(cafile=str(tmp_path / "server.pem"))
        port = int(url.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=10)
        try:
            conn.request(
                "GET",
                f"{PATH}?scheme=1",
                headers={"Authorization": f"Bearer {world.tokens['valid']}"},
            )
            answer = conn.getresponse()
            assert answer.status == 200
            assert json.loads(answer.read()) == {"sub": "user-1", "scheme": "https"}
        finally:
            conn.close()


def test_the_key_and_configuration(world: World) -> None:
    assert str(getattr(REQUEST_KEY, "_name", REQUEST_KEY)).endswith("tokensmith.token")
    with pytest.raises(ConfigurationError):
        token_middleware(world.validator)  # type: ignore[arg-type]
