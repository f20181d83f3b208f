"""Every framework adapter serves a guard's RFC 9728 document at its well-known path, without a
token, on a real server: Starlette and FastAPI (``install``), aiohttp (the middleware), Flask
(``init_app``) and Django (the middleware). The ASGI and WSGI middleware are in
tests/oauth/test_oauth_resource_metadata.py."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integrations.django_settings import configure, urlconf

configure()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402 - after configure()
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from tests.integrations.scenarios import HTTPS, REALM, World  # noqa: E402
from tests.support.app_servers import aiohttp_server, uvicorn_server  # noqa: E402
from tests.support.werkzeug_server import serving  # noqa: E402
from tokensmith.oauth import ProtectedResourceMetadata  # noqa: E402
from tokensmith.web import Guard  # noqa: E402

RESOURCE = "https://orders.example.test/orders"
WELL_KNOWN = "/.well-known/oauth-protected-resource/orders"
METADATA = ProtectedResourceMetadata(
    RESOURCE, authorization_servers=["https://auth.example.test"], scopes_supported=["orders"]
)


def _get(base: str, route: str, method: str = "GET", *headers: tuple[str, str]
         ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=10)
    try:
        conn.putrequest(method, route)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _guard(world: World) -> Guard:
    return Guard(world.validator, realm=REALM, transport=world.transport(),
                 resource_metadata=METADATA)  # fmt: skip


def _starlette(world: World) -> AbstractContextManager[str]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tokensmith.integrations.starlette import authenticate, install

    guard = _guard(world)

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"sub": (await authenticate(request, guard)).subject})

    app = Starlette(routes=[Route("/orders", orders)])
    install(app, guard)
    return uvicorn_server(app)


def _fastapi(world: World) -> AbstractContextManager[str]:
    from fastapi import Depends, FastAPI

    from tokensmith import VerifiedToken
    from tokensmith.integrations.fastapi import TokenAuth

    auth = TokenAuth(_guard(world))
    app = FastAPI()
    auth.install(app)

    @app.get("/orders")
    async def orders(token: VerifiedToken = Depends(auth.require_token())) -> Any:  # noqa: B008
        return {"sub": token.subject}

    assert WELL_KNOWN not in app.openapi()["paths"]  # not an API operation
    return uvicorn_server(app)


def _aiohttp(world: World) -> AbstractContextManager[str]:
    from aiohttp import web

    from tokensmith.integrations.aiohttp import token_middleware

    async def orders(request: web.Request) -> web.Response:
        return web.json_response({"sub": "user-1"})

    app = web.Application(middlewares=[token_middleware(_guard(world))])
    app.router.add_get("/orders", orders)
    return aiohttp_server(app)


def _flask(world: World) -> AbstractContextManager[str]:
    from flask import Flask

    from tokensmith.integrations.flask import TokenAuth

    app = Flask("orders")
    auth = TokenAuth(_guard(world), app)
    TokenAuth(_guard(world), app)  # a second guard of the app: the first one's route stays

    @app.get("/orders")
    @auth.require_token()
    def orders() -> dict[str, Any]:
        return {"sub": "user-1"}

    return serving(app)


@contextlib.contextmanager
def _django(world: World) -> Iterator[str]:
    from tokensmith.integrations.django import require_token

    @require_token()
    def orders(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": "user-1"})

    with override_settings(
        ROOT_URLCONF=urlconf(path("orders", orders)),
        TOKENSMITH_GUARD=_guard(world),
        MIDDLEWARE=["tokensmith.integrations.django.TokenMiddleware"],
    ):
        with serving(WSGIHandler()) as url:
            yield url


SERVERS: dict[str, Callable[[World], AbstractContextManager[str]]] = {
    "starlette": _starlette,
    "fastapi": _fastapi,
    "aiohttp": _aiohttp,
    "flask": _flask,
    "django": _django,
}


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module", params=list(SERVERS))
def served(request: pytest.FixtureRequest, world: World) -> Iterator[str]:
    with SERVERS[request.param](world) as url:
        yield url


def test_the_document_is_served_without_a_token(served: str) -> None:
    status, headers, body = _get(served, WELL_KNOWN)
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == dict(METADATA.document)
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["access-control-allow-origin"] == "*"
    status, _, body = _get(served, WELL_KNOWN, "GET", ("If-None-Match", headers["etag"]))
    assert (status, body) == (304, b"")
    assert _get(served, WELL_KNOWN, "HEAD")[0] == 200


def test_the_protected_route_names_the_document(served: str, world: World) -> None:
    status, headers, _ = _get(served, "/orders", "GET", HTTPS)
    assert status == 401
    assert headers["www-authenticate"] == (
        f'Bearer realm="{REALM}", resource_metadata="https://orders.example.test{WELL_KNOWN}"'
    )
    bearer = ("Authorization", f"Bearer {world.tokens['valid']}")
    assert _get(served, "/orders", "GET", bearer, HTTPS)[0] == 200


def test_the_django_middleware_serves_it_in_an_async_chain_too(world: World) -> None:
    import asyncio

    from django.test import AsyncClient

    with override_settings(
        ROOT_URLCONF=urlconf(),
        TOKENSMITH_GUARD=_guard(world),
        MIDDLEWARE=["tokensmith.integrations.django.TokenMiddleware"],
    ):
        response = asyncio.run(AsyncClient().get(WELL_KNOWN))
    assert response.status_code == 200 and json.loads(response.content) == dict(METADATA.document)
