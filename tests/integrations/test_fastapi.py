"""FastAPI on a real uvicorn server: the dependency through the shared scenario table, the
OpenAPI document it produces, and per-route scopes in the challenge."""

import json
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI

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
from tokensmith import ConfigurationError, VerifiedToken
from tokensmith.integrations.fastapi import TokenAuth


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def build(world: World) -> FastAPI:
    auth = TokenAuth(make_guard(world), description="An access token from auth.example.test")
    app = FastAPI()
    auth.install(app)

    @app.get("/orders")
    async def orders(token: Annotated[VerifiedToken, Depends(auth.require_token())]) -> Any:
        return {"sub": token.subject}

    @app.get("/sync-orders")
    def sync_orders(token: VerifiedToken = Depends(auth.require_token())) -> Any:  # noqa: B008
        return {"sub": token.subject}

    @app.get("/admin")
    async def admin(
        token: Annotated[VerifiedToken, Depends(auth.require_token(scopes=["orders:admin"]))],
    ) -> Any:
        return {"sub": token.subject}  # pragma: no cover - never granted

    @app.get("/health")
    async def health() -> Any:
        return {"status": "ok"}

    router = APIRouter(prefix="/v2", dependencies=[Depends(auth.require_token())])

    @router.get("/orders")
    async def v2_orders() -> Any:
        return {"sub": "user-1"}

    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with uvicorn_server(build(world)) as url:
        yield url


@pytest.mark.parametrize("path", ["/orders", "/sync-orders", "/v2/orders"])
def test_the_dependency_passes_the_table(base_url: str, world: World, path: str) -> None:
    assert len(run_table(base_url, world, path=path)) == len(SCENARIOS)


def test_the_openapi_document_names_a_bearer_scheme(base_url: str) -> None:
    status, _, body = request(base_url, "/openapi.json", [])
    assert status == 200
    document = json.loads(body)
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from auth.example.test",
        }
    }
    paths = document["paths"]
    for path in ("/orders", "/admin", "/sync-orders", "/v2/orders"):
        assert paths[path]["get"]["security"] == [{"bearerAuth": []}], path
        assert "parameters" not in paths[path]["get"], path  # no query/header parameter leaks
    assert "security" not in paths["/health"]["get"]


def test_route_scopes_are_in_the_challenge(base_url: str, world: World) -> None:
    status, headers, _ = request(base_url, "/admin", [HTTPS])
    assert status == 401
    assert headers["www-authenticate"] == [
        f'Bearer realm="{REALM}", scope="orders:admin {SCOPE}", resource_metadata="{METADATA_URL}"'
    ]
    bearer = ("Authorization", f"Bearer {world.tokens['valid']}")
    status, headers, body = request(base_url, "/admin", [bearer, HTTPS])
    assert status == 403 and f'scope="orders:admin {SCOPE}"' in headers["www-authenticate"][0]
    assert json.loads(body)["error"] == "insufficient_scope"


def test_the_public_route_needs_nothing(base_url: str) -> None:
    assert request(base_url, "/health", [])[0] == 200


def test_configuration_is_checked_at_start_up(world: World) -> None:
    with pytest.raises(ConfigurationError):
        TokenAuth(world.validator)  # type: ignore[arg-type]
    auth = TokenAuth(make_guard(world), scheme_name="orders")
    assert repr(auth).startswith("TokenAuth(Guard(") and "orders" in repr(auth)
    assert repr(auth.require_token("orders:admin")) == "TokenDependency(scopes=['orders:admin'])"
    with pytest.raises(ConfigurationError):  # said when the route is declared
        auth.require_token(scopes=['orders "admin"'])
