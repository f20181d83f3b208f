"""A small WSGI API (stdlib ``wsgiref`` only) protected by a ``Guard``, route by route.

Each route names the scope it requires; ``Guard.authenticate`` reads the one bearer token
(RFC 6750 §2.1), validates it with those scopes, and every refusal is sent as
``Guard.answer`` says (``tokensmith.integrations.wsgi.respond``):

* no credentials             -> 401 with ``WWW-Authenticate: Bearer realm="orders-api"``
* a malformed header         -> 400 with ``error="invalid_request"``
* an invalid token           -> 401 with ``error="invalid_token"``
* a valid token, scope short -> 403 with ``error="insufficient_scope"`` and ``scope="..."``
* a backend did not answer   -> 503 with ``Retry-After`` (the token was NOT judged invalid)

An app whose every route needs the same scopes needs no code for this at all:
``tokensmith.integrations.wsgi.TokenMiddleware`` (docs/frameworks/wsgi.md).

Run it:  ``python examples/wsgi_api.py`` serves on http://127.0.0.1:8080 and prints a token
to try with curl; ``python examples/wsgi_api.py --self-test`` starts on a free port, makes a
few requests, checks the answers and exits. Tests import :func:`make_app` and :func:`start`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tokensmith import KeySet, MemoryKeyStore, Signer, Validator, VerifiedToken
from tokensmith.integrations.wsgi import respond
from tokensmith.web import Guard, RequestFacts

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
REALM = "orders-api"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# route -> scope it requires
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/orders"): "orders:read",
    ("POST", "/orders"): "orders:write",
}


# --- the application ---------------------------------------------------------------------------


def make_app(validator: Validator) -> App:
    """The WSGI application: authenticate and authorise with the route's scope, then run it."""
    guard = Guard(validator, realm=REALM)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def reply(status: str, body: dict[str, Any]) -> list[bytes]:
            data = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(data)))])  # fmt: skip
            return [data]

        route = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"))
        scope = ROUTES.get(route)
        if scope is None:
            return reply("404 Not Found", {"error": "not_found"})
        try:
            tok = guard.authenticate(RequestFacts.from_wsgi(environ), scopes=[scope])
        except guard.refusals as exc:  # a refusal: 401/403/400, or 503 when a backend is down
            return respond(start_response, guard.answer(exc))
        return reply("200 OK", handle(route, tok))

    return app


def handle(route: tuple[str, str], tok: VerifiedToken) -> dict[str, Any]:
    """The business logic, reached only with a verified token."""
    if route[0] == "GET":
        return {"orders": [], "for": tok.subject}
    return {"created": True, "by": tok.subject}


# --- serving ----------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Access logs would go to stderr; a real service logs fingerprints, never tokens."""


def start(app: App, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``app`` in a background thread; ``port=0`` picks a free port (see server_port)."""
    server = make_server(host, port, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="wsgi-api", daemon=True)
    thread.start()
    return server, thread


def stop(server: WSGIServer, thread: threading.Thread) -> None:
    """Stop a server started with :func:`start` and release its socket."""
    server.shutdown()
    thread.join()
    server.server_close()


def request(port: int, method: str, path: str, token: str | None = None) -> tuple[int, str]:
    """One HTTP request to 127.0.0.1; returns the status and the WWW-Authenticate header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("WWW-Authenticate", "")
    finally:
        conn.close()


def build() -> tuple[Signer, Validator]:
    """A signer and a validator sharing one in-memory key store (a real service: FileKeyStore)."""
    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=ISSUER, ttl=900)
    return signer, Validator(store, issuer=ISSUER, audience=AUDIENCE)


def self_test() -> int:
    """Start on a free port, check one answer of each kind, stop. Exit code 0 when all match."""
    signer, validator = build()
    reader = signer.issue("user-123", audience=AUDIENCE, scopes=["orders:read"])
    server, thread = start(make_app(validator))
    port = server.server_port
    failures = 0
    try:
        for method, token, expected in (
            ("GET", None, 401),
            ("GET", "not-a-token", 401),
            ("GET", reader, 200),
            ("POST", reader, 403),
        ):
            status, challenge = request(port, method, "/orders", token)
            ok = status == expected
            failures += not ok
            print(f"{method:4} /orders -> {status} {challenge or ''}".rstrip())
    finally:
        stop(server, thread)
    print("self-test passed" if not failures else f"self-test FAILED ({failures})")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--self-test", action="store_true", help="check and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    signer, validator = build()
    token = signer.issue("user-123", audience=AUDIENCE, scopes=["orders:read"])
    with make_server("127.0.0.1", args.port, make_app(validator)) as server:
        print(f"serving on http://127.0.0.1:{server.server_port}/orders (Ctrl-C stops)")
        url = f"http://127.0.0.1:{server.server_port}/orders"
        print(f'try: curl -i -H "Authorization: Bearer {token}" {url}')
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
