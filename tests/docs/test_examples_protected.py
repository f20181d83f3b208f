"""examples/wsgi_protected.py and examples/asgi_protected.py, driven by real HTTP over loopback.

* WSGI: ``wsgiref.simple_server`` on 127.0.0.1 port 0 in a thread (the example's ``start``),
  and, for the brute-force test, two separate OS processes of the example sharing one Redis.
* ASGI: a tiny HTTP/1.1 server written here on asyncio streams (one request per connection,
  ``Content-Length`` bodies, ``Connection: close``) that turns each request into an ASGI
  ``http`` scope; no uvicorn. Requests are made with ``http.client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from types import ModuleType
from typing import Any

import pytest

from tests.support import EXAMPLES
from tests.support.modules import load_example
from tokensmith import Key, KeySet, MemoryKeyStore, Signer
from tokensmith.observability import AuditEvent
from tokensmith.testing import FakeClock
from tokensmith.web import NetworkPolicy, binding_claims

wsgi = load_example("wsgi_protected")
asgi = load_example("asgi_protected")


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(token: str) -> str:
    head, body, sig = token.split(".")
    return f"{head}.{body}.{'A' * len(sig)}"


# --- the two servers -------------------------------------------------------------------------


class AsgiTestServer:
    """A minimal HTTP/1.1 front for an ASGI app, on asyncio streams in a background thread."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> AsgiTestServer:
        self.thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self.server is not None
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _version = request_line.split(" ")
            headers = []
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers.append(
                        (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
                    )
            length = int(dict(headers).get(b"content-length", b"0"))
            body = await reader.readexactly(length) if length else b""
            path, _, query = target.partition("?")
            peer = writer.get_extra_info("peername")
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "method": method,
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query.encode("latin-1"),
                "root_path": "",
                "headers": headers,
                "client": (peer[0], peer[1]),
                "server": ("127.0.0.1", self.port),
            }
            inbox = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive() -> dict[str, Any]:
                return inbox.pop(0) if inbox else {"type": "http.disconnect"}

            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))

            await self.app(scope, receive, send)
            status = start["status"]
            out = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
            out += [name + b": " + value + b"\r\n" for name, value in start.get("headers", [])]
            out.append(b"connection: close\r\n\r\n")
            writer.write(b"".join(out + chunks))
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def audit_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(wsgi.JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, stream


@pytest.fixture(params=["wsgi", "asgi"])
def served(
    request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[tuple[Any, int, io.StringIO]]:
    logger, stream = audit_logger(f"tests.protected.{request.param}")
    if request.param == "wsgi":
        p = wsgi.build(clock=clock, logger=logger)
        server, thread = wsgi.start(wsgi.make_app(p))
        try:
            yield p, server.server_port, stream
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            p.close()
    else:
        p = asgi.build(clock=clock, logger=logger)
        try:
            with AsgiTestServer(asgi.make_app(p)) as server:
                yield p, server.port, stream
        finally:
            p.close()


def audit_lines(p: Any, stream: io.StringIO) -> list[dict[str, Any]]:
    p.queue.flush()
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def challenge(resp: Response) -> str:
    return resp.headers["www-authenticate"]


# --- behaviour, over HTTP, identical for both protocols ----------------------------------------


def test_answers_per_rfc6750(served: tuple[Any, int, io.StringIO], clock: FakeClock) -> None:
    p, port, stream = served
    token = p.signer.issue("user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"])

    ok = request(port, "GET", "/orders", bearer(token))
    assert ok.status == 200 and ok.json == {"subject": "user-1", "scopes": ["orders:read"]}

    missing = request(port, "GET", "/orders")
    assert missing.status == 401 and challenge(missing) == 'Bearer realm="orders-api"'

    short = request(port, "POST", "/orders", bearer(token))
    assert short.status == 403 and 'error="insufficient_scope"' in challenge(short)
    assert challenge(short).endswith('scope="orders:write"')

    in_query = request(port, "GET", f"/orders?access_token={token}", bearer(token))
    assert in_query.status == 400 and 'error="invalid_request"' in challenge(in_query)
    assert in_query.json["error"] == "invalid_request"  # token_in_query: in the audit log

    malformed = request(port, "GET", "/orders", {"Authorization": f"Bearer {token} x"})
    assert malformed.status == 400 and malformed.json["error"] == "invalid_request"

    bad = request(port, "GET", "/orders", bearer(forged(token)))
    assert bad.status == 401 and 'error="invalid_token"' in challenge(bad)
    assert bad.json["error"] == "invalid_token"  # the reason is for the audit log only

    assert request(port, "GET", "/nowhere").status == 404

    clock.advance(3600)
    expired = request(port, "GET", "/orders", bearer(token))
    assert expired.status == 401 and expired.json["error"] == "invalid_token"

    lines = audit_lines(p, stream)
    kinds = [(x["audit"]["kind"], x["audit"].get("code")) for x in lines]
    assert ("token.issued", None) in kinds and ("token.validated", None) in kinds
    for code in (
        "missing_token",
        "insufficient_scope",
        "token_in_query",
        "malformed_authorization",
        "invalid_signature",
        "expired",
    ):
        assert ("token.refused", code) in kinds, code
    assert all(
        x["audit"].get("ip") == "127.0.0.1" for x in lines if x["audit"]["kind"] != "token.issued"
    )
    assert token not in stream.getvalue() and forged(token) not in stream.getvalue()


def test_network_rules(served: tuple[Any, int, io.StringIO]) -> None:
    p, port, stream = served
    bound = p.signer.issue(
        "user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"], claims=binding_claims("10.9.9.9")
    )
    resp = request(port, "GET", "/orders", bearer(bound))
    assert resp.status == 401 and resp.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in challenge(resp)
    here = p.signer.issue(
        "user-1",
        audience=wsgi.AUDIENCE,
        scopes=["orders:read"],
        claims=binding_claims("127.0.0.0/8"),
    )
    assert request(port, "GET", "/orders", bearer(here)).status == 200
    p.network = NetworkPolicy.build(deny=["127.0.0.0/8"])  # a blocklist that covers us
    blocked = request(port, "GET", "/orders", bearer(here))
    assert blocked.status == 401 and blocked.json["error"] == "invalid_token"
    codes = [x["audit"].get("code") for x in audit_lines(p, stream)]
    assert codes.count("network_not_allowed") == 2


