"""A small WSGI API (stdlib ``wsgiref`` only) protected by ``Validator.validate()``.

Each refusal becomes the right HTTP answer, per RFC 6750:

* no credentials             -> 401 with ``WWW-Authenticate: Bearer realm="orders-api"``
* a malformed header         -> 400 with ``error="invalid_request"``
* an invalid token           -> 401 with ``error="invalid_token"``
* a valid token, scope short -> 403 with ``error="insufficient_scope"`` and ``scope="..."``
* a backend did not answer   -> 503 with ``Retry-After`` (the token was NOT judged invalid)

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

from tokensmith import (
    BackendUnavailable,
    KeySet,
    MemoryKeyStore,
    Signer,
    TokenError,
    Validator,
    VerifiedToken,
)

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


# --- the tiny bearer helper (tokensmith.web will provide this) --------------------------


class BadRequest(Exception):
    """The Authorization header is present but not a single Bearer credential."""


def bearer_token(environ: dict[str, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1), or None."""
    header = environ.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token.strip():
        raise BadRequest("expected 'Authorization: Bearer <token>'")
    return token.strip()


def www_authenticate(error: str | None = None, *, scope: Iterable[str] = ()) -> str:
    """A ``WWW-Authenticate`` challenge (RFC 6750 §3). Only codes go in it, never details."""
    parts = [f'realm="{REALM}"']
    if error is not None:
        parts.append(f'error="{error}"')
    scopes = " ".join(sorted(scope))
    if scopes:
        parts.append(f'scope="{scopes}"')
    return "Bearer " + ", ".join(parts)


# --- the application ---------------------------------------------------------------------------


def make_app(validator: Validator) -> App:
    """The WSGI application: authenticate, authorise, then run the route."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def reply(status: str, body: dict[str, Any], *headers: tuple[str, str]) -> list[bytes]:
            data = json.dumps(body).encode()
            start_response(
                status,
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(data))),
                    ("Cache-Control", "no-store"),
                    *headers,
                ],
            )
            return [data]

        route = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"))
        scope = ROUTES.get(route)
        if scope is None:
            return reply("404 Not Found", {"error": "not_found"})
        try:
            token = bearer_token(environ)
        except BadRequest:
            challenge = ("WWW-Authenticate", www_authenticate("invalid_request"))
            return reply("400 Bad Request", {"error": "invalid_request"}, challenge)
        if token is None:  # no credentials: a bare challenge, no error code (RFC 6750 §3.1)
            challenge = ("WWW-Authenticate", www_authenticate())
            return reply("401 Unauthorized", {"error": "unauthorized"}, challenge)
        try:
            tok = validator.validate(token, scopes=[scope])
        except TokenError as exc:
            required = getattr(exc, "required", ())
            challenge = ("WWW-Authenticate", www_authenticate(exc.error, scope=required))
            status = "403 Forbidden" if exc.status_code == 403 else "401 Unauthorized"
            return reply(status, {"error": exc.error, "code": exc.code}, challenge)
        except BackendUnavailable:  # not the token's fault: 503, never 401
            return reply("503 Service Unavailable", {"error": "unavailable"}, ("Retry-After", "1"))
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
