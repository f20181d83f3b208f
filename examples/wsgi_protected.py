"""A WSGI API (raw protocol, stdlib only) with every protection tokensmith offers around a token.

Per request, in this order:

1. IP rules before any token work (``NetworkPolicy.check_address``): denied networks get 401.
2. Brute-force throttle (``RefusalThrottle``) keyed by ``client_key`` (every spelling of an
   address is one client, an IPv6 ``/64`` is one client): too many refusals get 429.
3. The credentials, read by a ``Guard`` (``guard.credentials``): RFC 6750 §2.1 only; a URL
   token, two ``Authorization`` headers or credentials over plain HTTP are refused (400).
4. ``Validator.validate`` inside ``audit_context(ip=...)`` so audit events carry the IP.
5. Per-token IP rules and token binding (``NetworkPolicy.check``).
6. Any refusal -> ``guard.answer(exc)``, sent with ``tokensmith.integrations.wsgi.respond``
   (RFC 6750 status, challenge and JSON body); presented-but-refused tokens count towards the
   throttle.

Audit events (issued, validated, refused, anomalies) go through a ``QueueSink`` to ``logging``
as JSON lines on stderr; a refusal-burst detector watches the same stream.

Run it:  ``python examples/wsgi_protected.py`` serves on 127.0.0.1:8080 and prints a token
for curl. ``--port 0 --redis-url redis://...`` shares the throttle through Redis (several
processes, one limit); ``TOKENSMITH_EXAMPLE_SECRET`` (64 hex chars) makes every process use the
same HS256 key. Tests import :func:`build` / :func:`make_app` / :func:`start`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tokensmith import (
    InsufficientScope,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    TokenError,
    TokensmithError,
    Validator,
)
from tokensmith.errors import MissingToken
from tokensmith.integrations.wsgi import respond
from tokensmith.observability import (
    AuditSink,
    Fanout,
    JsonFormatter,
    LoggingSink,
    QueueSink,
    audit_context,
    emit,
    refused_event,
)
from tokensmith.observability.anomaly import RefusalBurstDetector, TokenSharingDetector
from tokensmith.web import Guard, NetworkPolicy, RequestFacts
from tokensmith.web.ratelimit import RefusalThrottle, client_key

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
REALM = "orders-api"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/orders"): "orders:read",
    ("POST", "/orders"): "orders:write",
}


@dataclass
class Protected:
    """Everything the app needs, built once."""

    signer: Signer
    validator: Validator
    guard: Guard
    throttle: RefusalThrottle
    network: NetworkPolicy
    audit: AuditSink
    queue: QueueSink
    clock: Callable[[], float]

    def close(self) -> None:
        """Flush and stop the audit thread."""
        self.queue.close()


def audit_logger(stream: Any = None) -> logging.Logger:
    """A logger writing JSON lines (one per audit event) to ``stream`` (stderr by default)."""
    logger = logging.getLogger("examples.protected.audit")
    if not logger.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = True
    return logger


def build(
    *,
    redis_client: Any = None,
    secret: bytes | None = None,
    clock: Callable[[], float] = time.time,
    max_refusals: int = 5,
    window: float = 60.0,
    logger: logging.Logger | None = None,
    extra_sinks: Iterable[AuditSink] = (),
) -> Protected:
    """Keys, signer, validator, throttle (memory or Redis), IP rules and audit, wired up.

    ``extra_sinks`` receive every audit event, but not the anomaly signals: a detector emits
    only to the sink it was given (here the log), never back into the stream it reads.
    """
    keyset = (
        KeySet([Key.from_secret(secret, "HS256", kid="shared")])
        if secret
        else KeySet.generate("ES256")
    )
    store = MemoryKeyStore(keyset, clock=clock)
    log_sink = LoggingSink(logger or audit_logger())
    detectors = [  # their signals go to log_sink only, not to extra_sinks
        RefusalBurstDetector(log_sink, threshold=max_refusals, window=window, by=("ip",)),
        TokenSharingDetector(log_sink, max_ips=3, window=300),
    ]
    queue = QueueSink(Fanout(log_sink, *detectors, *extra_sinks))
    throttle = (
        RefusalThrottle.redis(redis_client, max_refusals, window, clock=clock)
        if redis_client is not None
        else RefusalThrottle.memory(max_refusals, window, clock=clock)
    )
    network = NetworkPolicy.build(
        deny=["192.0.2.0/24", "2001:db8::/32"],  # documentation ranges stand in for a blocklist
        audiences={AUDIENCE: {"allow": ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]}},
    )
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=queue)
    return Protected(
        signer=Signer(store, issuer=ISSUER, ttl=600, clock=clock, audit=queue),
        validator=validator,
        guard=Guard(validator, realm=REALM),
        throttle=throttle,
        network=network,
        audit=queue,
        queue=queue,
        clock=clock,
    )


def _respond(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: dict[str, Any]
) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [*headers, ("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def make_app(p: Protected) -> App:
    """The WSGI application."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        scope = ROUTES.get((method, environ.get("PATH_INFO", "")))
        if scope is None:
            return _respond(start_response, 404, [], {"error": "not_found"})
        ip = environ.get("REMOTE_ADDR", "")
        token: str | None = None
        client = ""
        stage = "request"
        try:
            with audit_context(ip=ip):
                try:
                    client = client_key(ip)  # one key per client, and per IPv6 /64
                    p.network.check_address(ip)
                    p.throttle.check(client)  # Throttled (429) before any token work
                    token, _ = p.guard.credentials(RequestFacts.from_wsgi(environ))
                    stage = "validate"
                    verified = p.validator.validate(token, scopes=[scope])
                    stage = "network"
                    p.network.check(verified, ip)
                except TokenError as exc:
                    if client and not isinstance(exc, MissingToken | InsufficientScope):
                        p.throttle.record_refusal(client)  # a bad or forged credential: count it
                    if stage != "validate":  # the validator audits its own refusals
                        emit(p.audit, refused_event(exc, token, p.clock()))
                    raise
        except TokensmithError as exc:
            return respond(start_response, p.guard.answer(exc))
        return _respond(
            start_response,
            200,
            [],
            {"subject": verified.subject, "scopes": sorted(verified.scopes)},
        )

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no access log (URLs may carry junk)
        pass


def start(app: App, port: int = 0) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``app`` on 127.0.0.1 in a background thread; ``server.server_port`` is the port."""
    server = make_server("127.0.0.1", port, app, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--redis-url", default=None, help="share the throttle through Redis")
    args = parser.parse_args(argv)
    secret_hex = os.environ.get("TOKENSMITH_EXAMPLE_SECRET")
    redis_client = None
    if args.redis_url:
        import redis  # noqa: PLC0415 - only needed with --redis-url

        redis_client = redis.Redis.from_url(args.redis_url)
    p = build(redis_client=redis_client, secret=bytes.fromhex(secret_hex) if secret_hex else None)
    server, thread = start(make_app(p), args.port)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    if not secret_hex:
        token = p.signer.issue("user-123", audience=AUDIENCE, scopes=["orders:read"])
        print(
            f"try: curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{server.server_port}/orders"
        )
    try:
        sys.stdin.read()  # serve until stdin closes (or Ctrl-C)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        p.close()
        if redis_client is not None:
            redis_client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
