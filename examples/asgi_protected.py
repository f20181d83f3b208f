"""An ASGI API (raw ASGI 3 protocol, no framework) with tokensmith's protections around a token.

The same flow as ``wsgi_protected.py``, awaiting ``Validator.avalidate``: IP rules before any
token work, the refusal throttle (429), the credentials read by a ``Guard`` (RFC 6750 §2.1
only; URL tokens, two headers and plain HTTP refused), validation inside
``audit_context(ip=...)``, per-token IP rules, and ``guard.answer(exc)`` sent with
``tokensmith.integrations.asgi.send_answer`` for every refusal. Audit events go through a ``QueueSink`` to ``logging`` as JSON lines.

The throttle here is the in-memory one, keyed by ``client_key``: it does no I/O, so calling it
on the event loop is safe (a throttle shared through Redis would be ``AsyncRefusalThrottle``;
docs/async.md lists what may be called from a coroutine). The ``QueueSink``'s thread does the
audit delivery, and lifespan shutdown awaits ``aclose()``. Serve it with any ASGI server, e.g.
``uvicorn examples.asgi_protected:app``; the tests drive it through a tiny HTTP/1.1 server
they implement on asyncio streams.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tokensmith import (
    InsufficientScope,
    KeySet,
    MemoryKeyStore,
    Signer,
    TokenError,
    TokensmithError,
    Validator,
)
from tokensmith.errors import MissingToken
from tokensmith.integrations.asgi import send_answer
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

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

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


def build(
    *,
    clock: Callable[[], float] = time.time,
    max_refusals: int = 5,
    window: float = 60.0,
    logger: logging.Logger | None = None,
    extra_sinks: Iterable[AuditSink] = (),
) -> Protected:
    """Keys, signer, validator, memory throttle, IP rules and queued JSON audit, wired up.

    ``extra_sinks`` receive every audit event, but not the anomaly signals: a detector emits
    only to the sink it was given (here the log), never back into the stream it reads.
    """
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    if logger is None:
        logger = logging.getLogger("examples.protected.asgi")
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
    log_sink = LoggingSink(logger)
    queue = QueueSink(
        Fanout(
            log_sink,
            RefusalBurstDetector(log_sink, threshold=max_refusals, window=window, by=("ip",)),
            TokenSharingDetector(log_sink, max_ips=3, window=300),
            *extra_sinks,
        )
    )
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=queue)
    return Protected(
        signer=Signer(store, issuer=ISSUER, ttl=600, clock=clock, audit=queue),
        validator=validator,
        guard=Guard(validator, realm=REALM),
        throttle=RefusalThrottle.memory(max_refusals, window, clock=clock),
        network=NetworkPolicy.build(
            deny=["192.0.2.0/24", "2001:db8::/32"],
            audiences={AUDIENCE: {"allow": ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]}},
        ),
        audit=queue,
        queue=queue,
        clock=clock,
    )


async def _respond(
    send: Send, status: int, headers: list[tuple[str, str]], body: dict[str, Any]
) -> None:
    payload = json.dumps(body).encode()
    raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    raw += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _lifespan(p: Protected, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await p.queue.aclose()  # deliver queued audit events without blocking the loop
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_app(p: Protected) -> ASGIApp:
    """The ASGI application."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(p, receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        required = ROUTES.get((method, scope.get("path", "")))
        if required is None:
            await _respond(send, 404, [], {"error": "not_found"})
            return
        client = scope.get("client") or ("", 0)
        ip = client[0]
        token: str | None = None
        client = ""
        stage = "request"
        try:
            with audit_context(ip=ip):
                try:
                    client = client_key(ip)  # one key per client, and per IPv6 /64
                    p.network.check_address(ip)
                    p.throttle.check(client)
                    token, _ = p.guard.credentials(RequestFacts.from_asgi(scope))
                    stage = "validate"
                    verified = await p.validator.avalidate(token, scopes=[required])
                    stage = "network"
                    p.network.check(verified, ip)
                except TokenError as exc:
                    if client and not isinstance(exc, MissingToken | InsufficientScope):
                        p.throttle.record_refusal(client)
                    if stage != "validate":
                        emit(p.audit, refused_event(exc, token, p.clock()))
                    raise
        except TokensmithError as exc:
            await send_answer(send, p.guard.answer(exc))
            return
        await _respond(
            send, 200, [], {"subject": verified.subject, "scopes": sorted(verified.scopes)}
        )

    return app


def __getattr__(name: str) -> Any:
    """``examples.asgi_protected:app`` for ASGI servers, built on first use."""
    if name == "app":
        app = make_app(build())
        globals()["app"] = app
        return app
    raise AttributeError(name)
