"""The WSGI middleware on a real server (wsgiref) through the shared scenario table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tests.integrations.scenarios import HTTPS, SCENARIOS, World, make_guard, request, run_table
from tests.support.app_servers import wsgi_server
from tokensmith import ConfigurationError
from tokensmith.integrations.wsgi import ENVIRON_KEY, TokenMiddleware, respond, verified_token


def inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The protected app: answers with the verified subject; /health is public."""
    if environ["PATH_INFO"] == "/health":
        try:
            verified_token(environ)
        except ConfigurationError as exc:
            document: dict[str, str | None] = {"status": "ok", "token": type(exc).__name__}
    else:
        document = {"sub": verified_token(environ).subject}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(document).encode()]


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    app = TokenMiddleware(inner, guard=make_guard(world), public_paths=["/health"])
    with wsgi_server(app) as url:
        yield url


def test_the_wsgi_middleware_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) == len(SCENARIOS)


def test_public_paths_are_exact_and_carry_no_token(base_url: str) -> None:
    status, _, body = request(base_url, "/health", [HTTPS])
    assert status == 200 and json.loads(body) == {"status": "ok", "token": "ConfigurationError"}
    for near in ("/health/", "/healthz"):
        assert request(base_url, near, [HTTPS])[0] == 401, near


def test_a_client_cannot_plant_the_token_key(world: World) -> None:
    """Clients set HTTP_* keys only: a header named like the key never becomes a token."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health", "wsgi.url_scheme": "https",
               "HTTP_TOKENSMITH.TOKEN": "forged"}  # fmt: skip
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ.get(ENVIRON_KEY))
        return []

    ignore: Any = print  # start_response is never called on a public path
    TokenMiddleware(app, guard=make_guard(world), public_paths=["/health"])(environ, ignore)
    assert seen == [None]


def test_respond_sends_an_answer(world: World) -> None:
    answer = make_guard(world).answer(None)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))

    body = respond(start_response, answer)
    status, headers = started[0]
    assert status == "401 Unauthorized" and body == [answer.body]
    assert ("Content-Type", "application/json") in headers
    assert ("Content-Length", str(len(answer.body))) in headers


def test_configuration_is_checked_at_start_up(world: World) -> None:
    with pytest.raises(ConfigurationError) as info:
        TokenMiddleware(inner, guard=world.validator)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError
    assert "orders:admin" in repr(TokenMiddleware(inner, make_guard(world), scopes="orders:admin"))


def test_a_validator_over_async_backends_is_refused_at_start_up() -> None:
    """A WSGI app cannot await: refused when the middleware is built, not on every request."""
    from tokensmith import Validator
    from tokensmith.jwks import AsyncRemoteJWKS
    from tokensmith.web import Guard

    validator = Validator(
        AsyncRemoteJWKS("https://issuer.example/jwks.json"),
        issuer="https://issuer.example",
        audience="orders",
    )
    with pytest.raises(ConfigurationError) as info:
        TokenMiddleware(inner, guard=Guard(validator))
    assert type(info.value) is ConfigurationError
    assert "RemoteJWKS" in str(info.value) and "ASGI" in str(info.value)
