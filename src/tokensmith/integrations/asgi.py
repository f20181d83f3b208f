"""ASGI middleware: every HTTP request and WebSocket handshake of an ASGI app needs a token.

Framework-free: it speaks the ASGI 3 protocol only, so it runs under any ASGI server (uvicorn,
hypercorn, daphne, granian) in front of any ASGI app (Starlette, FastAPI, Quart, Django's
ASGI handler, a bare callable)::

    app = TokenMiddleware(app, guard=Guard(validator, realm="orders", scopes=["orders:read"]))

* ``http``: the request is authenticated by :meth:`Guard.aauthenticate
  <tokensmith.web.Guard.aauthenticate>` before the app sees it; a refusal is answered here
  (:meth:`Guard.answer <tokensmith.web.Guard.answer>`: 401/403/400, 503 + ``Retry-After``)
  and the app is not called.
* ``websocket``: the handshake is authenticated the same way. A refusal is sent as the HTTP
  answer itself when the server supports the ASGI WebSocket Denial Response extension
  (uvicorn, hypercorn), otherwise as ``websocket.close`` with code 1008 before accepting
  (the server then answers 403).
* the RFC 9728 metadata document of a guard built with a
  :class:`~tokensmith.oauth.ProtectedResourceMetadata` is served at its well-known path, to
  ``GET`` and ``HEAD`` without a token.
* ``lifespan``: passed through untouched. Any other scope type is refused with
  :class:`~tokensmith.ConfigurationError`: a protocol this middleware does not know cannot be
  protected by it, so it is not silently let through.

The verified token travels in the scope under :data:`SCOPE_KEY` (``"tokensmith.token"``, a
key no client can set); read it with :func:`verified_token`. The scope is copied, never
changed in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from ..errors import ConfigurationError
from ..web.guard import Guard
from ..web.request import RequestFacts
from ._common import checked_guard

if TYPE_CHECKING:
    from ..claims import VerifiedToken
    from ..web.guard import Answer, ResourceMetadataDocument

__all__ = [
    "SCOPE_KEY",
    "ASGIApp",
    "Receive",
    "Scope",
    "Send",
    "TokenMiddleware",
    "deny_websocket",
    "send_answer",
    "verified_token",
]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
"""The ASGI ``receive`` callable."""
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
"""The ASGI ``send`` callable."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""

SCOPE_KEY: Final = "tokensmith.token"
"""The scope key holding the :class:`~tokensmith.VerifiedToken` of an authenticated request."""

_DENIAL_EXTENSION: Final = "websocket.http.response"
_POLICY_VIOLATION: Final = 1008  # RFC 6455 §7.4.1


class TokenMiddleware:
    """Authenticates every ``http`` and ``websocket`` connection before ``app`` sees it.

    :param app: the ASGI application to protect.
    :param guard: the :class:`~tokensmith.web.Guard` that authenticates and answers.
    :param scopes: scopes every request needs on top of the guard's own.
    :param public_paths: paths served without a token (health checks, the RFC 9728 metadata
        document), compared exactly with the scope's ``path``: no prefixes, no patterns, so a
        path can never be public by accident.
    """

    __slots__ = ("app", "guard", "public_paths", "scopes")

    def __init__(
        self,
        app: ASGIApp,
        guard: Guard,
        *,
        scopes: Iterable[str] = (),
        public_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.guard = checked_guard(guard)
        self.scopes = Guard.checked_scopes(scopes)
        self.public_paths = frozenset(public_paths)

    def __repr__(self) -> str:
        return f"TokenMiddleware({self.guard!r}, scopes={list(self.scopes)!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan" or (
            kind in ("http", "websocket") and scope.get("path") in self.public_paths
        ):
            await self.app(scope, receive, send)
            return
        metadata = self.guard.metadata
        if kind == "http" and metadata is not None and scope.get("path") == metadata.path:
            await _send_metadata(scope, send, metadata)
            return
        if kind not in ("http", "websocket"):
            raise ConfigurationError(f"TokenMiddleware cannot protect an ASGI {kind!r} scope")
        try:
            verified = await self.guard.aauthenticate(
                RequestFacts.from_asgi(scope), scopes=self.scopes
            )
        except Guard.refusals as exc:
            answer = self.guard.answer(exc, scopes=self.scopes)
            if kind == "http":
                await send_answer(send, answer)
            else:
                await deny_websocket(scope, receive, send, answer)
            return
        await self.app({**scope, SCOPE_KEY: verified}, receive, send)


def verified_token(scope: Scope) -> VerifiedToken:
    """The token :class:`TokenMiddleware` verified for this connection.

    Raises :class:`~tokensmith.ConfigurationError` when there is none (the middleware is not
    in front of this app, or the path is public): never ``None`` that a handler could forget
    to check.
    """
    token: VerifiedToken | None = scope.get(SCOPE_KEY)
    if token is None:
        raise ConfigurationError(
            "no verified token in this scope: is TokenMiddleware in front of this app, "
            "and is this path not one of its public_paths?"
        )
    return token


def _raw_headers(answer: Answer) -> list[tuple[bytes, bytes]]:
    length = str(len(answer.body))
    pairs = [*answer.headers, ("Content-Type", answer.content_type), ("Content-Length", length)]
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


async def send_answer(send: Send, answer: Answer) -> None:
    """Send a :class:`~tokensmith.web.Answer` as a whole ASGI HTTP response."""
    await send({"type": "http.response.start", "status": answer.status,
                "headers": _raw_headers(answer)})  # fmt: skip
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _send_metadata(scope: Scope, send: Send, metadata: ResourceMetadataDocument) -> None:
    """Answer a request for the RFC 9728 document (``HEAD``: its headers only)."""
    facts = RequestFacts.from_asgi(scope)
    answer = metadata.answer(facts.method, if_none_match=facts.get("if-none-match"))
    await send({"type": "http.response.start", "status": answer.status,
                "headers": _raw_headers(answer)})  # fmt: skip
    body = b"" if facts.method == "HEAD" else answer.body
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def deny_websocket(scope: Scope, receive: Receive, send: Send, answer: Answer) -> None:
    """Refuse a WebSocket handshake: the HTTP answer where the server can send one (the
    Denial Response extension), else a close before accepting (the server answers 403)."""
    message = await receive()
    if message.get("type") != "websocket.connect":  # the client went away first
        return
    if _DENIAL_EXTENSION in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": answer.status,
                    "headers": _raw_headers(answer)})  # fmt: skip
        await send({"type": "websocket.http.response.body", "body": answer.body})
        return
    await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
