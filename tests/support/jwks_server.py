"""A real HTTP server on 127.0.0.1 (port 0) that serves JWKS and metadata, and misbehaves on cue.

Each route is a callable returning ``(status, headers, body)``; :meth:`JWKSServer.serve_store`
serves a key store through :func:`tokensmith.jwks.jwks_response` (with ETag / 304). Setting
``mode`` makes every route misbehave: ``slow`` (sleep ``delay`` first), ``500``, ``503`` (an
overloaded or restarting endpoint, with ``Retry-After``), ``truncated``
(declares more bytes than it sends), ``garbage`` (not JSON), ``oversized`` (declared large),
``oversized_nolength`` (large, no Content-Length), ``wrong_type`` (text/html), ``redirect``
(302), ``drip`` (headers, then one byte every ``delay`` seconds), ``bad_length`` (the body with
``Content-Length: ²``, the byte 0xB2 that ``http.client`` decodes as a superscript two). With ``tls=`` (a server-side
:class:`ssl.SSLContext`) it speaks HTTPS on the same loopback port.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokensmith.jwks import jwks_response

Reply = tuple[int, dict[str, str], bytes]
Route = Callable[[Mapping[str, str]], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out close early on purpose; no tracebacks on stderr


class JWKSServer:
    """Start with ``with JWKSServer() as server:``; ``server.url('/jwks.json')``."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.mode = "ok"
        self.delay = 0.3
        self.count = 0
        self.paths: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> JWKSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mode = "ok"
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/jwks.json") -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}{path}"

    def requests_to(self, path: str) -> int:
        with self._lock:
            return self.paths.count(path)

    # --- content -----------------------------------------------------------------------------

    def serve_store(
        self, store: Any, path: str = "/jwks.json", *, max_age: int | None = None
    ) -> None:
        """Serve ``store``'s JWKS as a real issuer would (Cache-Control, ETag, 304)."""

        def route(headers: Mapping[str, str]) -> Reply:
            response = jwks_response(store, max_age=max_age)
            if response.not_modified(headers.get("if-none-match")):
                return 304, {"ETag": response.etag, **_cache(response.headers)}, b""
            return 200, dict(response.headers), response.body

        self.routes[path] = route

    def serve_json(
        self,
        path: str,
        document: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        self.routes[path] = lambda _headers: (status, dict(sent), body)

    # --- the handler -------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.count += 1
                    server.paths.append(self.path)
                    server.request_headers.append(headers)
                mode = server.mode
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, {"Content-Type": "application/json"}, b"{}")
                    return
                if mode == "slow":
                    time.sleep(server.delay)
                    mode = "ok"
                if mode == "ok":
                    self._send(*route(headers))
                elif mode == "500":
                    self._send(500, {"Content-Type": "application/json"}, b'{"error":"boom"}')
                elif mode == "503":
                    sent = {"Content-Type": "application/json", "Retry-After": "4"}
                    self._send(503, sent, b'{"error":"unavailable"}')
                elif mode == "bad_length":
                    status, sent, body = route({})
                    self._send(status, {**sent, "Content-Length": "\u00b2"}, body, length=False)
                elif mode == "garbage":
                    self._send(200, {"Content-Type": "application/json"}, b"<html>{not json")
                elif mode == "wrong_type":
                    status, sent, body = route({})  # a full body, never a 304
                    self._send(status, {**sent, "Content-Type": "text/html"}, body)
                elif mode == "redirect":
                    self._send(302, {"Location": server.url("/elsewhere")}, b"")
                elif mode == "truncated":
                    _status, sent, body = route({})
                    sent = {**sent, "Content-Length": str(len(body) + 100)}
                    self._send(200, sent, body, length=False)
                elif mode == "oversized":
                    self._send(200, {"Content-Type": "application/json"}, b" " * 400_000)
                elif mode == "oversized_nolength":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    chunk = b" " * 65536
                    try:
                        for _ in range(8):
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                elif mode == "drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(server.delay)
                    except OSError:
                        pass
                else:  # pragma: no cover - a typo in a test
                    raise AssertionError(f"unknown mode {mode!r}")

            def _send(
                self, status: int, headers: Mapping[str, str], body: bytes, *, length: bool = True
            ) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if length:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        return Handler


def _cache(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k == "Cache-Control"}
