"""Bearer tokens over HTTP (RFC 6750): finding the token in a request, answering a refusal.

* :func:`bearer_token` / :func:`extract_token` — find the bearer token in a request, RFC 6750
  §2.1 strictly (header only; URL tokens refused; form-body tokens only when enabled, §2.2);
* :func:`www_authenticate` — the status and headers to answer a refusal with (RFC 6750 §3).

Framework-agnostic: plain strings, mappings and ``(name, value)`` pairs. Nothing here logs,
and no error message or header ever contains the token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Final

from .._text import SCOPE_TOKEN, class_description
from ..errors import (
    BackendUnavailable,
    ConfigurationError,
    InsufficientScope,
    MalformedAuthorization,
    MissingToken,
    MultipleCredentials,
    OAuthError,
    Throttled,
    TokenError,
    TokenInQuery,
    TokensmithError,
    TokenTooLarge,
)
from ._headers import authorization_token
from ._headers import header_text as _text

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "Headers",
    "bearer_token",
    "extract_token",
    "form_token",
    "refuse_query_token",
    "www_authenticate",
]

DEFAULT_MAX_TOKEN_LENGTH: Final = 8192
"""Credentials longer than this are refused before any parsing (matches the validator)."""

Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
"""Request headers: any mapping (a dict, a WSGI ``environ``) or ASGI ``(name, value)`` pairs."""

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
_BEARER: Final = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)", re.ASCII)
_OWS: Final = " \t"
_FORM_TYPE: Final = "application/x-www-form-urlencoded"


# --- extraction -------------------------------------------------------------------------------


def bearer_token(headers: Headers, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> str:
    """The bearer token of an ``Authorization`` header, per RFC 6750 §2.1, or a refusal.

    The scheme is matched case-insensitively and must be followed by one or more spaces and
    exactly one ``b64token``; surrounding optional whitespace (RFC 9110 ``OWS``) is ignored.
    No header (or another scheme such as ``Basic``) raises :class:`MissingToken`; several
    ``Authorization`` headers or a comma-joined list raise :class:`MultipleCredentials`; a
    ``Bearer`` value that breaks the grammar raises :class:`MalformedAuthorization`.
    """
    return authorization_token(headers, scheme="Bearer", credentials=_BEARER, max_length=max_length)


def refuse_query_token(query: str | bytes | Mapping[str, object] | None) -> None:
    """Refuse a request whose URL query carries ``access_token`` (RFC 6750 §2.3 is not allowed).

    URL tokens end up in access logs, browser history and ``Referer`` headers, so tokensmith
    never accepts them. ``query`` is the raw query string (``environ["QUERY_STRING"]``, the
    ASGI ``query_string``) or already-parsed parameters. Raises :class:`TokenInQuery`.
    """
    if query is None:
        return
    if isinstance(query, Mapping):
        found = "access_token" in query
    elif not isinstance(query, str | bytes | bytearray):
        raise MalformedAuthorization("the query string is not text")
    else:
        from urllib.parse import parse_qsl  # noqa: PLC0415 - keep `import tokensmith` cheap

        text = _text(query)
        if "access_token" not in text and "%" not in text:
            return
        try:
            found = any(
                name == "access_token" for name, _ in parse_qsl(text, keep_blank_values=True)
            )
        except ValueError:  # pragma: no cover - parse_qsl is lenient; kept fail-closed
            found = True
    if found:
        raise TokenInQuery(
            "tokens in the URL query are refused; send 'Authorization: Bearer <token>'"
        )


def form_token(  # noqa: C901 - RFC 6750 §2.2 rules, one branch each
    body: str | bytes | Mapping[str, object] | None,
    *,
    method: str,
    content_type: str | None,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> str | None:
    """The ``access_token`` of a form-encoded body per RFC 6750 §2.2, or ``None`` if absent.

    Only for resource servers that chose to accept form-body tokens: the content type must be
    ``application/x-www-form-urlencoded``, the method may not be ``GET``, the body must be
    ASCII, and ``access_token`` may appear once (:class:`MultipleCredentials` otherwise).
    Violations raise :class:`~tokensmith.errors.InvalidTokenRequest` subclasses.
    """
    if body is None:
        return None
    values: list[object]
    if isinstance(body, Mapping):
        raw = body.get("access_token")
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        if not any(v is not None for v in values):
            return None
    elif not isinstance(body, str | bytes | bytearray):
        raise MalformedAuthorization("the request body is not a form")
    else:
        from urllib.parse import parse_qsl  # noqa: PLC0415 - keep `import tokensmith` cheap

        try:
            text = body.decode("ascii") if isinstance(body, bytes | bytearray) else body
            text.encode("ascii")
        except UnicodeError:
            raise MalformedAuthorization("a form body carrying a token must be ASCII") from None
        if "access_token" not in text:
            return None
        values = [v for n, v in parse_qsl(text, keep_blank_values=True) if n == "access_token"]
        if not values:
            return None
    media_type = content_type.split(";", 1)[0] if isinstance(content_type, str) else ""
    if media_type.strip(_OWS).lower() != _FORM_TYPE:
        raise MalformedAuthorization(
            "a token in the body needs Content-Type application/x-www-form-urlencoded"
        )
    if not isinstance(method, str) or method.upper() == "GET":
        raise MalformedAuthorization("a token in the body is not accepted on GET")
    if len(values) != 1:
        raise MultipleCredentials("the form body carries access_token more than once")
    value = values[0]
    if not isinstance(value, str):
        raise MalformedAuthorization("the form's access_token is not text")
    if len(value) > max_length:
        raise TokenTooLarge(f"the form's access_token is longer than {max_length} characters")
    if _BEARER.fullmatch("Bearer " + value) is None:
        raise MalformedAuthorization("the form's access_token is not a b64token")
    return value


def extract_token(
    headers: Headers,
    *,
    query: str | bytes | Mapping[str, object] | None = None,
    method: str = "GET",
    body: str | bytes | Mapping[str, object] | None = None,
    content_type: str | None = None,
    allow_form: bool = False,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> str:
    """The request's one bearer token, from the header (or a form body, only if allowed).

    Always refuses URL tokens (:func:`refuse_query_token`). With ``allow_form=True`` a body
    is examined per :func:`form_token`; a token in both the header and the body is
    :class:`MultipleCredentials` (RFC 6750 §2: one method per request). Without it the body is
    not looked at. No token at all raises :class:`MissingToken`.
    """
    refuse_query_token(query)
    from_body = (
        form_token(body, method=method, content_type=content_type, max_length=max_length)
        if allow_form
        else None
    )
    try:
        from_header: str | None = bearer_token(headers, max_length=max_length)
    except MissingToken:
        if from_body is None:
            raise
        return from_body
    if from_body is not None:
        raise MultipleCredentials("the token was sent in both the header and the body")
    assert from_header is not None
    return from_header


# --- answering a refusal ----------------------------------------------------------------------


def _quoted(value: str, what: str) -> str:
    """An RFC 9110 quoted-string; control characters are refused, not escaped."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value if c != "\t") or not value.isascii():
        raise ConfigurationError(f"{what} may contain printable ASCII only")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scope_value(scopes: Iterable[str]) -> str:
    names = sorted(set(scopes))
    for name in names:
        if SCOPE_TOKEN.fullmatch(name) is None:
            raise ConfigurationError("a scope in WWW-Authenticate must be a printable token")
    return " ".join(names)


