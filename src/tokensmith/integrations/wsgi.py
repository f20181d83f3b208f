"""WSGI middleware: every request to a WSGI app needs a token.

Framework-free (the WSGI protocol, PEP 3333, and nothing else), so it runs under any WSGI
server (gunicorn, uWSGI, waitress, mod_wsgi, wsgiref) in front of any WSGI app::

    app = TokenMiddleware(app, guard=Guard(validator, realm="orders", scopes=["orders:read"]))

Each request is authenticated by :meth:`Guard.authenticate
<tokensmith.web.Guard.authenticate>` before the app sees it; a refusal is answered here with
:meth:`Guard.answer <tokensmith.web.Guard.answer>` (401/403/400, 503 + ``Retry-After``) and
the app is not called. A guard built with a
:class:`~tokensmith.oauth.ProtectedResourceMetadata` has its RFC 9728 document served at its
well-known path, without a token. The verified token is in the environ under
:data:`ENVIRON_KEY`
(``"tokensmith.token"``: clients can only set ``HTTP_*`` keys); read it with
:func:`verified_token`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from ..errors import ConfigurationError
from ..web.guard import Guard
from ..web.request import RequestFacts
from ._common import sync_guard

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from ..claims import VerifiedToken
    from ..web.guard import Answer

__all__ = ["ENVIRON_KEY", "TokenMiddleware", "respond", "verified_token"]

ENVIRON_KEY: Final = "tokensmith.token"
"""The environ key holding the :class:`~tokensmith.VerifiedToken` of an authenticated request."""


class TokenMiddleware:
    """Authenticates every request before ``app`` sees it.

    :param app: the WSGI application to protect.
    :param guard: the :class:`~tokensmith.web.Guard` that authenticates and answers.
    :param scopes: scopes every request needs on top of the guard's own.
    :param public_paths: paths served without a token (health checks, the RFC 9728 metadata
        document), compared exactly with ``PATH_INFO``: no prefixes, no patterns.
    """

    __slots__ = ("app", "guard", "public_paths", "scopes")

    def __init__(
        self,
        app: WSGIApplication,
        guard: Guard,
        *,
        scopes: Iterable[str] = (),
        public_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.guard = sync_guard(guard)
        self.scopes = Guard.checked_scopes(scopes)
        self.public_paths = frozenset(public_paths)

    def __repr__(self) -> str:
        return f"TokenMiddleware({self.guard!r}, scopes={list(self.scopes)!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        metadata = self.guard.metadata
        if metadata is not None and environ.get("PATH_INFO") == metadata.path:
            method = str(environ.get("REQUEST_METHOD", "GET")).upper()
            answer = metadata.answer(method, if_none_match=environ.get("HTTP_IF_NONE_MATCH"))
            body = respond(start_response, answer)
            return [] if method == "HEAD" else body
        if environ.get("PATH_INFO", "") in self.public_paths:
            return self.app(environ, start_response)
        try:
            verified = self.guard.authenticate(RequestFacts.from_wsgi(environ), scopes=self.scopes)
        except Guard.refusals as exc:
            return respond(start_response, self.guard.answer(exc, scopes=self.scopes))
        environ[ENVIRON_KEY] = verified
        return self.app(environ, start_response)


def verified_token(environ: Mapping[str, Any]) -> VerifiedToken:
    """The token :class:`TokenMiddleware` verified for this request.

    Raises :class:`~tokensmith.ConfigurationError` when there is none (no middleware in
    front, or a public path): never ``None`` that a handler could forget to check.
    """
    token: VerifiedToken | None = environ.get(ENVIRON_KEY)
    if token is None:
        raise ConfigurationError(
            "no verified token in this environ: is TokenMiddleware in front of this app, "
            "and is this path not one of its public_paths?"
        )
    return token


def respond(start_response: StartResponse, answer: Answer) -> list[bytes]:
    """Send a :class:`~tokensmith.web.Answer` through WSGI: a plain app answering a refusal
    of its own (``guard.answer(exc)``) returns ``respond(start_response, answer)``."""
    body = answer.body
    start_response(
        f"{answer.status} {HTTPStatus(answer.status).phrase}",
        [*answer.headers, ("Content-Type", answer.content_type),
         ("Content-Length", str(len(body)))],
    )  # fmt: skip
    return [body]
