"""Flask: ``@auth.require_token(scopes=[...])`` on a view; the verified token is ``g.token``.

::

    auth = TokenAuth(Guard(validator, realm="orders"))
    auth.init_app(app)                      # or TokenAuth(guard, app), or in an app factory

    @app.get("/orders")
    @auth.require_token(scopes=["orders:read"])
    def orders():
        return {"sub": g.token.subject}     # or current_token().subject, typed

A thin layer over :class:`~tokensmith.web.Guard`: the request's WSGI environ becomes
:class:`~tokensmith.web.RequestFacts`, and every refusal is answered with what
:meth:`Guard.answer <tokensmith.web.Guard.answer>` says (RFC 6750 challenges, 400 for a token in
the URL or credentials over plain HTTP, 503 + ``Retry-After`` for an outage), as a JSON
response. Async views (``async def``, with ``flask[async]``) are checked with the guard's
async face. Importing this module imports Flask; ``import tokensmith`` never does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar, cast

from flask import Flask, Response, current_app, g, request

from ..claims import VerifiedToken
from ..errors import ConfigurationError
from ..web.guard import Answer, Guard, ResourceMetadataDocument
from ..web.request import RequestFacts

__all__ = ["EXTENSION", "TOKEN_ATTRIBUTE", "TokenAuth", "current_token"]

_METADATA_ENDPOINT: Final = "tokensmith_resource_metadata"

EXTENSION: Final = "tokensmith"
"""The key of ``app.extensions`` holding each :class:`TokenAuth`'s guard for that app."""

TOKEN_ATTRIBUTE: Final = "token"
"""The attribute of ``flask.g`` a protected view finds its :class:`~tokensmith.VerifiedToken`
in: ``g.token``."""

View = TypeVar("View", bound=Callable[..., Any])


class TokenAuth:
    """The Flask extension: one guard per app, and the decorator protecting views with it.

    :param guard: the :class:`~tokensmith.web.Guard` (validator, realm, scopes, transport
        rules) for every app this extension is initialised on; :meth:`init_app` may give each
        app its own instead.
    :param app: initialise this app now (the same as calling :meth:`init_app`).

    Several instances may share one app (two APIs with different audiences): each keeps its
    own guard.
    """

    __slots__ = ("guard",)

    def __init__(self, guard: Guard | None = None, app: Flask | None = None) -> None:
        self.guard = guard
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"TokenAuth({self.guard!r})"

    def init_app(self, app: Flask, guard: Guard | None = None) -> None:
        """Attach the guard (``guard``, else the one given to the constructor) to ``app``.

        A guard with a :class:`~tokensmith.oauth.ProtectedResourceMetadata` also gets its
        RFC 9728 document served at its well-known path (``GET`` and ``HEAD``, no token; the
        first such guard of an app wins)."""
        chosen = guard if guard is not None else self.guard
        if not isinstance(chosen, Guard):
            raise ConfigurationError(
                "TokenAuth needs a Guard: TokenAuth(guard) or init_app(app, guard)"
            )
        app.extensions.setdefault(EXTENSION, {})[self] = chosen
        document = chosen.metadata
        if document is not None and _METADATA_ENDPOINT not in app.view_functions:
            app.add_url_rule(document.path, _METADATA_ENDPOINT, _metadata_view(document),
                             methods=["GET"])  # fmt: skip

    def guard_for(self, app: Flask) -> Guard:
        """The guard this extension uses in ``app``."""
        guard = app.extensions.get(EXTENSION, {}).get(self)
        if guard is None:
            raise ConfigurationError(
                f"TokenAuth.init_app() was not called for the app {app.name!r}"
            )
        return cast(Guard, guard)

    def require_token(self, *, scopes: Iterable[str] | str = ()) -> Callable[[View], View]:
        """A decorator: the view runs only with a valid token granting the guard's scopes and
        ``scopes`` (a string is one scope), found on ``g.token``; anything else is answered
        by the guard. The scopes are checked here, when the view is declared."""
        route_scopes = Guard.checked_scopes(scopes)

        def decorate(view: View) -> View:
            if inspect.iscoroutinefunction(view):
                return cast(View, self._async_view(view, route_scopes))
            return cast(View, self._sync_view(view, route_scopes))

        return decorate

    def _sync_view(self, view: Callable[..., Any], scopes: tuple[str, ...]) -> Callable[..., Any]:
        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            guard = self.guard_for(current_app)
            try:
                verified = guard.authenticate(_facts(), scopes=scopes)
            except guard.refusals as exc:
                return _response(guard.answer(exc, scopes=scopes))
            setattr(g, TOKEN_ATTRIBUTE, verified)
            return view(*args, **kwargs)

        return protected

    def _async_view(self, view: Callable[..., Any], scopes: tuple[str, ...]) -> Callable[..., Any]:
        @functools.wraps(view)
        async def protected(*args: Any, **kwargs: Any) -> Any:
            guard = self.guard_for(current_app)
            try:
                verified = await guard.aauthenticate(_facts(), scopes=scopes)
            except guard.refusals as exc:
                return _response(guard.answer(exc, scopes=scopes))
            setattr(g, TOKEN_ATTRIBUTE, verified)
            return await view(*args, **kwargs)

        return protected


def current_token() -> VerifiedToken:
    """The verified token of the current request (``g.token``), typed for your editor.

    Raises :class:`~tokensmith.ConfigurationError` outside a view protected by
    :meth:`TokenAuth.require_token`: a programmer's mistake, never an anonymous request.
    """
    token = g.get(TOKEN_ATTRIBUTE)
    if not isinstance(token, VerifiedToken):
        raise ConfigurationError("current_token() is for views protected by require_token()")
    return token


def _metadata_view(document: ResourceMetadataDocument) -> Callable[[], Response]:
    def resource_metadata() -> Response:
        return _response(document.answer("GET", if_none_match=request.headers.get("If-None-Match")))

    return resource_metadata


def _facts() -> RequestFacts:
    return RequestFacts.from_wsgi(request.environ)


def _response(answer: Answer) -> Response:
    return current_app.response_class(
        answer.body, status=answer.status, headers=answer.headers, mimetype="application/json"
    )
