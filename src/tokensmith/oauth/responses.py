"""The ``(status, headers, body)`` triple every OAuth helper returns, framework-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from .._text import class_description
from ..errors import ConfigurationError, InvalidClient, OAuthError

__all__ = [
    "ERROR_DESCRIPTIONS",
    "NO_STORE_HEADERS",
    "OAuthResponse",
    "error_description",
    "error_response",
    "json_response",
]

NO_STORE_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Content-Type": "application/json;charset=UTF-8",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }
)
"""Headers RFC 6749 §5.1 requires on any response that carries tokens or token information."""

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*")

ERROR_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "invalid_request": "The request is missing a parameter, repeats one, "
        "or has a malformed value.",
        "invalid_client": "Client authentication failed.",
        "invalid_grant": "The grant or refresh token is invalid, expired, revoked, "
        "or was issued to another client.",
        "unauthorized_client": "This client may not use this grant type.",
        "unsupported_grant_type": "This grant type is not supported.",
        "invalid_scope": "The requested scope is invalid, unknown, or not allowed for this client.",
        "unsupported_token_type": "This server does not revoke tokens of this type.",
        "temporarily_unavailable": "The server cannot answer now; retry later.",
        "invalid_dpop_proof": "The DPoP proof is missing, invalid, or not for this request.",
        "use_dpop_nonce": "Sign a new DPoP proof with the nonce in the DPoP-Nonce header.",
    }
)
"""The ``error_description`` of each RFC 6749 §5.2 error code (and RFC 9449's two DPoP codes):
one fixed text per code.

The exception's message is never sent: it is written for operators, and a per-reason text
would tell a client (or an attacker probing with stolen tokens) whether a refresh token is
unknown, expired, revoked or being reused. Log ``exc.code`` for that.
"""


class OAuthResponse(NamedTuple):
    """What to send back: unpack it as ``status, headers, body`` in any web framework.

    ``body`` is the JSON object as a mapping (easy to test); :meth:`body_bytes` serialises it.
    ``repr()`` never shows the body, which may hold tokens.
    """

    status: int
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    def body_bytes(self) -> bytes:
        """The body as compact UTF-8 JSON, ready to write to the socket."""
        return json.dumps(dict(self.body), separators=(",", ":")).encode("utf-8")

    def __repr__(self) -> str:
        return f"OAuthResponse(status={self.status!r}, fields={sorted(self.body)!r})"


def json_response(status: int, body: Mapping[str, Any]) -> OAuthResponse:
    """A JSON response with the no-store headers (every OAuth endpoint answer needs them)."""
    return OAuthResponse(status, dict(NO_STORE_HEADERS), MappingProxyType(dict(body)))


def error_response(
    exc: OAuthError, *, auth_scheme: str | None = None, describe: bool = True
) -> OAuthResponse:
    """The RFC 6749 §5.2 error response for ``exc``: ``error`` and a fixed ``error_description``.

    The description is :data:`ERROR_DESCRIPTIONS` for ``exc.error`` (``describe=False`` omits
    it), never ``exc.message``: every ``invalid_grant`` refusal, for one, gets the same body.
    When client authentication failed and the client tried an ``Authorization`` header scheme
    (``"Basic"``), pass it as ``auth_scheme``: the 401 then carries the ``WWW-Authenticate``
    challenge RFC 6749 §5.2 requires. Without it, the exception's own
    :attr:`~tokensmith.errors.InvalidClient.auth_scheme` is used (set by
    :class:`~tokensmith.oauth.ClientAuthenticator`).
    """
    headers = dict(NO_STORE_HEADERS)
    if auth_scheme is None and isinstance(exc, InvalidClient):
        auth_scheme = exc.auth_scheme
    if auth_scheme is not None and isinstance(exc, InvalidClient):
        if not _SCHEME.fullmatch(auth_scheme):
            raise ConfigurationError("auth_scheme must be an HTTP authentication scheme name")
        headers["WWW-Authenticate"] = f'{auth_scheme} realm="token"'
    body = {"error": exc.error}
    if describe:
        body["error_description"] = error_description(exc)
    return OAuthResponse(exc.status_code, headers, MappingProxyType(body))


def error_description(exc: OAuthError) -> str:
    """The fixed text for ``exc.error``; an error code of your own gets its class's first
    docstring line (the same rule as :func:`tokensmith.web.www_authenticate`)."""
    return ERROR_DESCRIPTIONS.get(exc.error) or class_description(exc)
