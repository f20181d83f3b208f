"""Resource indicators (RFC 8707): the one spelling of a resource server's URL, used as ``aud``.

A client asks the authorization server for a token *for a resource* (RFC 8707 ``resource=``;
MCP clients always do), and the authorization server writes that URL into the token's ``aud``.
A resource server then accepts only tokens whose ``aud`` names it. :func:`canonical_resource`
gives the spelling to configure (``Validator(..., audience=canonical_resource(url))``) and to
publish as ``resource`` in the RFC 9728 metadata; :func:`resource_metadata_url` derives where
that metadata is served (RFC 9728 §3.1).

The validator compares ``aud`` as a plain string (RFC 7519 §4.1.3 and §2 "StringOrURI": no
transformation or canonicalisation), so a token whose ``aud`` is another spelling of the same
URL (``https://API.example.com:443/mcp``) is refused, on purpose: see ``docs/policy.md``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

from .._http import is_loopback_host
from ..errors import ConfigurationError

__all__ = ["RESOURCE_METADATA_PATH", "canonical_resource", "resource_metadata_url"]

RESOURCE_METADATA_PATH: Final = "/.well-known/oauth-protected-resource"
"""The well-known path of RFC 9728 Protected Resource Metadata (§3)."""

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_HOST: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_PATH: Final = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*", re.ASCII)
_MAX_LENGTH: Final = 2048


def canonical_resource(url: str, *, allow_loopback_http: bool = False) -> str:
    """The canonical form of resource server URL ``url``: what its tokens' ``aud`` must be.

    Lower-case scheme and host, no default port (``:443``), the path exactly as given (no
    trailing slash added or removed: ``/mcp`` and ``/mcp/`` are different resources), no
    fragment (RFC 8707 §2 forbids one). Refused with :class:`~tokensmith.ConfigurationError`,
    since none can identify a resource without ambiguity: anything but an absolute ``https``
    URL (plain ``http`` only for a loopback host and only with ``allow_loopback_http=True``,
    for development), user info, a query (RFC 8707 §2: SHOULD NOT; it would make two
    spellings of one resource), ``.`` or ``..`` path segments, characters RFC 3986 does not
    allow unencoded, a host that is not an ASCII DNS name or IP address (write IDNs in their
    ``xn--`` form), port 0.

    :param url: the URL clients use to reach the resource (for an MCP server, its endpoint,
        e.g. ``https://mcp.example.com/mcp``).
    :param allow_loopback_http: accept ``http://127.0.0.1:8000/mcp`` and the like; never a
        non-loopback ``http`` URL.
    """
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigurationError("a resource indicator must be an absolute https URL")
    host = _host(parts)
    if scheme == "http" and not (allow_loopback_http and is_loopback_host(host)):
        raise ConfigurationError(
            "a resource indicator must use https (plain http only for a loopback host, with "
            "allow_loopback_http=True)"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigurationError("a resource indicator may not carry user info")
    if parts.query or "?" in url:
        raise ConfigurationError("a resource indicator may not have a query (RFC 8707 §2)")
    if parts.fragment or "#" in url:
        raise ConfigurationError("a resource indicator may not have a fragment (RFC 8707 §2)")
    port = _port(parts)
    path = parts.path
    if _PATH.fullmatch(path) is None:
        raise ConfigurationError(
            "a resource indicator's path may hold RFC 3986 path characters only "
            "(percent-encode the others)"
        )
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ConfigurationError("a resource indicator's path may not have . or .. segments")
    shown_port = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    shown_host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown_host}{shown_port}{path}"


def resource_metadata_url(resource: str, *, allow_loopback_http: bool = False) -> str:
    """Where the RFC 9728 metadata of ``resource`` is served (RFC 9728 §3.1).

    ``/.well-known/oauth-protected-resource`` goes between the host and the path, so
    ``https://api.example.com/mcp`` is described at
    ``https://api.example.com/.well-known/oauth-protected-resource/mcp``; a resource without
    a path (or the path ``/``) gets the bare well-known URL. ``resource`` is first made
    canonical (:func:`canonical_resource`).
    """
    canonical = canonical_resource(resource, allow_loopback_http=allow_loopback_http)
    parts = urlsplit(canonical)
    path = "" if parts.path == "/" else parts.path
    return f"{parts.scheme}://{parts.netloc}{RESOURCE_METADATA_PATH}{path}"


def _split(url: object) -> SplitResult:
    if (
        not isinstance(url, str)
        or not url
        or len(url) > _MAX_LENGTH
        or not url.isascii()
        or not url.isprintable()
        or any(c.isspace() for c in url)
    ):
        raise ConfigurationError(
            "a resource indicator must be a non-empty URL of printable ASCII, no whitespace"
        )
    try:
        return urlsplit(url)
    except ValueError:
        raise ConfigurationError("a resource indicator must be a valid URL") from None


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if parts.netloc.startswith("[") or ":" in host:
        if "%" in host:
            raise ConfigurationError("a resource indicator's host may not have a zone id")
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigurationError("a resource indicator's IPv6 host is not valid") from None
        return address.compressed
    if _HOST.fullmatch(host) is None:
        raise ConfigurationError(
            "a resource indicator needs a host: an ASCII DNS name or an IP address"
        )
    return host


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError("a resource indicator's port is not valid") from None
    if port == 0 or parts.netloc.endswith(":"):
        raise ConfigurationError("a resource indicator's port is not valid")
    return port
