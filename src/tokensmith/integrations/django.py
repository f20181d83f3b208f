"""Django: ``TokenMiddleware`` and ``@require_token(scopes=[...])``, set up in settings.

::

    # settings.py
    TOKENSMITH_GUARD = "myproject.security.guard"      # a Guard, or a function returning one
    MIDDLEWARE = [..., "tokensmith.integrations.django.TokenMiddleware"]   # optional

    # views.py
    @require_token(scopes=["orders:read"])
    def orders(request):
        return JsonResponse({"sub": request.token.subject})

``settings.TOKENSMITH_GUARD`` names the :class:`~tokensmith.web.Guard` (validator, realm,
scopes, transport rules) by dotted path, imported on the first request that needs it, never
when this module, your settings or your URLconf are imported: the guard's module may import
your models or views without an import cycle. A :class:`~tokensmith.web.Guard` object in
settings works too.

The middleware verifies the credentials of every request that carries some, sets
``request.token`` (the :class:`~tokensmith.VerifiedToken`, or ``None`` when the request has no
credentials) and answers a refused token on any route; views that need a token say so with
:func:`require_token`, which reuses the middleware's verdict (checking only the extra scopes)
or, without the middleware, authenticates the request itself. Refusals are answered with what
:meth:`Guard.answer <tokensmith.web.Guard.answer>` says, as JSON. Sync and async views and
middleware chains both work. Importing this module imports Django; ``import tokensmith`` never
does.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.module_loading import import_string

from ..claims import VerifiedToken
from ..errors import ConfigurationError, MissingToken, TokenInQuery
from ..web.guard import Answer, Guard
from ..web.request import RequestFacts

__all__ = [
    "SETTING",
    "TOKEN_ATTRIBUTE",
    "TokenMiddleware",
    "answer_response",
    "configured_guard",
    "keep_out_of_request_log",
    "request_facts",
    "require_token",
    "verify_request",
]

SETTING: Final = "TOKENSMITH_GUARD"
"""The setting naming the guard: a :class:`~tokensmith.web.Guard`, or the dotted path of one
(or of a function without arguments returning one)."""

TOKEN_ATTRIBUTE: Final = "token"
"""The attribute of the request holding its :class:`~tokensmith.VerifiedToken`:
``request.token``."""

_VERIFIED_BY: Final = "_tokensmith_guard"  # which guard set request.token (the middleware's)
_NOT_CHECKED: Final = object()
_LOGGED: Final = "_has_been_logged"  # django.utils.log.log_response skips a response marked so

View = TypeVar("View", bound=Callable[..., Any])
_resolved: tuple[object, Guard] | None = None  # (the setting's value, its guard)


def configured_guard() -> Guard:
    """The guard ``settings.TOKENSMITH_GUARD`` names, imported on first use and kept while the
    setting stays the same. A missing or wrong setting is a
    :class:`~tokensmith.ConfigurationError` naming it."""
    global _resolved  # noqa: PLW0603 - one resolution per setting value, process-wide
    value = getattr(settings, SETTING, None)
    cached = _resolved
    if cached is not None and cached[0] is value:
        return cached[1]
    guard = _guard_of(value)
    _resolved = (value, guard)
    return guard


def _guard_of(value: object) -> Guard:
    if value is None:
        raise ConfigurationError(
            f"settings.{SETTING} is not set: give the dotted path of your Guard, "
            "e.g. 'myproject.security.guard'"
        )
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ConfigurationError(f"settings.{SETTING}: cannot import {value!r}") from exc
    if not isinstance(value, Guard) and callable(value):
        value = value()
    if not isinstance(value, Guard):
        raise ConfigurationError(
            f"settings.{SETTING} must name a Guard or a function without arguments returning one"
        )
    return value


def request_facts(request: HttpRequest) -> RequestFacts:
    """What the guard reads of a Django request: its ASGI scope or its WSGI environ, as the
    server gave them. (``request.scheme`` is not used: Django's ``SECURE_PROXY_SSL_HEADER``
    believes any client; :class:`~tokensmith.web.TransportSecurity` believes your proxies.)"""
    scope = getattr(request, "scope", None)
    if isinstance(scope, Mapping):
        return RequestFacts.from_asgi(scope)
    environ = getattr(request, "environ", None)
    return RequestFacts.from_wsgi(environ if isinstance(environ, Mapping) else request.META)


def answer_response(answer: Answer, error: BaseException | None = None) -> HttpResponse:
    """The Django response carrying a guard's :class:`~tokensmith.web.Answer` (JSON body) to
    ``error`` (see :func:`keep_out_of_request_log`)."""
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
    for name, value in answer.headers:
        response[name] = value
    keep_out_of_request_log(response, error)
    return response


def keep_out_of_request_log(response: HttpResponseBase, error: BaseException | None) -> None:
    """Keep the answer to a token sent in the URL out of the ``django.request`` log.

    Django logs every 4xx with the request attached, and a request's ``repr`` is its URL: the
    token would be in the record, for any handler or log shipper to keep.
    """
    if isinstance(error, TokenInQuery):
        setattr(response, _LOGGED, True)


def verify_request(
    request: HttpRequest, guard: Guard, *, scopes: Iterable[str] = ()
) -> VerifiedToken:
    """The request's verified token granting ``guard``'s scopes and ``scopes``, or a refusal.

    When :class:`TokenMiddleware` already judged the request with the same guard, its verdict
    is reused (only the scopes are checked); otherwise the request is authenticated here.
    """
    earlier = _earlier_verdict(request, guard)
    if earlier is _NOT_CHECKED:
        return guard.authenticate(request_facts(request), scopes=scopes)
    if earlier is None:
        raise MissingToken("the request has no credentials")
    return guard.authorize(cast(VerifiedToken, earlier), scopes=scopes)


async def _averify_request(
    request: HttpRequest, guard: Guard, scopes: tuple[str, ...]
) -> VerifiedToken:
    if _earlier_verdict(request, guard) is _NOT_CHECKED:
        return await guard.aauthenticate(request_facts(request), scopes=scopes)
    return verify_request(request, guard, scopes=scopes)  # no I/O: the verdict is known


def _earlier_verdict(request: HttpRequest, guard: Guard) -> object:
    if getattr(request, _VERIFIED_BY, None) is not guard:
        return _NOT_CHECKED
    return getattr(request, TOKEN_ATTRIBUTE, None)


def _remember(request: HttpRequest, guard: Guard, token: VerifiedToken | None) -> None:
    setattr(request, TOKEN_ATTRIBUTE, token)
    setattr(request, _VERIFIED_BY, guard)


def require_token(
    *, scopes: Iterable[str] | str = (), guard: Guard | None = None
) -> Callable[[View], View]:
    """A view decorator: the view runs only with a valid token granting the guard's scopes and
    ``scopes`` (a string is one scope), found on ``request.token``; anything else is answered
    by the guard.

    :param scopes: checked here, when the view is declared.
    :param guard: this view's own guard (another audience...); by default the one
        ``settings.TOKENSMITH_GUARD`` names.

    The view is exempt from Django's CSRF check, as DRF's views are: a bearer token is sent by
    the client's code, never by the browser on its own (a guard reading a token *cookie*
    checks CSRF itself). Class-based views: ``method_decorator(require_token(...),
    name="dispatch")``.
    """
    route_scopes = Guard.checked_scopes(scopes)

    def decorate(view: View) -> View:
        protected = (
            _async_view(view, route_scopes, guard)
            if iscoroutinefunction(view)
            else _sync_view(view, route_scopes, guard)
        )
        protected.csrf_exempt = True  # type: ignore[attr-defined]
        return cast(View, protected)

    return decorate


def _sync_view(
    view: Callable[..., Any], scopes: tuple[str, ...], guard: Guard | None
) -> Callable[..., Any]:
    @functools.wraps(view)
    def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        chosen = guard or configured_guard()
        try:
            verified = verify_request(request, chosen, scopes=scopes)
        except chosen.refusals as exc:
            return answer_response(chosen.answer(exc, scopes=scopes), exc)
        setattr(request, TOKEN_ATTRIBUTE, verified)
        return view(request, *args, **kwargs)

    return protected


def _async_view(
    view: Callable[..., Any], scopes: tuple[str, ...], guard: Guard | None
) -> Callable[..., Any]:
    @functools.wraps(view)
    async def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        chosen = guard or configured_guard()
        try:
            verified = await _averify_request(request, chosen, scopes)
        except chosen.refusals as exc:
            return answer_response(chosen.answer(exc, scopes=scopes), exc)
        setattr(request, TOKEN_ATTRIBUTE, verified)
        return await view(request, *args, **kwargs)

    return protected


class TokenMiddleware:
    """Verifies the credentials of every request that carries some (with the guard
    ``settings.TOKENSMITH_GUARD`` names) and sets ``request.token``: the verified token, or
    ``None`` for a request without credentials, which goes on as anonymous.

    A refused token, a token in the URL or credentials over plain HTTP are answered at once,
    on any route, as DRF does for an invalid token: a client sending a bad token learns it.
    A guard with a :class:`~tokensmith.oauth.ProtectedResourceMetadata` also has its RFC 9728
    document served here, at its well-known path. Works in sync and async middleware chains.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._async:
            return self._acall(request)
        guard = configured_guard()
        if (document := _metadata_answer(request, guard)) is not None:
            return document
        try:
            token: VerifiedToken | None = guard.authenticate(request_facts(request))
        except MissingToken:
            token = None
        except guard.refusals as exc:
            return answer_response(guard.answer(exc), exc)
        _remember(request, guard, token)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        guard = configured_guard()
        if (document := _metadata_answer(request, guard)) is not None:
            return document
        try:
            token: VerifiedToken | None = await guard.aauthenticate(request_facts(request))
        except MissingToken:
            token = None
        except guard.refusals as exc:
            return answer_response(guard.answer(exc), exc)
        _remember(request, guard, token)
        return await cast(Awaitable[HttpResponseBase], self.get_response(request))


def _metadata_answer(request: HttpRequest, guard: Guard) -> HttpResponse | None:
    """The guard's RFC 9728 document, when this request asks for it."""
    document = guard.metadata
    if document is None or request.path_info != document.path:
        return None
    answer = document.answer(
        request.method or "GET", if_none_match=request.headers.get("If-None-Match")
    )
    sent = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        sent[name] = value
    return sent
