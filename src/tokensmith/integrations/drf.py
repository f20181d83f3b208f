"""Django REST framework: an authentication class, a scope permission, and the exception
handler that puts the RFC 6750 challenge on 401 *and* 403.

::

    # settings.py
    TOKENSMITH_GUARD = "myproject.security.guard"     # see tokensmith.integrations.django
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["tokensmith.integrations.drf.BearerAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["tokensmith.integrations.drf.HasScopes"],
        "EXCEPTION_HANDLER": "tokensmith.integrations.drf.exception_handler",
    }

    # views.py
    class Orders(APIView):
        required_scopes = ["orders:read"]
        def get(self, request):
            return Response({"sub": request.auth.subject})   # request.auth: the VerifiedToken

DRF's own answers fall short of RFC 6750 in three places, which this module fixes: an invalid
token gets only the bare challenge, a 403 carries no challenge at all, and a 401 becomes a 403
when the first authentication class has no challenge of its own. Refusals are answered with
what :meth:`Guard.answer <tokensmith.web.Guard.answer>` says.

Nothing here imports ``rest_framework.views`` at import time: DRF's views read
``DEFAULT_AUTHENTICATION_CLASSES`` while they are being imported, so an authentication module
that imports them back is an import cycle. The guard itself is imported on the first request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Final

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from ..claims import VerifiedToken
from ..errors import ConfigurationError, InsufficientScope, MissingToken
from ..web.guard import Answer, Guard
from .django import configured_guard, keep_out_of_request_log, verify_request

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

__all__ = [
    "BearerAuthentication",
    "HasScopes",
    "TokenRefused",
    "TokenUser",
    "exception_handler",
    "require_scopes",
]

_REFUSAL: Final = "_tokensmith_refusal"  # the scope refusal HasScopes left for the handler


class TokenRefused(APIException):
    """A tokensmith refusal inside DRF, carrying the guard's :class:`~tokensmith.web.Answer`.

    It also sets what DRF's default exception handler reads (``auth_header``, ``wait``), so the
    status and challenge are right even before :func:`exception_handler` is installed.
    """

    def __init__(self, answer: Answer, error: BaseException | None = None) -> None:
        body = json.loads(answer.body)
        super().__init__(detail=body.get("error_description", body["error"]), code=body["error"])
        self.status_code = answer.status
        self.answer = answer
        self.error = error
        self.auth_header = answer.header("WWW-Authenticate")
        retry_after = answer.header("Retry-After")
        self.wait = int(retry_after) if retry_after else None


class TokenUser:
    """``request.user`` of a token-authenticated request: the token's subject, no database.

    Override :meth:`BearerAuthentication.get_user` to load your own user model instead.
    """

    is_authenticated: Final = True
    is_anonymous: Final = False
    is_active: Final = True
    is_staff: Final = False
    is_superuser: Final = False

    def __init__(self, token: VerifiedToken) -> None:
        self.token = token
        self.pk = self.id = self.username = token.subject

    def get_username(self) -> str | None:
        """The token's subject, as Django's user interface names it."""
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """No Django model permission: a token grants scopes (see :class:`HasScopes`)."""
        return False

    def has_perms(self, perm_list: Iterable[str], obj: object = None) -> bool:
        """No Django model permissions (``DjangoModelPermissions`` denies, with a 403)."""
        return False

    def has_module_perms(self, app_label: str) -> bool:
        """No Django app permissions."""
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.username == self.username

    def __hash__(self) -> int:
        return hash(self.username)

    def __str__(self) -> str:
        return self.username or ""

    def __repr__(self) -> str:
        return f"TokenUser({self.username!r})"


class BearerAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer`` requests with a :class:`~tokensmith.web.Guard`.

    ``request.auth`` is the :class:`~tokensmith.VerifiedToken`, ``request.user`` what
    :meth:`get_user` makes of it. A request without credentials is left to the other classes
    and the permissions (``None``); a refused one raises :class:`TokenRefused`.

    The guard is the one ``settings.TOKENSMITH_GUARD`` names, or a subclass's ``guard``
    attribute (another audience for some views). A verdict of
    :class:`~tokensmith.integrations.django.TokenMiddleware` with the same guard is reused.
    """

    guard: ClassVar[Guard | None] = None

    def get_guard(self) -> Guard:
        """This class's guard: its ``guard`` attribute, else the configured one."""
        return self.guard or configured_guard()

    def authenticate(self, request: Request) -> tuple[Any, VerifiedToken] | None:
        """``(user, token)``, ``None`` without credentials, or :class:`TokenRefused`."""
        guard = self.get_guard()
        try:
            token = verify_request(request._request, guard)
        except MissingToken:
            return None
        except guard.refusals as exc:
            raise TokenRefused(guard.answer(exc), exc) from exc
        return self.get_user(token), token

    def get_user(self, token: VerifiedToken) -> Any:
        """The ``request.user`` for ``token``: a :class:`TokenUser` unless you override it."""
        return TokenUser(token)

    def authenticate_header(self, request: Request) -> str:
        """The bare ``Bearer`` challenge (no error: the request had no credentials), which DRF
        sends with its 401s."""
        challenge = self.get_guard().answer(None).header("WWW-Authenticate")
        assert challenge is not None  # a 401 always carries one
        return challenge


