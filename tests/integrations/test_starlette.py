"""Starlette on a real uvicorn server, through the shared scenario table twice: an endpoint
calling ``authenticate`` (refusals answered by the installed handler), and a mounted app behind
the ASGI middleware."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from tests.integrations.scenarios import (
    HTTPS,
    METADATA_URL,
    REALM,
    SCENARIOS,
    SCOPE,
    World,
    make_guard,
    request,
    run_table,
)
from tests.support.app_servers import uvicorn_server
from tokensmith import ConfigurationError
from tokensmith.integrations.asgi import TokenMiddleware, verified_token
from tokensmith.integrations.starlette import authenticate, exception_handlers, install
from tokensmith.web import Guard


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def build(world: World) -> Starlette:
    guard = make_guard(world)

    async def orders(request: Request) -> JSONResponse:
        token = await authenticate(request, guard)
        assert verified_token(request.scope) is token
        return JSONResponse({"sub": token.subject})

    async def admin(request: Request) -> JSONResponse:
        token = await authenticate(request, guard, scopes="orders:admin")
        return JSONResponse({"sub": token.subject})  # pragma: no cover - never granted

    async def broken(request: Request) -> JSONResponse:
        raise ConfigurationError("a bug, not a refusal")

    async def mounted(request: Request) -> JSONResponse:
        return JSONResponse({"sub": verified_token(request.scope).subject})

    behind = Starlette(
        routes=[Route("/orders", mounted)],
        middleware=[Middleware(TokenMiddleware, guard=guard)],
    )
    app = Starlette(
        routes=[
            Route("/orders", orders),
            Route("/admin", admin),
            Route("/broken", broken),
            Route("/health", lambda request: PlainTextResponse("ok")),
            Mount("/mw", app=behind),
        ]
    )
    install(app, guard)
    return app


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with uvicorn_server(build(world)) as url:
        yield url


def test_an_endpoint_calling_authenticate_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) == len(SCENARIOS)


def test_the_middleware_in_starlette_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world, path="/mw/orders")) == len(SCENARIOS)


def test_the_challenge_names_the_routes_scopes(base_url: str, world: World) -> None:
    status, headers, _ = request(base_url, "/admin", [HTTPS])
    assert status == 401
    assert headers["www-authenticate"] == [
        f'Bearer realm="{REALM}", scope="orders:admin {SCOPE}", resource_metadata="{METADATA_URL}"'
    ]
    bearer = ("Authorization", f"Bearer {world.tokens['valid']}")
    status, headers, _ = request(base_url, "/admin", [bearer, HTTPS])
    assert status == 403
    assert f'scope="orders:admin {SCOPE}"' in headers["www-authenticate"][0]


def test_faults_stay_500s_the_handler_does_not_answer(base_url: str) -> None:
    status, headers, body = request(base_url, "/broken", [HTTPS])
    assert status == 500 and "www-authenticate" not in headers
    assert b"a bug" not in body


def test_handlers_only_for_a_guard(world: World) -> None:
    with pytest.raises(ConfigurationError):
        exception_handlers(world.validator)  # type: ignore[arg-type]
    assert len(exception_handlers(Guard(world.validator))) == 3
