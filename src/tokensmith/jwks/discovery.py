"""Find an issuer's JWKS from its issuer URL (OpenID Connect Discovery / RFC 8414).

The metadata document is trusted only if its ``issuer`` is exactly the issuer asked for
(OpenID Connect Discovery §4.3, RFC 8414 §3.3): otherwise an attacker who can serve a metadata
document (or a misconfigured proxy) could point validators at keys of another issuer. Every URL
taken from the metadata is held to the issuer's own transport security: an https issuer's
metadata may not send us to plain http, not even on loopback (a local process could then serve
the keys); only a loopback http issuer (development) may use a loopback http ``jwks_uri``. The
returned key source is pinned to that issuer, so a :class:`~tokensmith.Validator` built on it
accepts only that ``iss``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any, Final, cast
from urllib.parse import urlunsplit

from .._http import (
    AsyncTransport,
    HTTPResponse,
    StdlibTransport,
    Transport,
    check_url,
    is_downgrade,
)
from .._json import StrictJSONError
from .._json import loads as strict_json
from ..errors import ConfigurationError, DiscoveryError, JWKSFetchError
from .remote import ACCEPTED_CONTENT_TYPES, AsyncRemoteJWKS, RemoteJWKS

__all__ = ["adiscover", "discover", "metadata_urls"]

_MAX_METADATA_BYTES: Final = 64 * 1024
_HEADERS: Final = {"Accept": "application/json"}


def metadata_urls(issuer: str) -> tuple[str, str]:
    """Where the metadata of ``issuer`` lives: OpenID Connect first, then RFC 8414.

    OpenID appends ``/.well-known/openid-configuration`` to the issuer; RFC 8414 inserts
    ``/.well-known/oauth-authorization-server`` between the host and the issuer's path.
    """
    parts = check_url(issuer, "issuer")
    if parts.query or "?" in issuer:
        raise ConfigurationError("issuer may not have a query")
    path = parts.path.rstrip("/")
    openid = urlunsplit(
        (parts.scheme, parts.netloc, f"{path}/.well-known/openid-configuration", "", "")
    )
    oauth = urlunsplit(
        (parts.scheme, parts.netloc, f"/.well-known/oauth-authorization-server{path}", "", "")
    )
    return openid, oauth


def _jwks_uri(response: HTTPResponse, issuer: str, url: str) -> str:
    """Check one metadata response and return its ``jwks_uri``."""
    host = check_url(url).hostname
    if 300 <= response.status < 400:
        raise DiscoveryError(f"{host} answered a redirect; not followed", reason="redirect")
    if response.status != 200:
        raise DiscoveryError(f"{host} answered HTTP {int(response.status)}", reason="http_status")
    if len(response.body) > _MAX_METADATA_BYTES:
        raise DiscoveryError(f"the metadata from {host} is too large", reason="too_large")
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ACCEPTED_CONTENT_TYPES:
        raise DiscoveryError(f"the metadata from {host} is not JSON", reason="content_type")
    try:
        document = strict_json(response.body)
    except StrictJSONError as exc:
        raise DiscoveryError(
            f"the metadata from {host} is not strict JSON: {exc}", reason="invalid_json"
        ) from None
    if not isinstance(document, dict):
        raise DiscoveryError(f"the metadata from {host} is not an object", reason="invalid_shape")
    if document.get("issuer") != issuer:
        raise DiscoveryError(
            f"the metadata from {host} names another issuer", reason="issuer_mismatch"
        )
    return _metadata_url(document, "jwks_uri", issuer, host)


def _metadata_url(document: dict[str, Any], name: str, issuer: str, host: str | None) -> str:
    """The URL member ``name`` of the metadata, held to the issuer's transport security."""
    url = document.get(name)
    if not isinstance(url, str):
        raise DiscoveryError(f"the metadata from {host} has no {name}", reason=f"no_{name}")
    try:
        parts = check_url(url, name)
    except ConfigurationError as exc:
        raise DiscoveryError(f"unusable {name}: {exc.message}", reason=f"no_{name}") from None
    if is_downgrade(issuer, parts):
        raise DiscoveryError(
            f"the metadata of an https issuer points {name} at plain http (loopback included)",
            reason="insecure_url",
        )
    return url


def _fetch_error(exc: Exception) -> DiscoveryError:
    if isinstance(exc, DiscoveryError):
        return exc
    if isinstance(exc, JWKSFetchError):
        return DiscoveryError(exc.message, reason=exc.reason)
    return DiscoveryError(f"the transport failed with {type(exc).__name__}", reason="transport")


def _next(response: HTTPResponse, issuer: str, url: str, last: bool) -> str | None:
    """The jwks_uri, or ``None`` to try the next well-known location (404/410 only)."""
    if response.status in (404, 410) and not last:
        return None
    return _jwks_uri(response, issuer, url)


def discover(
    issuer: str,
    *,
    transport: Transport | None = None,
    timeout: float = 5.0,
    **options: Any,
) -> RemoteJWKS:
    """A :class:`~tokensmith.stores.RemoteJWKS` for ``issuer``, found through its metadata.

    Fetches ``/.well-known/openid-configuration`` (and on 404 the RFC 8414 location), requires
    its ``issuer`` to equal ``issuer`` exactly, and pins the key source to it. ``options`` go
    to :class:`~tokensmith.stores.RemoteJWKS`. Raises
    :class:`~tokensmith.errors.DiscoveryError` (a ``BackendUnavailable``) when the metadata
    cannot be fetched or names another issuer.
    """
    urls = metadata_urls(issuer)
    client: Transport = transport if transport is not None else StdlibTransport()
    jwks_uri: str | None = None
    for index, url in enumerate(urls):
        try:
            response = client.fetch(url, _HEADERS, timeout, _MAX_METADATA_BYTES)
            jwks_uri = _next(response, issuer, url, index == len(urls) - 1)
        except Exception as exc:
            raise _fetch_error(exc) from None
        if jwks_uri is not None:
            break
    return RemoteJWKS(
        cast(str, jwks_uri), issuer=issuer, transport=client, timeout=timeout, **options
    )


async def adiscover(
    issuer: str,
    *,
    transport: AsyncTransport | Transport | None = None,
    timeout: float = 5.0,
    **options: Any,
) -> AsyncRemoteJWKS:
    """The async twin of :func:`discover`: returns an :class:`AsyncRemoteJWKS`."""
    urls = metadata_urls(issuer)
    client: AsyncTransport | Transport = transport if transport is not None else StdlibTransport()
    jwks_uri: str | None = None
    for index, url in enumerate(urls):
        try:
            response = await _afetch(client, url, timeout)
            jwks_uri = _next(response, issuer, url, index == len(urls) - 1)
        except Exception as exc:
            raise _fetch_error(exc) from None
        if jwks_uri is not None:
            break
    return AsyncRemoteJWKS(
        cast(str, jwks_uri), issuer=issuer, transport=client, timeout=timeout, **options
    )


async def _afetch(client: AsyncTransport | Transport, url: str, timeout: float) -> HTTPResponse:
    headers: Mapping[str, str] = _HEADERS
    if inspect.iscoroutinefunction(client.fetch):
        result = await cast(AsyncTransport, client).fetch(
            url, headers, timeout, _MAX_METADATA_BYTES
        )
    else:
        result = await asyncio.to_thread(
            cast(Transport, client).fetch, url, headers, timeout, _MAX_METADATA_BYTES
        )
    if not isinstance(result, HTTPResponse):
        raise DiscoveryError("the transport returned no HTTPResponse", reason="transport")
    return result
