"""The ASGI middleware on a real uvicorn server, through the shared scenario table; lifespan and
WebSocket handling driven with ASGI messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

from tests.integrations.scenarios import (
    HTTPS,
    PATH,
    SCENARIOS,
    World,
    make_guard,
    request,
    run_table,
)
from tests.support.app_servers import uvicorn_server
from tokensmith import ConfigurationError, TokensmithError
from tokensmith.integrations.asgi import SCOPE_KEY, TokenMiddleware, verified_token

EVENTS: list[str] = []


async def _json(send: Any, status: int, document: object) -> None:
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def inner(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """The protected app: answers with the verified subject; /health is public."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            EVENTS.append(message["type"])
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/health":
        try:
            verified_token(scope)
        except ConfigurationError as exc:
            await _json(send, 200, {"status": "ok", "token": type(exc).__name__})
        return
    await _json(send, 200, {"sub": verified_token(scope).subject})


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    app = TokenMiddleware(inner, guard=make_guard(world), public_paths=["/health"])
    with uvicorn_server(app, lifespan="on") as url:
        yield url


def test_the_asgi_middleware_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) == len(SCENARIOS)


def test_lifespan_reaches_the_app(base_url: str) -> None:
    assert EVENTS == ["lifespan.startup"]


def test_public_paths_are_exact_and_carry_no_token(base_url: str, world: World) -> None:
    status, _, body = request(base_url, "/health", [HTTPS])
    assert status == 200 and json.loads(body) == {"status": "ok", "token": "ConfigurationError"}
    for near in ("/health/", "/healthz", "/health/../orders"):
        assert request(base_url, near, [HTTPS])[0] == 401, near


# --- driven with ASGI messages ----------------------------------------------------------------


def call(app: Any, scope: dict[str, Any], inbox: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def ws_scope(world: World, *, token: str | None, extensions: dict[str, Any] | None = None
             ) -> dict[str, Any]:  # fmt: skip
    headers = [(b"x-forwarded-proto", b"https")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {world.tokens[token]}".encode()))
    return {"type": "websocket", "scheme": "ws", "path": PATH, "raw_path": PATH.encode(),
            "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5000),
            "extensions": extensions or {}}  # fmt: skip


async def echo_socket(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": verified_token(scope).subject})
    await send({"type": "websocket.close", "code": 1000})


def test_a_websocket_handshake_with_a_valid_token_is_accepted(world: World) -> None:
    app = TokenMiddleware(echo_socket, guard=make_guard(world))
    sent = call(app, ws_scope(world, token="valid"), [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "user-1"


def test_a_refused_handshake_gets_the_http_answer_where_the_server_can_send_it(
    world: World,
) -> None:
    app = TokenMiddleware(echo_socket, guard=make_guard(world))
    scope = ws_scope(world, token="expired", extensions={"websocket.http.response": {}})
    sent = call(app, scope, [{"type": "websocket.connect"}])
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 401
    assert b'error="invalid_token"' in headers[b"www-authenticate"]
    assert headers[b"content-type"] == b"application/json"
    assert world.tokens["expired"].encode() not in sent[1]["body"]


def test_a_refused_handshake_is_closed_before_accepting_elsewhere(world: World) -> None:
    app = TokenMiddleware(echo_socket, guard=make_guard(world))
    sent = call(app, ws_scope(world, token=None), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008}]
    gone = call(app, ws_scope(world, token=None), [{"type": "websocket.disconnect"}])
    assert gone == []  # the client left first: nothing to answer


def test_unknown_scope_types_are_not_let_through(world: World) -> None:
    app = TokenMiddleware(echo_socket, guard=make_guard(world))
    with pytest.raises(ConfigurationError) as info:
        call(app, {"type": "webtransport", "path": PATH}, [])
    assert type(info.value) is ConfigurationError


def test_the_scope_is_copied_not_changed(world: World) -> None:
    seen: list[MutableMapping[str, Any]] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {"type": "http", "method": "GET", "scheme": "https", "path": PATH,
             "headers": [(b"authorization", f"Bearer {world.tokens['valid']}".encode())],
             "client": ("127.0.0.1", 1)}  # fmt: skip
    call(TokenMiddleware(app, guard=make_guard(world)), scope, [])
    assert SCOPE_KEY not in scope and seen[0][SCOPE_KEY].subject == "user-1"


def test_faults_are_left_to_the_server_not_answered(world: World) -> None:
    """A bug (here a validator that crashes) must reach the server, which logs it and answers
    500: answering it as a refusal would hide it."""

    class Broken:
        def validate(self, token: str, **kw: Any) -> Any:  # pragma: no cover - sync face unused
            raise RuntimeError("bug")

        async def avalidate(self, token: str, **kw: Any) -> Any:
            raise RuntimeError("bug")

    from tokensmith.web import Guard

    guard = Guard(Broken(), transport=world.transport())
    scope = ws_scope(world, token="valid") | {"type": "http", "method": "GET"}
    with pytest.raises(RuntimeError):
        call(TokenMiddleware(echo_socket, guard=guard), scope, [])


def test_configuration_is_checked_at_start_up(world: World) -> None:
    with pytest.raises(ConfigurationError) as info:
        TokenMiddleware(echo_socket, guard=world.validator)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError and "Guard(validator" in str(info.value)
    middleware = TokenMiddleware(echo_socket, guard=make_guard(world), scopes="orders:admin")
    assert middleware.scopes == ("orders:admin",)
    assert "orders:admin" in repr(middleware) and "Bearer" not in repr(middleware)
    assert issubclass(ConfigurationError, TokensmithError)
    with pytest.raises(ConfigurationError):  # a scope no token can carry: said at start-up
        TokenMiddleware(echo_socket, guard=make_guard(world), scopes=["orders read"])
