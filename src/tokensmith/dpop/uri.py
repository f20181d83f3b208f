"""The ``htu`` of a DPoP proof (RFC 9449 §4.2, §4.3 item 9): one normal form for both sides.

A proof names the request it was made for by method (``htm``) and URI (``htu``). The URI is
compared the way RFC 9449 §4.3 says: without the query and fragment, with the syntax-based and
scheme-based normalisation of RFC 3986 §6.2.2-6.2.3 that matters here: scheme and host are
case-insensitive, and the default port (80 for http, 443 for https) is the same as no port. The
path is compared exactly (an empty path is ``/``): ``/Orders`` and ``/orders`` are two
resources, and so are ``/a%2Fb`` and ``/a/b``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = ["MAX_HTU_LENGTH", "normalize_htu"]

MAX_HTU_LENGTH: Final = 2048
"""The longest ``htu`` (or request URI) compared; longer ones are refused."""

_DEFAULT_PORTS: Final = {"http": "80", "https": "443"}
_HOST_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%[]:")
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x20\x7f]")


def normalize_htu(uri: str) -> str | None:
    """``scheme://host[:port]/path`` of an absolute http(s) URI, normalised; ``None`` when
    ``uri`` is not one (no scheme or host, user information, a bad port, control characters).

    >>> normalize_htu("HTTPS://Server.Example.COM:443/token?x=1#f")
    'https://server.example.com/token'
    """
    return _normalized(uri) if isinstance(uri, str) else None


@lru_cache(maxsize=1024)  # the few URIs a server serves, and each client's htu: pure, cached
def _normalized(uri: str) -> str | None:
    if not uri or len(uri) > MAX_HTU_LENGTH or not uri.isascii():
        return None
    if _CONTROL_OR_SPACE.search(uri) is not None:
        return None
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    slash = rest.find("/")
    authority, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    host, port = _split_port(authority.lower())
    if host is None or "@" in authority or not host or not set(host) <= _HOST_CHARS:
        return None
    if port == _DEFAULT_PORTS[scheme] or port == "":
        return f"{scheme}://{host}{path}"
    return f"{scheme}://{host}:{port}{path}"


def _split_port(authority: str) -> tuple[str | None, str]:
    """``(host, port)`` of an authority; ``(None, "")`` for a port that is not 1-65535."""
    if authority.startswith("["):  # an IPv6 literal
        end = authority.find("]")
        if end < 0:
            return None, ""
        host, tail = authority[: end + 1], authority[end + 1 :]
        if not tail:
            return host, ""
        if not tail.startswith(":"):
            return None, ""
        port = tail[1:]
    else:
        host, _, port = authority.partition(":")
    if not port:
        return host, ""
    if not port.isdigit() or len(port) > 5 or not 0 < int(port) <= 65535:
        return None, ""
    return host, str(int(port))
