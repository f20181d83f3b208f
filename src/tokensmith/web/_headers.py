"""Reading request headers given in any of the shapes adapters have: a mapping (a dict, a WSGI
``environ``) or ``(name, value)`` pairs (ASGI, :class:`~tokensmith.web.RequestFacts`), names
in any case, values as text or bytes (Latin-1, one character per octet)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Final

from .._text import HTTP_TOKEN
from ..errors import MalformedAuthorization, MissingToken, MultipleCredentials, TokenTooLarge

__all__ = ["authorization_token", "header_pairs", "header_text", "header_values"]

_AUTH_NAMES: Final = frozenset({"authorization", "http_authorization"})
_OWS: Final = " \t"


def header_text(value: str | bytes | bytearray) -> str:
    """A header name or value as text (bytes are Latin-1)."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else value


def header_pairs(headers: object) -> list[tuple[object, object]]:
    """``(name, value)`` pairs of a mapping or an ASGI-style list; anything else is refused."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    if isinstance(headers, str | bytes | bytearray) or not isinstance(headers, Iterable):
        raise MalformedAuthorization("the request headers are not names and values")
    pairs = list(headers)
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise MalformedAuthorization("the request headers are not names and values")
    return [(name, value) for name, value in pairs]


def header_values(headers: object, names: Collection[str]) -> list[str]:
    """Every value of the headers called one of ``names`` (lower case, WSGI spellings
    included), in order; a multi-valued container counts each of its values."""
    values: list[str] = []
    for name, value in header_pairs(headers):
        if not isinstance(name, str | bytes | bytearray):
            continue
        if header_text(name).lower() not in names:
            continue
        if isinstance(value, str | bytes | bytearray):
            values.append(header_text(value))
        elif isinstance(value, list | tuple):  # multi-valued header containers
            values.extend(header_text(v) for v in value if isinstance(v, str | bytes | bytearray))
        else:
            raise MalformedAuthorization(f"the {header_text(name)} header value is not text")
    return values


def authorization_token(
    headers: object, *, scheme: str, credentials: re.Pattern[str], max_length: int
) -> str:
    """The token of the request's one ``Authorization`` header in ``scheme`` (``Bearer``,
    ``DPoP``): ``credentials`` matches the whole value, scheme included, case-insensitively,
    and captures the token.

    The one rule for both schemes: no header, an empty one or another scheme is
    :class:`~tokensmith.MissingToken` (the request has no credentials of *this* kind); several
    headers or a comma-joined list are :class:`~tokensmith.MultipleCredentials`; the scheme
    glued to or followed by something that is not one token, or a value that is not
    ``scheme credentials`` at all, is :class:`~tokensmith.MalformedAuthorization`; an oversized
    header or token is :class:`~tokensmith.TokenTooLarge`, checked before any pattern runs.
    """
    values = header_values(headers, _AUTH_NAMES)
    if not values:
        raise MissingToken("the request has no Authorization header")
    if len(values) > 1:
        raise MultipleCredentials("the request has several Authorization headers")
    value = values[0].strip(_OWS)
    if len(value) > max_length + 16:
        raise TokenTooLarge(f"the Authorization header is longer than {max_length} characters")
    if not value:
        raise MissingToken("the Authorization header is empty")
    match = credentials.fullmatch(value)
    if match is not None:
        token = match.group(1)
        if len(token) > max_length:
            raise TokenTooLarge(f"the {scheme} token is longer than {max_length} characters")
        return token
    if "," in value:  # two credentials joined by a proxy or a client
        raise MultipleCredentials("the Authorization header carries several credentials")
    given = value.split(" ", 1)[0].split("\t", 1)[0]
    if given[: len(scheme)].lower() == scheme.lower():  # the scheme, or glued to something
        raise MalformedAuthorization(
            f"the Authorization header must be '{scheme}' followed by one space-separated token"
        )
    if HTTP_TOKEN.fullmatch(given) is None:
        raise MalformedAuthorization("the Authorization header is not 'scheme credentials'")
    raise MissingToken(f"the Authorization header uses another scheme than {scheme}")
