"""aiohttp: middleware that authenticates every request before its handler runs.

::

    app = web.Application(middlewares=[token_middleware(guard)])

    async def orders(request: web.Request) -> web.Response:
        token = verified_token(request)

Each request is authenticated by :meth:`Guard.aauthenticate
<tokensmith.web.Guard.aauthenticate>`; a refusal is answered by the middleware with
:meth:`Guard.answer <tokensmith.web.Guard.answer>` (401/403/400, 503 + ``Retry-After``) and the
handler does not run. The verified token is stored on the request under :data:`REQUEST_KEY`
(a ``web.RequestKey`` on aiohttp 3.14 and later, the string ``"tokensmith.token"`` before);
read it with :func:`verified_token`.

The scheme and the peer address come from the connection itself, not from
``request.scheme``/``request.remote`` (which ``request.clone()`` and proxy middlewares may
rewrite): which proxies are believed is :class:`~tokensmith.web.TransportSecurity`'s decision.
A TLS client certificate is passed on for certificate-bound tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiohttp import web

from ..claims import VerifiedToken
from ..errors import ConfigurationError
from ..web.guard import Guard
from ..web.request import RequestFacts
from ._common import checked_guard

if TYPE_CHECKING:
    from ..web.guard import Answer

__all__ = [
    "REQUEST_KEY",
    "Middleware",
    "request_facts",
    "response",
    "token_middleware",
    "verified_token",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Middleware(Protocol):
    """An aiohttp middleware (what :func:`token_middleware` returns).

    A protocol with aiohttp's parameter names, so that ``web.Application(middlewares=[...])``
    type-checks against aiohttp's own ``Middleware`` protocol (a plain ``Callable`` does not).
    """

    def __call__(
        self, request: web.Request, handler: Handler
    ) -> Awaitable[web.StreamResponse]:  # pragma: no cover - a protocol
        """Answer ``request``, calling ``handler`` when the token is accepted."""
        ...


_REQUEST_KEY_TYPE: Final[Any] = getattr(web, "RequestKey", None)
REQUEST_KEY: Final[Any] = (
    "tokensmith.token"
    if _REQUEST_KEY_TYPE is None
    else _REQUEST_KEY_TYPE("tokensmith.token", VerifiedToken)
)
"""Where the middleware stores the :class:`~tokensmith.VerifiedToken` on the request."""


def token_middleware(
    guard: Guard, *, scopes: str | Iterable[str] = (), public_paths: Iterable[str] = ()
) -> Middleware:
    """A middleware authenticating every request with ``guard``.

    :param scopes: scopes every request needs on top of the guard's own.
    :param public_paths: paths served without a token (health checks...), compared exactly
        with ``request.path``: no prefixes, no patterns.

    A guard with a :class:`~tokensmith.oauth.ProtectedResourceMetadata` also has its RFC 9728
    document served at its well-known path, without a token.
    """
    checked = checked_guard(guard)
    names = Guard.checked_scopes(scopes)
    public = frozenset(public_paths)

    @web.middleware
    async def tokensmith_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        document = checked.metadata
        if document is not None and request.path == document.path:
            tag = request.headers.get("If-None-Match")
            return response(document.answer(request.method, if_none_match=tag))
        if request.path in public:
            return await handler(request)
        try:
            verified = await checked.aauthenticate(request_facts(request), scopes=names)
        except Guard.refusals as exc:
            return response(checked.answer(exc, scopes=names))
        request[REQUEST_KEY] = verified
        return await handler(request)

    return tokensmith_middleware


def verified_token(request: web.Request) -> VerifiedToken:
    """The token the middleware verified for this request.

    Raises :class:`~tokensmith.ConfigurationError` when there is none (no middleware, or a
    public path): never ``None`` that a handler could forget to check.
    """
    token = request.get(REQUEST_KEY)
    if not isinstance(token, VerifiedToken):
        raise ConfigurationError(
            "no verified token on this request: is token_middleware in the application's "
            "middlewares, and is this path not one of its public_paths?"
        )
    return token


def request_facts(request: web.Request) -> RequestFacts:
    """What the guard reads, from the request and its connection."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    raw = request.raw_headers
    return RequestFacts(
        method=request.method,
        scheme="https" if tls is not None else "http",
        host=request.host,
        path=request.rel_url.raw_path,
        query=request.rel_url.raw_query_string,
        headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw],
        peer=str(peer[0]) if isinstance(peer, tuple) and peer else None,
        client_cert=tls.getpeercert(binary_form=True) if tls is not None else None,
    )


def response(answer: Answer) -> web.Response:
    """An aiohttp response sending ``answer``."""
    return web.Response(
        body=answer.body,
        status=answer.status,
        headers=answer.headers,
        content_type=answer.content_type,
    )
