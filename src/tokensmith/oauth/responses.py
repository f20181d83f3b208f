"""The ``(status, headers, body)`` triple every OAuth helper returns, framework-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from ..errors import ConfigurationError, InvalidClient, OAuthError

__all__ = ["NO_STORE_HEADERS", "OAuthResponse", "error_response", "json_response"]

NO_STORE_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Content-Type": "application/json;charset=UTF-8",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }
)
"""Headers RFC 6749 §5.1 requires on any response that carries tokens or token information."""

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*")


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


def error_response(exc: OAuthError, *, auth_scheme: str | None = None) -> OAuthResponse:
    """The RFC 6749 §5.2 error response for ``exc``.

    When client authentication failed and the client tried an ``Authorization`` header scheme
    (``"Basic"``), pass it as ``auth_scheme``: the 401 then carries the ``WWW-Authenticate``
    challenge RFC 6749 §5.2 requires.
    """
    headers = dict(NO_STORE_HEADERS)
    if auth_scheme is not None and isinstance(exc, InvalidClient):
        if not _SCHEME.fullmatch(auth_scheme):
            raise ConfigurationError("auth_scheme must be an HTTP authentication scheme name")
        headers["WWW-Authenticate"] = f'{auth_scheme} realm="token"'
    body = {"error": exc.error, "error_description": exc.message}
    return OAuthResponse(exc.status_code, headers, MappingProxyType(body))
