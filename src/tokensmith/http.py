"""Framework-agnostic HTTP helpers around the token: plain strings, mappings and callables.

* :func:`bearer_token` / :func:`extract_token` — find the bearer token in a request, RFC 6750
  §2.1 strictly (header only; URL tokens refused; form-body tokens only when enabled, §2.2).
* :func:`www_authenticate` — the status and headers to answer a refusal with (RFC 6750 §3).
* :func:`token_cookie` / :func:`delete_token_cookie` — ``Set-Cookie`` values for a token
  with ``HttpOnly; Secure; SameSite`` and the ``__Host-`` prefix by default.
* :class:`CSRFProtector` — signed double-submit CSRF tokens bound to the session.

Nothing here logs, and no error message or header ever contains the token.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Literal

from ._b64 import b64url_decode, b64url_encode
from ._options import integer, seconds
from ._secrets import secret_bytes, secrets_equal
from .errors import (
    BackendUnavailable,
    ConfigurationError,
    CSRFCheckFailed,
    CSRFTokenExpired,
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
    WeakKey,
)

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "CSRFProtector",
    "Headers",
    "bearer_token",
    "delete_token_cookie",
    "extract_token",
    "form_token",
    "refuse_query_token",
    "token_cookie",
    "www_authenticate",
]

DEFAULT_MAX_TOKEN_LENGTH: Final = 8192
"""Credentials longer than this are refused before any parsing (matches the validator)."""

Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
"""Request headers: any mapping (a dict, a WSGI ``environ``) or ASGI ``(name, value)`` pairs."""

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
_BEARER: Final = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)", re.ASCII)
_SCHEME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", re.ASCII)  # RFC 9110 token
_OWS: Final = " \t"
_AUTH_NAMES: Final = frozenset({"authorization", "http_authorization"})
# RFC 6750 §3: error_description / scope characters; realm is a quoted-string (RFC 9110).
_DESCRIPTION_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+", re.ASCII)
_COOKIE_NAME: Final = _SCHEME
# RFC 6265 §4.1.1 cookie-octet
_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*", re.ASCII)
_PATH_VALUE: Final = re.compile(r"/[\x20-\x3A\x3C-\x7E]*", re.ASCII)
_DOMAIN_VALUE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?", re.ASCII)
_FORM_TYPE: Final = "application/x-www-form-urlencoded"


# --- extraction -------------------------------------------------------------------------------


def _text(value: str | bytes | bytearray) -> str:
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else value


def _header_pairs(headers: Headers) -> list[tuple[object, object]]:
    """``(name, value)`` pairs of a mapping or an ASGI-style list; anything else is refused."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    if isinstance(headers, str | bytes | bytearray) or not isinstance(headers, Iterable):
        raise MalformedAuthorization("the request headers are not names and values")
    pairs = list(headers)
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise MalformedAuthorization("the request headers are not names and values")
    return [(name, value) for name, value in pairs]


def _authorization_values(headers: Headers) -> list[str]:
    """Every ``Authorization`` value, whatever the header name's case or WSGI spelling."""
    values: list[str] = []
    for name, value in _header_pairs(headers):
        if not isinstance(name, str | bytes | bytearray):
            continue
        if _text(name).lower() not in _AUTH_NAMES:
            continue
        if isinstance(value, str | bytes | bytearray):
            values.append(_text(value))
        elif isinstance(value, list | tuple):  # multi-valued header containers
            values.extend(_text(v) for v in value if isinstance(v, str | bytes | bytearray))
        else:
            raise MalformedAuthorization("the Authorization header value is not text")
    return values


