"""DPoP over HTTP (RFC 9449 §7): ``Authorization: DPoP <token>``, the one ``DPoP`` proof header,
and the ``WWW-Authenticate: DPoP`` challenge.

* :func:`dpop_token` — the access token of ``Authorization: DPoP`` (RFC 9449 §7.1: the
  ``token68`` syntax, scheme case-insensitive, one ``Authorization`` header);
* :func:`dpop_proof` — the request's one ``DPoP`` header value (§4.3 item 1);
* :func:`dpop_challenge` — the ``DPoP`` challenge answering a refusal, with ``algs=`` and, for a
  refused request, ``error=`` (``invalid_token``, ``invalid_dpop_proof``, ``use_dpop_nonce``...).

:class:`~tokensmith.web.Guard` uses them when given ``dpop=``; they are public for servers that
assemble their own answers. Nothing here logs, and no message or header carries a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from ..errors import (
    ConfigurationError,
    InvalidDPoPProof,
    MalformedAuthorization,
    MissingToken,
    TokenError,
)
from ._headers import authorization_token, header_values
from .bearer import DEFAULT_MAX_TOKEN_LENGTH, Headers

__all__ = ["DPOP_NONCE_HEADER", "dpop_challenge", "dpop_proof", "dpop_token"]

DPOP_NONCE_HEADER: Final = "DPoP-Nonce"
"""The response header carrying the server's nonce (RFC 9449 §8.1, §9)."""

# RFC 9449 §7.1: credentials = "DPoP" 1*SP token68 (RFC 9110 §11.2)
_DPOP: Final = re.compile(r"[Dd][Pp][Oo][Pp] +([A-Za-z0-9\-._~+/]+=*)", re.ASCII)
_DPOP_NAMES: Final = frozenset({"dpop", "http_dpop"})
_OWS: Final = " \t"
_ALG: Final = re.compile(r"[A-Za-z0-9\-_+]+", re.ASCII)


def dpop_token(headers: Headers, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> str:
    """The access token of an ``Authorization: DPoP`` header, or a refusal.

    No ``Authorization`` header, or one with another scheme (``Bearer``), raises
    :class:`~tokensmith.MissingToken`; several headers or a comma-joined list raise
    :class:`~tokensmith.MultipleCredentials`; a ``DPoP`` value that breaks the ``token68``
    grammar raises :class:`~tokensmith.MalformedAuthorization`.
    """
    return authorization_token(headers, scheme="DPoP", credentials=_DPOP, max_length=max_length)


def dpop_proof(headers: Headers, *, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> str:
    """The request's one ``DPoP`` header value; none, several, a comma-joined list or an
    oversized one is :class:`~tokensmith.InvalidDPoPProof` (RFC 9449 §4.3 item 1)."""
    try:
        values = header_values(headers, _DPOP_NAMES)
    except MalformedAuthorization:
        raise InvalidDPoPProof("the DPoP header is not text") from None
    if not values:
        raise InvalidDPoPProof("the request has no DPoP header")
    if len(values) > 1:
        raise InvalidDPoPProof("the request has several DPoP headers")
    value = values[0].strip(_OWS)
    if len(value) > max_length:
        raise InvalidDPoPProof(f"the DPoP header is longer than {max_length} characters")
    if not value or "," in value or " " in value:
        raise InvalidDPoPProof("the DPoP header is not one proof")
    return value


def dpop_challenge(
    error: TokenError | None,
    *,
    realm: str,
    algorithms: Iterable[str],
    describe: bool = True,
) -> str:
    """The ``WWW-Authenticate`` value ``DPoP realm="...", [error=..., error_description=...,]
    algs="..."`` (RFC 9449 §7.1) answering ``error`` (``None`` or a
    :class:`~tokensmith.MissingToken`: no error, the request had no credentials)."""
    from .bearer import www_authenticate  # noqa: PLC0415 - one quoting and description rule

    algs = sorted(set(algorithms))
    if not algs or not all(isinstance(a, str) and _ALG.fullmatch(a) for a in algs):
        raise ConfigurationError("algorithms must name at least one algorithm")
    shown = None if isinstance(error, MissingToken) else error
    _, headers = www_authenticate(shown, realm=realm, describe=describe)
    bearer = next(value for name, value in headers if name == "WWW-Authenticate")
    return f'DPoP {bearer.removeprefix("Bearer ")}, algs="{" ".join(algs)}"'
