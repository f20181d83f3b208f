"""Starlette: answer refusals with an exception handler, authenticate inside endpoints.

Two ways to protect a Starlette app, both answering through :meth:`Guard.answer
<tokensmith.web.Guard.answer>`:

* the whole app (or a mounted part of it): the framework-free
  :class:`~tokensmith.integrations.asgi.TokenMiddleware`, as Starlette middleware
  (``Middleware(TokenMiddleware, guard=guard)``); the token is read with
  :func:`~tokensmith.integrations.asgi.verified_token` (``verified_token(request.scope)``);
* per endpoint, with its own scopes: :func:`install` the exception handler once, then
  ``token = await authenticate(request, guard, scopes=[...])`` in the endpoint. A refusal is
  raised as the :class:`~tokensmith.TokenError` it is and the handler answers it.

Only refusals (:attr:`Guard.refusals <tokensmith.web.Guard.refusals>`) are handled; a
:class:`~tokensmith.ConfigurationError` or a bug stays a logged 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Final

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from ..web.guard import Guard, ResourceMetadataDocument
from ..web.request import RequestFacts
from ._common import checked_guard
from .asgi import SCOPE_KEY

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..claims import VerifiedToken
    from ..web.guard import Answer

__all__ = ["ROUTE_SCOPES_KEY", "authenticate", "exception_handlers", "install", "response"]

ROUTE_SCOPES_KEY: Final = "tokensmith.scopes"
"""The scope key where :func:`authenticate` notes the route's scopes, so the exception
handler's challenge can name them (``scope=`` in a 401 without credentials)."""

Handler = Callable[[Request, Exception], Awaitable[Response]]


def response(answer: Answer) -> Response:
    """A Starlette :class:`~starlette.responses.Response` sending ``answer``."""
    sent = Response(answer.body, status_code=answer.status, media_type=answer.content_type)
    for name, value in answer.headers:
        sent.headers.append(name, value)
    return sent


def exception_handlers(guard: Guard) -> dict[type[Exception], Handler]:
    """``{refusal class: handler}``, for ``Starlette(exception_handlers=...)``."""
    checked = checked_guard(guard)

    async def answer_refusal(request: Request, exc: Exception) -> Response:
        scopes: tuple[str, ...] = request.scope.get(ROUTE_SCOPES_KEY, ())
        return response(checked.answer(exc, scopes=scopes))

    return dict.fromkeys(Guard.refusals, answer_refusal)


def install(app: Starlette, guard: Guard) -> None:
    """Register the handler answering every refusal on ``app`` (Starlette or FastAPI), and,
    for a guard with a :class:`~tokensmith.oauth.ProtectedResourceMetadata`, a route serving
    its RFC 9728 document at its well-known path (``GET``/``HEAD``, no token, not in the
    OpenAPI schema)."""
    for kind, handler in exception_handlers(guard).items():
        app.add_exception_handler(kind, handler)
    document = guard.metadata
    if document is not None:
        app.router.routes.append(
            Route(document.path, _metadata_endpoint(document), methods=["GET"],
                  include_in_schema=False)
        )  # fmt: skip


def _metadata_endpoint(
    document: ResourceMetadataDocument,
) -> Callable[[Request], Awaitable[Response]]:
    async def resource_metadata(request: Request) -> Response:
        tag = request.headers.get("if-none-match")
        return response(document.answer(request.method, if_none_match=tag))

    return resource_metadata


async def authenticate(
    connection: HTTPConnection, guard: Guard, *, scopes: str | Iterable[str] = ()
) -> VerifiedToken:
    """The verified token of this request, or the refusal raised for the handler to answer.

    ``scopes`` are needed on top of the guard's own. The token is also put in the scope under
    :data:`~tokensmith.integrations.asgi.SCOPE_KEY`, as the middleware does.
    """
    names = Guard.checked_scopes(scopes)
    connection.scope[ROUTE_SCOPES_KEY] = names
    verified = await guard.aauthenticate(RequestFacts.from_asgi(connection.scope), scopes=names)
    connection.scope[SCOPE_KEY] = verified
    return verified
