"""The scenario table itself, against the bare Guard in a plain WSGI app on a real server: the
reference every framework adapter is held to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tests.integrations.scenarios import SCENARIOS, World, make_guard, run_table
from tokensmith import TokensmithError
from tokensmith.web import RequestFacts


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    guard = make_guard(world)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            token = guard.authenticate(RequestFacts.from_wsgi(environ))
        except TokensmithError as exc:
            answer = guard.answer(exc)
            start_response(f"{answer.status} -", [*answer.headers,
                           ("Content-Type", "application/json")])  # fmt: skip
            return [answer.body]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"sub": token.subject}).encode()]

    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_bare_guard_passes_the_table(base_url: str, world: World) -> None:
    assert len(run_table(base_url, world)) == len(SCENARIOS) >= 14