class HasScopes(BasePermission):
    """Allows requests whose token grants the required scopes: the class's ``scopes`` (see
    :func:`require_scopes`) or else the view's ``required_scopes``.

    A request not authenticated by a token is denied (DRF answers 401 with the challenge when
    it had no credentials). A missing scope is left for :func:`exception_handler` to answer
    with ``insufficient_scope`` and ``scope=``; returning ``False`` rather than raising keeps
    ``HasScopes | OtherPermission`` meaning what it says.
    """

    scopes: ClassVar[tuple[str, ...]] = ()
    message = "The token lacks a scope this resource requires."
    code = "insufficient_scope"

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if not isinstance(token, VerifiedToken):
            return False
        scopes = self.scopes or _view_scopes(view)
        try:
            _guard_of(request).authorize(token, scopes=scopes)
        except InsufficientScope as exc:
            setattr(request, _REFUSAL, (exc, scopes))
            return False
        return True


def _view_scopes(view: APIView) -> tuple[str, ...]:
    required = getattr(view, "required_scopes", None)
    if required is None:
        raise ConfigurationError(
            f"HasScopes on {type(view).__name__}: set required_scopes on the view, or use "
            "require_scopes(...)"
        )
    return Guard.checked_scopes(required)


def require_scopes(*scopes: str) -> type[HasScopes]:
    """A :class:`HasScopes` permission class requiring ``scopes``:
    ``permission_classes = [require_scopes("orders:read")]``. Checked here, at declaration."""
    checked = Guard.checked_scopes(scopes)
    if not checked:
        raise ConfigurationError("require_scopes() needs at least one scope")
    doc = f"Requires a token granting {' '.join(checked)}."
    return type("RequireScopes", (HasScopes,), {"scopes": checked, "__doc__": doc})


def _bearer(request: Request | None) -> BearerAuthentication | None:
    """The request's :class:`BearerAuthentication`: the one that succeeded, else the first."""
    if request is None:
        return None
    succeeded = getattr(request, "successful_authenticator", None)
    if isinstance(succeeded, BearerAuthentication):
        return succeeded
    authenticators: Iterable[object] = getattr(request, "authenticators", None) or ()
    return next((a for a in authenticators if isinstance(a, BearerAuthentication)), None)


def _guard_of(request: Request) -> Guard:
    authenticator = _bearer(request)
    return authenticator.get_guard() if authenticator is not None else configured_guard()


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering token refusals as RFC 6750 says.

    * :class:`TokenRefused`: the guard's answer (401/400 with ``error=``, 403
      ``insufficient_scope``, 503 + ``Retry-After``);
    * ``NotAuthenticated`` on a view with :class:`BearerAuthentication`: 401 with the challenge
      (no error; ``scope=`` naming what the view's :class:`HasScopes` asks for), even where DRF
      made it a 403 (another class listed first had no challenge of its own);
    * ``PermissionDenied`` for a token-authenticated request: 403 with ``error=
      "insufficient_scope"`` (and ``scope=`` when :class:`HasScopes` knows which);
    * anything else: DRF's own handler.
    """
    from rest_framework.views import exception_handler as drf_handler  # noqa: PLC0415 - see above

    answer = _answer_for(exc, context.get("request"), context.get("view"))
    if answer is None:
        return drf_handler(exc, context)
    response = _response(answer)
    keep_out_of_request_log(response, exc.error if isinstance(exc, TokenRefused) else None)
    return response


def _answer_for(exc: Exception, request: Request | None, view: APIView | None) -> Answer | None:
    if isinstance(exc, TokenRefused):
        return exc.answer
    authenticator = _bearer(request)
    if authenticator is None or request is None:
        return None
    guard = authenticator.get_guard()
    if isinstance(exc, NotAuthenticated):
        return guard.answer(None, scopes=_advertised_scopes(view))
    if isinstance(exc, PermissionDenied | DjangoPermissionDenied) and isinstance(
        request.auth, VerifiedToken
    ):
        refusal, scopes = getattr(request, _REFUSAL, None) or (
            InsufficientScope("a permission of the view refused the token"),
            (),
        )
        return guard.answer(refusal, scopes=scopes)
    return None


def _advertised_scopes(view: APIView | None) -> tuple[str, ...]:
    """The scopes a view's :class:`HasScopes` asks for, named in its 401 challenge."""
    if view is None:
        return ()
    for permission in view.get_permissions():
        if isinstance(permission, HasScopes):
            return permission.scopes or _view_scopes(view)
    return ()


def _response(answer: Answer) -> Response:
    from rest_framework.response import Response  # noqa: PLC0415 - see the module docstring
    from rest_framework.views import set_rollback  # noqa: PLC0415

    set_rollback()
    headers = dict(answer.headers)
    return Response(json.loads(answer.body), status=answer.status, headers=headers)