def bearer_token(headers: Headers, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> str:
    """The bearer token of an ``Authorization`` header, per RFC 6750 §2.1, or a refusal.

    The scheme is matched case-insensitively and must be followed by one or more spaces and
    exactly one ``b64token``; surrounding optional whitespace (RFC 9110 ``OWS``) is ignored.
    No header (or another scheme such as ``Basic``) raises :class:`MissingToken`; several
    ``Authorization`` headers or a comma-joined list raise :class:`MultipleCredentials`; a
    ``Bearer`` value that breaks the grammar raises :class:`MalformedAuthorization`.
    """
    values = _authorization_values(headers)
    if not values:
        raise MissingToken("the request has no Authorization header")
    if len(values) > 1:
        raise MultipleCredentials("the request has several Authorization headers")
    value = values[0].strip(_OWS)
    if len(value) > max_length + 16:
        raise TokenTooLarge(f"the Authorization header is longer than {max_length} characters")
    if not value:
        raise MissingToken("the Authorization header is empty")
    match = _BEARER.fullmatch(value)
    if match is not None:
        token = match.group(1)
        if len(token) > max_length:
            raise TokenTooLarge(f"the bearer token is longer than {max_length} characters")
        return token
    if "," in value:  # two credentials joined by a proxy or a client
        raise MultipleCredentials("the Authorization header carries several credentials")
    scheme = value.split(" ", 1)[0].split("\t", 1)[0]
    if scheme[:6].lower() == "bearer":  # "Bearer", or "Bearer" glued to something
        raise MalformedAuthorization(
            "the Authorization header must be 'Bearer' followed by one space-separated token"
        )
    if _SCHEME.fullmatch(scheme) is None:
        raise MalformedAuthorization("the Authorization header is not 'scheme credentials'")
    raise MissingToken("the Authorization header uses another scheme than Bearer")


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


def form_token(
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


def _description(exc: TokensmithError) -> str:
    """A fixed text per class (first line of its docstring): never the message, never input."""
    doc = (type(exc).__doc__ or exc.code).strip().splitlines()[0]
    doc = doc.replace("``", "")
    return "".join(c for c in doc if c in _DESCRIPTION_CHARS).strip() or exc.code


def _scope_value(scopes: Iterable[str]) -> str:
    names = sorted(set(scopes))
    for name in names:
        if _SCOPE_TOKEN.fullmatch(name) is None:
            raise ConfigurationError("a scope in WWW-Authenticate must be a printable token")
    return " ".join(names)


def www_authenticate(
    error: TokensmithError | None,
    *,
    realm: str,
    scope: str | Iterable[str] | None = None,
    retry_after: int = 5,
    describe: bool = True,
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
    the exception message, so it cannot echo request data. Headers are ``(name, value)`` pairs.
    """
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
            params.append(f'error_description="{_description(error)}"')
        scopes: Iterable[str] | None = scope.split() if isinstance(scope, str) else scope
        if scopes is None and isinstance(error, InsufficientScope):
            scopes = error.required
        if scopes and error.error == "insufficient_scope":
            params.append(f'scope="{_scope_value(scopes)}"')
    elif scope is not None:  # RFC 6750 §3: scope may accompany a plain challenge
        scopes = scope.split() if isinstance(scope, str) else scope
        if scopes:
            params.append(f'scope="{_scope_value(scopes)}"')
    return status, [*headers, ("WWW-Authenticate", "Bearer " + ", ".join(params))]


# --- cookies ----------------------------------------------------------------------------------

SameSite = Literal["Strict", "Lax"]


def _cookie(
    name: str,
    value: str,
    *,
    max_age: int,
    path: str,
    domain: str | None,
    same_site: str,
    host_prefix: bool,
    http_only: bool,
) -> str:
    if not isinstance(name, str) or _COOKIE_NAME.fullmatch(name) is None:
        raise ConfigurationError("a cookie name must be an RFC 6265 token")
    if host_prefix and not name.startswith("__Host-"):
        name = "__Host-" + name
    if name.startswith("__Host-"):
        if path != "/":
            raise ConfigurationError("a __Host- cookie requires Path=/")
        if domain is not None:
            raise ConfigurationError("a __Host- cookie may not have a Domain")
    if not isinstance(value, str) or _COOKIE_VALUE.fullmatch(value) is None:
        raise ConfigurationError("the cookie value has characters a cookie may not carry")
    integer("max_age", max_age, minimum=0)
    if same_site not in ("Strict", "Lax"):
        raise ConfigurationError("same_site must be 'Strict' or 'Lax'")
    if not isinstance(path, str) or _PATH_VALUE.fullmatch(path) is None:
        raise ConfigurationError("path must start with '/' and hold no ';' or control characters")
    parts = [f"{name}={value}", f"Max-Age={max_age}", f"Path={path}"]
    if domain is not None:
        if not isinstance(domain, str) or _DOMAIN_VALUE.fullmatch(domain) is None:
            raise ConfigurationError("domain must be a host name")
        parts.append(f"Domain={domain}")
    parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    parts.append(f"SameSite={same_site}")
    return "; ".join(parts)


def token_cookie(
    name: str,
    token: str,
    *,
    max_age: int,
    path: str = "/",
    same_site: SameSite = "Strict",
    domain: str | None = None,
    host_prefix: bool = True,
) -> str:
    """A ``Set-Cookie`` value carrying a token: ``HttpOnly; Secure; SameSite``, ``__Host-``.

    The ``__Host-`` prefix (added to ``name`` unless ``host_prefix=False``) makes browsers
    refuse the cookie unless it is ``Secure``, ``Path=/`` and has no ``Domain``, so a sibling
    subdomain cannot plant or overwrite it; those rules are enforced here too. ``Secure`` and
    ``HttpOnly`` are always set. Values a cookie cannot carry raise
    :class:`~tokensmith.errors.ConfigurationError` (the message never contains the value).
    Set ``max_age`` to the token's remaining lifetime. Pair it with :class:`CSRFProtector`.
    """
    return _cookie(
        name,
        token,
        max_age=max_age,
        path=path,
        domain=domain,
        same_site=same_site,
        host_prefix=host_prefix,
        http_only=True,
    )


def delete_token_cookie(
    name: str,
    *,
    path: str = "/",
    same_site: SameSite = "Strict",
    domain: str | None = None,
    host_prefix: bool = True,
) -> str:
    """The ``Set-Cookie`` value that deletes a cookie set by :func:`token_cookie` (logout).

    Same name, path and domain as the original, empty value and ``Max-Age=0``.
    """
    return _cookie(
        name,
        "",
        max_age=0,
        path=path,
        domain=domain,
        same_site=same_site,
        host_prefix=host_prefix,
        http_only=True,
    )


# --- CSRF double-submit tokens ----------------------------------------------------------------


_CSRF_CONTEXT: Final = b"tokensmith-csrf-v1\x00"
_CSRF_SHAPE: Final = re.compile(
    r"([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})", re.ASCII
)


class CSRFProtector:
    """Signed double-submit CSRF tokens for cookie-carried tokens (OWASP "signed double submit").

    :meth:`issue` makes ``<issued-at>.<nonce>.<HMAC-SHA256>`` bound to the session id; the app
    sets it in a cookie readable by its own JavaScript (:meth:`cookie`), which echoes it in a
    header (e.g. ``X-CSRF-Token``). :meth:`verify` checks that the cookie and the echoed value
    are equal, the MAC matches this session (constant-time), and the token is younger than
    ``max_age``. A cross-site attacker can neither read the cookie nor forge a MAC.

    :param secret: at least 32 random bytes (``secrets.token_bytes(32)``), shared by replicas.
    """

    __slots__ = ("_clock", "_key", "max_age")

    def __init__(
        self,
        secret: bytes,
        *,
        max_age: float = 2 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(secret, bytes | bytearray):
            raise ConfigurationError("the CSRF secret must be bytes")
        if len(secret) < 32:
            raise WeakKey("the CSRF secret must be at least 256 bits (32 bytes)")
        seconds("max_age", max_age, positive=True, finite=False)
        # A derived key: the CSRF MAC can never be confused with any other use of the secret.
        self._key = hmac.new(bytes(secret), b"tokensmith csrf key", hashlib.sha256).digest()
        self.max_age = float(max_age)
        self._clock = clock

    def __repr__(self) -> str:
        return f"CSRFProtector(max_age={self.max_age!r})"

    def _mac(self, session_id: str, issued_at: str, nonce: str) -> bytes:
        message = b"\x00".join(
            (_CSRF_CONTEXT, secret_bytes(session_id), issued_at.encode(), nonce.encode())
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue(self, session_id: str) -> str:
        """A fresh CSRF token for ``session_id`` (cookie-safe, about 80 characters)."""
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError("session_id must be a non-empty string")
        issued_at = str(int(self._clock()))
        nonce = b64url_encode(os.urandom(16))
        mac = b64url_encode(self._mac(session_id, issued_at, nonce))
        return f"{issued_at}.{nonce}.{mac}"

    def cookie(self, token: str, *, name: str = "csrf", same_site: SameSite = "Strict") -> str:
        """The ``Set-Cookie`` value for a CSRF token: ``__Host-``, ``Secure``, NOT ``HttpOnly``.

        The page's own script must read it to echo it; it is useless to anyone else.
        """
        return _cookie(
            name,
            token,
            max_age=math.ceil(self.max_age),
            path="/",
            domain=None,
            same_site=same_site,
            host_prefix=True,
            http_only=False,
        )

    def verify(self, session_id: str, cookie_value: str | None, submitted: str | None) -> None:
        """Check a double-submitted CSRF token; raise :class:`CSRFCheckFailed` or return.

        ``cookie_value`` is the CSRF cookie, ``submitted`` the header or form value. Expired
        (or future-dated beyond 60 s) tokens raise :class:`CSRFTokenExpired`.
        """
        if not cookie_value or not submitted:
            raise CSRFCheckFailed("the CSRF cookie or the submitted CSRF token is missing")
        if not isinstance(cookie_value, str) or not isinstance(submitted, str):
            raise CSRFCheckFailed("the CSRF token must be text")
        if not secrets_equal(cookie_value, submitted):
            raise CSRFCheckFailed("the submitted CSRF token does not match the cookie")
        if not isinstance(session_id, str) or not session_id:
            raise CSRFCheckFailed("no session to bind the CSRF token to")
        match = _CSRF_SHAPE.fullmatch(submitted)
        if match is None:
            raise CSRFCheckFailed("the CSRF token is malformed")
        issued_at, nonce, mac = match.groups()
        try:
            given = b64url_decode(mac)
        except ValueError:
            raise CSRFCheckFailed("the CSRF token is malformed") from None
        if not hmac.compare_digest(given, self._mac(session_id, issued_at, nonce)):
            raise CSRFCheckFailed("the CSRF token is not valid for this session")
        age = self._clock() - int(issued_at)
        if age >= self.max_age or age < -60:
            raise CSRFTokenExpired("the CSRF token has expired; fetch a new one")