def test_brute_force_is_throttled_and_signalled(
    served: tuple[Any, int, io.StringIO], clock: FakeClock
) -> None:
    p, port, stream = served
    token = p.signer.issue("user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"])
    for _ in range(5):
        assert request(port, "GET", "/orders", bearer(forged(token))).status == 401
    throttled = request(port, "GET", "/orders", bearer(token))  # even a good token waits
    assert throttled.status == 429 and throttled.headers["retry-after"] == "12"
    assert throttled.json["error"] == "too_many_requests"
    clock.advance(12)  # one more attempt per window / max_refusals
    assert request(port, "GET", "/orders", bearer(token)).status == 200
    lines = audit_lines(p, stream)
    anomalies = [x["audit"] for x in lines if x["audit"]["kind"] == "anomaly"]
    assert [(a["detail"]["signal"], a["ip"], a["detail"]["count"]) for a in anomalies] == [
        ("refusal_burst", "127.0.0.1", "5")
    ]
    assert [x["level"] for x in lines if x["audit"]["kind"] == "anomaly"] == ["WARNING"]


@pytest.mark.parametrize("module", [wsgi, asgi], ids=["wsgi", "asgi"])
def test_extra_sinks_get_events_but_not_the_signals(module: Any, clock: FakeClock) -> None:
    """As build() says: a detector emits only to the sink it was given (the log)."""
    logger, stream = audit_logger(f"tests.protected.extra.{module.__name__}")
    extra: list[Any] = []
    p = module.build(clock=clock, logger=logger, extra_sinks=[extra.append])
    try:
        for _ in range(5):
            p.audit(AuditEvent("token.refused", clock(), code="invalid_signature", ip="10.0.0.9"))
        logged = [line["audit"]["kind"] for line in audit_lines(p, stream)]
    finally:
        p.close()
    assert logged.count("anomaly") == 1
    assert [event.kind for event in extra] == ["token.refused"] * 5


