"""``client_secret_basic`` (RFC 6749 §2.3.1): the ``Authorization: Basic`` header, both ways.

RFC 6749 §2.3.1 says the client id and secret are *form-urlencoded* (Appendix B) before they
are joined with ``:`` and base64-encoded. Many servers and clients forget it, and then a secret
with ``:``, ``+``, ``%`` or a non-ASCII character breaks: ``+`` must be read as a space, ``%3A``
as a colon. :func:`basic_authorization` builds the header the way the RFC says (encode, then
base64) and :func:`parse_basic_authorization` reads it the same way, strictly: base64 with
correct padding and no stray characters, UTF-8, a ``:`` present, ``%`` only as an escape.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final
from urllib.parse import quote_plus, unquote_plus

from ..errors import ConfigurationError, MalformedClientCredentials

__all__ = ["MAX_BASIC_CREDENTIALS_LENGTH", "basic_authorization", "parse_basic_authorization"]

MAX_BASIC_CREDENTIALS_LENGTH: Final = 4096
"""Longest ``Authorization: Basic`` header value accepted (characters)."""

_HEADER: Final = re.compile(r"([A-Za-z]+) +([A-Za-z0-9+/]+={0,2}) *")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` header value for ``client_secret_basic``, as RFC 6749 §2.3.1
    says: each part form-urlencoded (UTF-8), joined by ``:``, then base64.

    :raises ~tokensmith.errors.ConfigurationError: an empty or non-string id or secret.
    """
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{name} must be a non-empty string")
    joined = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
    return "Basic " + base64.b64encode(joined.encode("utf-8")).decode("ascii")


def parse_basic_authorization(header: object) -> tuple[str, str]:
    """The ``(client_id, client_secret)`` of an ``Authorization: Basic`` header value.

    The scheme name is case-insensitive (RFC 9110 §11.1). Raises
    :class:`~tokensmith.errors.MalformedClientCredentials` (``invalid_client``, with the
    ``Basic`` challenge) for anything else: another scheme, a value that is not strict base64,
    not UTF-8, has no ``:``, an empty id or secret, a ``%`` that is not an escape, or is longer
    than :data:`MAX_BASIC_CREDENTIALS_LENGTH`. Messages never contain the credentials.
    """
    if not isinstance(header, str) or len(header) > MAX_BASIC_CREDENTIALS_LENGTH:
        raise _malformed("the Authorization header is not a Basic credential of sane size")
    match = _HEADER.fullmatch(header)
    if match is None or match[1].lower() != "basic":
        raise _malformed("the Authorization header is not 'Basic <base64>'")
    try:
        decoded = base64.b64decode(match[2], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _malformed("the Basic credentials are not base64 of UTF-8 text") from None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        raise _malformed("the Basic credentials have no ':'")
    return _form_decode(raw_id, "client_id"), _form_decode(raw_secret, "client_secret")


def _form_decode(value: str, name: str) -> str:
    """One form-urlencoded part (``+`` is a space, ``%XX`` a UTF-8 byte), strictly."""
    if _BAD_ESCAPE.search(value):
        raise _malformed(f"the Basic {name} has a '%' that is not an escape")
    try:
        decoded = unquote_plus(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _malformed(f"the Basic {name} does not decode to UTF-8 text") from None
    if not decoded:
        raise _malformed(f"the Basic {name} is empty")
    return decoded  # strict UTF-8 on both layers: never a lone surrogate


def _malformed(message: str) -> MalformedClientCredentials:
    return MalformedClientCredentials(message, auth_scheme="Basic")
