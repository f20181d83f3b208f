"""FastAPI: a dependency that returns the verified token and documents itself in OpenAPI.

::

    auth = TokenAuth(Guard(validator, realm="orders"))
    app = FastAPI()
    auth.install(app)  # answers refusals: 401/403/400 with the RFC 6750 challenge, 503

    @app.get("/orders")
    async def orders(token: VerifiedToken = Depends(auth.require_token(scopes=["orders:read"]))):
        ...

Each dependency is a FastAPI security scheme, so the OpenAPI document lists an HTTP bearer
scheme (``components.securitySchemes``, ``bearerFormat: JWT``) and every protected operation
names it in ``security``: the docs UI's "Authorize" button works. A router protects all its
routes with ``APIRouter(dependencies=[Depends(auth.require_token())])``.

The dependency runs :meth:`Guard.aauthenticate <tokensmith.web.Guard.aauthenticate>` and
raises the refusal; the handler :meth:`TokenAuth.install` registers (the Starlette one,
:func:`tokensmith.integrations.starlette.install`) answers it with :meth:`Guard.answer
<tokensmith.web.Guard.answer>`. WebSocket endpoints are protected by the ASGI middleware.
"""

# No ``from __future__ import annotations``: FastAPI reads the annotations of
# ``TokenDependency.__call__`` at run time, and an instance has no globals to resolve strings in.
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from ..claims import VerifiedToken
from ..web.guard import Guard
from ._common import checked_guard
from .starlette import authenticate, install

__all__ = ["TokenAuth", "TokenDependency"]


class TokenAuth:
    """Makes the dependencies of one protected API and installs its refusal handler.

    :param guard: the :class:`~tokensmith.web.Guard` that authenticates and answers.
    :param scheme_name: the security scheme's name in the OpenAPI document.
    :param description: the security scheme's description in the OpenAPI document.
    """

    __slots__ = ("guard", "model", "scheme_name")

    def __init__(
        self, guard: Guard, *, scheme_name: str = "bearerAuth", description: str | None = None
    ) -> None:
        self.guard = checked_guard(guard)
        self.scheme_name = scheme_name
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)

    def __repr__(self) -> str:
        return f"TokenAuth({self.guard!r}, scheme_name={self.scheme_name!r})"

    def install(self, app: FastAPI) -> None:
        """Register the handler answering every refusal the dependencies raise."""
        install(app, self.guard)

    def require_token(self, scopes: str | Iterable[str] = ()) -> "TokenDependency":
        """A dependency returning the verified token; ``scopes`` on top of the guard's own."""
        return TokenDependency(self, Guard.checked_scopes(scopes))


class TokenDependency(SecurityBase):
    """A FastAPI dependency (and OpenAPI HTTP bearer security scheme): the verified token of
    the request, or the refusal raised for the installed handler to answer."""

    def __init__(self, auth: TokenAuth, scopes: tuple[str, ...]) -> None:
        self.guard = auth.guard
        self.scopes = scopes
        self.model = auth.model
        self.scheme_name = auth.scheme_name

    def __repr__(self) -> str:
        return f"TokenDependency(scopes={list(self.scopes)!r})"

    async def __call__(self, request: Request) -> VerifiedToken:
        return await authenticate(request, self.guard, scopes=self.scopes)
