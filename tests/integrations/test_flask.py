"""The Flask adapter: a real Flask app on werkzeug's server on 127.0.0.1, driven through the
shared scenario table, with the scopes on the guard, on the route, and on an async view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g

from tests.integrations.scenarios import (
    METADATA_URL,
    PATH,
    REALM,
    SCOPE,
    World,
    make_guard,
    run_table,
)
from tests.support.werkzeug_server import serving
from tokensmith import BackendUnavailable, ConfigurationError, Validator
from tokensmith.integrations.flask import EXTENSION, TOKEN_ATTRIBUTE, TokenAuth, current_token
from tokensmith.web import Guard


def _scopeless_guard(world: World) -> Guard:
    return Guard(world.validator, realm=REALM, transport=world.transport(),
                 resource_metadata=METADATA_URL)  # fmt: skip


def make_app(world: World) -> Flask:
    app = Flask("orders")
    auth = TokenAuth(make_guard(world), app)  # the guard asks for the scope
    per_route = TokenAuth()  # an app factory's extension: the guard comes with init_app
    per_route.init_app(app, _scopeless_guard(world))

    @app.get(PATH)
    @auth.require_token()
    def orders() -> dict[str, Any]:
        return {"sub": g.token.subject}

    @app.get("/by-route")
    @per_route.require_token(scopes=[SCOPE])
    def by_route() -> dict[str, Any]:
        return {"sub": current_token().subject}

    @app.get("/async")
    @per_route.require_token(scopes=SCOPE)
    async def async_orders() -> dict[str, Any]:
        return {"sub": current_token().subject}

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"token": g.get(TOKEN_ATTRIBUTE) is not None}

    return app


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with serving(make_app(world)) as url:
        yield url


def test_scopes_on_the_guard(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) >= 14


def test_scopes_on_the_route(base_url: str, world: World) -> None:
    run_table(base_url, world, path="/by-route")


def test_an_async_view_uses_the_async_face(base_url: str, world: World) -> None:
    run_table(base_url, world, path="/async")


def test_the_token_is_on_g_and_typed(world: World) -> None:
    app = make_app(world)
    token = world.tokens["valid"]
    with app.test_request_context(
        "/orders",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # no peer, no trust: refused otherwise
    ):
        view = app.view_functions["orders"]
        assert view() == {"sub": "user-1"}
        assert getattr(g, TOKEN_ATTRIBUTE) is current_token()
        assert current_token().subject == "user-1"
    assert app.test_client().get("/public").get_json() == {"token": False}


def test_current_token_outside_a_protected_view_is_a_programming_error(world: World) -> None:
    with make_app(world).test_request_context("/public"):
        with pytest.raises(ConfigurationError) as info:
            current_token()
    assert type(info.value) is ConfigurationError


def test_configuration_mistakes_are_said_at_start_up() -> None:
    with pytest.raises(ConfigurationError):
        TokenAuth().init_app(Flask("a"))
    with pytest.raises(ConfigurationError):
        TokenAuth(object()).init_app(Flask("a"))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TokenAuth().require_token(scopes=["orders read"])  # no token can carry it


def test_a_view_of_an_app_the_extension_was_not_given_fails_loudly(world: World) -> None:
    auth = TokenAuth(make_guard(world))
    app = Flask("forgotten")
    app.testing = True  # exceptions reach the test

    @app.get("/x")
    @auth.require_token()
    def view() -> str:  # pragma: no cover - never reached
        return "x"

    with pytest.raises(ConfigurationError, match="init_app"):
        app.test_client().get("/x")
    assert repr(auth).startswith("TokenAuth(Guard(realm='orders'")
    assert EXTENSION not in app.extensions


class _Broken:
    """A validator with a programming error in it: not a refusal, so not answered as one."""

    def validate(self, token: str, *, scopes: Any = (), confirmation: Any = None) -> Any:
        raise ConfigurationError("misconfigured")

    async def avalidate(self, token: str, *, scopes: Any = (), confirmation: Any = None) -> Any:
        raise ConfigurationError("misconfigured")


def test_a_fault_is_not_dressed_as_a_refusal(world: World) -> None:
    """Flask must see a ConfigurationError (logged, its own 500), not a quiet JSON answer."""
    app = Flask("faulty")
    app.testing = True
    auth = TokenAuth(Guard(_Broken(), transport=world.transport()), app)

    @app.get("/x")
    @auth.require_token()
    def view() -> str:  # pragma: no cover - never reached
        return "x"

    headers = {"Authorization": f"Bearer {world.tokens['valid']}", "X-Forwarded-Proto": "https"}
    with pytest.raises(ConfigurationError):
        app.test_client().get("/x", headers=headers)


def test_an_outage_is_a_503_on_both_faces(world: World) -> None:
    class Down:
        def verification_key(self, kid: str | None, alg: str) -> Any:
            raise BackendUnavailable("the key source is down")

    from tests.support import AUDIENCE, ISSUER

    guard = Guard(Validator(Down(), issuer=ISSUER, audience=AUDIENCE), transport=world.transport())
    app = Flask("down")
    auth = TokenAuth(guard, app)

    @app.get("/sync")
    @auth.require_token()
    def sync_view() -> str:  # pragma: no cover - never reached
        return "x"

    @app.get("/async")
    @auth.require_token()
    async def async_view() -> str:  # pragma: no cover - never reached
        return "x"

    token = world.tokens["valid"]
    client = app.test_client()
    for path in ("/sync", "/async"):
        response = client.get(
            path, headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
        )
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] and response.headers["Cache-Control"] == "no-store"
        assert response.get_json()["error"] == "temporarily_unavailable"
        assert "WWW-Authenticate" not in response.headers