def test_missing_tokens_and_scope_do_not_count_as_brute_force(
    served: tuple[Any, int, io.StringIO],
) -> None:
    p, port, _ = served
    token = p.signer.issue("user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"])
    for _ in range(8):
        assert request(port, "GET", "/orders").status == 401
        assert request(port, "POST", "/orders", bearer(token)).status == 403
    assert request(port, "GET", "/orders", bearer(token)).status == 200


def test_one_client_spelled_two_ways_shares_one_throttle(clock: FakeClock) -> None:
    """The examples key the throttle with client_key: a dual-stack socket's ``::ffff:`` form
    of an address is the same client (issue 14, item 4). Called as WSGI and ASGI directly."""
    logger, _ = audit_logger("tests.protected.spelling")
    for module in (wsgi, asgi):
        p = module.build(clock=clock, logger=logger)
        try:
            app = module.make_app(p)
            token = p.signer.issue("user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"])
            statuses = [
                call(module, app, ip, forged(token))
                for ip in ["127.0.0.1", "::ffff:127.0.0.1"] * 2 + ["::ffff:7f00:1", "127.0.0.1"]
            ]
            assert statuses == [401] * 5 + [429], module.__name__
        finally:
            p.close()


def call(module: ModuleType, app: Any, ip: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if module is wsgi:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "REMOTE_ADDR": ip}
        environ.update({"HTTP_AUTHORIZATION": headers["Authorization"]})
        status: list[str] = []
        app(environ, lambda line, _headers: status.append(line))
        return int(status[0].split()[0])
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/orders",
        "client": (ip, 5000),
        "headers": [(b"authorization", headers["Authorization"].encode())],
        "query_string": b"",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_asgi_lifespan() -> None:
    p = asgi.build()
    try:
        app = asgi.make_app(p)
        inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app({"type": "lifespan"}, receive, send))
        asyncio.run(app({"type": "websocket"}, receive, send))  # ignored
        assert [m["type"] for m in sent] == [
            "lifespan.startup.complete",
            "lifespan.shutdown.complete",
        ]
    finally:
        p.close()


# --- two processes, one Redis: the throttle holds across them --------------------------------


def test_brute_force_throttled_across_two_processes_sharing_redis(redis_url: str) -> None:
    secret = os.urandom(32)
    env = {**os.environ, "TOKENSMITH_EXAMPLE_SECRET": secret.hex(), "PYTHONWARNINGS": "error"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLES / "wsgi_protected.py"),
                "--port",
                "0",
                "--redis-url",
                redis_url,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        ports = []
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"127\.0\.0\.1:(\d+)", line)
            assert match, line
            ports.append(int(match.group(1)))
        store = MemoryKeyStore(KeySet([Key.from_secret(secret, "HS256", kid="shared")]))
        token = Signer(store, issuer=wsgi.ISSUER).issue(
            "user-1", audience=wsgi.AUDIENCE, scopes=["orders:read"]
        )
        assert [request(port, "GET", "/orders", bearer(token)).status for port in ports] == [
            200,
            200,
        ]
        # Five guesses spread over both processes exhaust one shared budget...
        statuses = [
            request(ports[i % 2], "GET", "/orders", bearer(forged(token))).status for i in range(5)
        ]
        assert statuses == [401] * 5
        # ...so both now refuse this client, even with a valid token.
        for port in ports:
            resp = request(port, "GET", "/orders", bearer(token))
            assert resp.status == 429 and int(resp.headers["retry-after"]) >= 1
    finally:
        outputs = [proc.communicate(timeout=30) for proc in procs]  # closes stdin: clean exit
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        audit = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert any(x["audit"]["kind"] == "token.refused" for x in audit)
        assert token not in err and forged(token) not in err