def www_authenticate(
    error: TokensmithError | None,
    *,
    realm: str,
    scope: str | Iterable[str] | None = None,
    retry_after: int = 5,
    describe: bool = True,
    resource_metadata: str | None = None,
) -> tuple[int, list[tuple[str, str]]]:
    """The HTTP status and headers answering ``error`` (``None``: no credentials were sent).

    * no credentials / :class:`MissingToken` -> 401, ``Bearer realm="..."`` with no error
      (RFC 6750 §3.1);
    * any other :class:`TokenError` -> its ``status_code`` and ``error``: 401 ``invalid_token``,
      403 ``insufficient_scope`` (with ``scope``: the argument or the scopes the refusal
      required), 400 ``invalid_request``;
    * :class:`BackendUnavailable` -> 503 with ``Retry-After`` (the token was not judged);
    * :class:`Throttled` -> 429 with its ``Retry-After``;
    * an :class:`~tokensmith.errors.OAuthError` (token-endpoint family) -> its status, no
      challenge (its JSON body is :mod:`tokensmith.oauth`'s job);
    * anything else (a configuration fault) -> 500 with no challenge.

    ``error_description`` is a fixed text per error class (``describe=False`` omits it), never
    the exception message, so it cannot echo request data. ``resource_metadata``, the absolute
    https URL of the resource's RFC 9728 metadata, is added to every challenge (RFC 9728 §5.1)
    so a client can find the authorization server to ask. Headers are ``(name, value)`` pairs.
    """
    metadata = None if resource_metadata is None else _metadata_param(resource_metadata)
    headers: list[tuple[str, str]] = [("Cache-Control", "no-store")]
    if isinstance(error, Throttled):
        seconds = max(1, math.ceil(error.retry_after))
        return 429, [*headers, ("Retry-After", str(seconds))]
    if isinstance(error, BackendUnavailable):
        return 503, [*headers, ("Retry-After", str(max(1, int(retry_after))))]
    if isinstance(error, OAuthError):  # a token-endpoint error: its status, no Bearer challenge
        return error.status_code, headers
    if error is not None and not isinstance(error, TokenError):
        return 500, headers
    params = [f"realm={_quoted(realm, 'realm')}"]
    status = 401
    if error is not None and error.error:
        status = error.status_code
        params.append(f'error="{error.error}"')
        if describe:
            params.append(f'error_description="{class_description(error)}"')
        scopes: Iterable[str] | None = scope.split() if isinstance(scope, str) else scope
        if scopes is None and isinstance(error, InsufficientScope):
            scopes = error.required
        if scopes and error.error == "insufficient_scope":
            params.append(f'scope="{_scope_value(scopes)}"')
    elif scope is not None:  # RFC 6750 §3: scope may accompany a plain challenge
        scopes = scope.split() if isinstance(scope, str) else scope
        if scopes:
            params.append(f'scope="{_scope_value(scopes)}"')
    if metadata is not None:
        params.append(metadata)
    return status, [*headers, ("WWW-Authenticate", "Bearer " + ", ".join(params))]


_URI_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.ASCII)


def _metadata_param(url: str) -> str:
    """``resource_metadata="<url>"``: an absolute https URL (http on loopback), no fragment."""
    from .._http import check_url  # noqa: PLC0415 - keep `import tokensmith` cheap

    check_url(url, "resource_metadata")
    if _URI_CHARS.fullmatch(url) is None:
        raise ConfigurationError("resource_metadata may hold RFC 3986 URI characters only")
    return f"resource_metadata={_quoted(url, 'resource_metadata')}"
