"""The ``Set-Cookie`` rules both cookie kinds follow: token cookies (:mod:`.cookies`) and CSRF
cookies (:mod:`.csrf`). RFC 6265 §4.1.1 syntax; the ``__Host-`` prefix rules of RFC 6265bis
§4.1.3.2.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from .._options import integer
from .._text import HTTP_TOKEN
from ..errors import ConfigurationError

__all__ = ["SameSite", "set_cookie"]

SameSite = Literal["Strict", "Lax"]
"""The ``SameSite`` values tokensmith writes (``None`` would send the cookie cross-site)."""

# RFC 6265 §4.1.1 cookie-octet
_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*", re.ASCII)
_PATH_VALUE: Final = re.compile(r"/[\x20-\x3A\x3C-\x7E]*", re.ASCII)
_DOMAIN_VALUE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?", re.ASCII)


def set_cookie(
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
    """The ``Set-Cookie`` value for ``name=value``: always ``Secure``, ``HttpOnly`` when asked,
    ``__Host-`` rules enforced; anything a cookie cannot carry is a ConfigurationError (whose
    message never contains the value)."""
    if not isinstance(name, str) or HTTP_TOKEN.fullmatch(name) is None:
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
