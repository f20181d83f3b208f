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

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlunsplit

from .._http import (
    AsyncTransport,
    HTTPResponse,
    Transport,
    afetch,
    any_transport,
    blocking_transport,
    check_url,
    is_downgrade,
    json_body,
)
from .._json import StrictJSONError
from .._json import loads as strict_json
from ..errors import ConfigurationError, DiscoveryError, JWKSFetchError
from ._remote_config import Config
from .remote import AsyncRemoteJWKS, RemoteJWKS

if TYPE_CHECKING:  # annotations only
    from typing_extensions import Unpack

    from ._remote_config import RemoteJWKSOptions

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


class _Lookup:
    """The sans-I/O side of one discovery: where to ask, and what each answer means.

    Built before any request, so every option of the key source to be is checked first (the
    metadata URL stands in for the ``jwks_uri`` not known yet). The faces fetch
    :attr:`urls` in order and hand each outcome to :meth:`jwks_uri` until it answers.
    """

    __slots__ = ("issuer", "timeout", "urls")

    def __init__(self, issuer: str, options: RemoteJWKSOptions) -> None:
        self.urls = metadata_urls(issuer)
        self.issuer = issuer
        self.timeout = Config(self.urls[0], issuer, **options).timeout

    def jwks_uri(self, index: int, outcome: object) -> str | None:
        """The ``jwks_uri`` from the answer of ``urls[index]`` (a response, or the exception
        its fetch raised), or ``None`` to try the next location (404/410 only)."""
        url = self.urls[index]
        try:
            if isinstance(outcome, Exception):
                raise outcome
            if not isinstance(outcome, HTTPResponse):
                raise DiscoveryError("the transport returned no HTTPResponse", reason="transport")
            if outcome.status in (404, 410) and index < len(self.urls) - 1:
                return None
            return _jwks_uri(outcome, self.issuer, url)
        except Exception as exc:
            raise _fetch_error(exc) from None


def _jwks_uri(response: HTTPResponse, issuer: str, url: str) -> str:
    """Check one metadata response and return its ``jwks_uri``."""
    host = check_url(url).hostname
    body = json_body(response, host, _MAX_METADATA_BYTES, "the metadata", DiscoveryError)
    try:
        document = strict_json(body)
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


def discover(
    issuer: str,
    *,
    transport: Transport | None = None,
    **options: Unpack[RemoteJWKSOptions],
) -> RemoteJWKS:
    """A :class:`~tokensmith.jwks.RemoteJWKS` for ``issuer``, found through its metadata.

    Fetches ``/.well-known/openid-configuration`` (and on 404 the RFC 8414 location), requires
    its ``issuer`` to equal ``issuer`` exactly, and pins the key source to it. ``options``
    (:class:`~tokensmith.jwks.RemoteJWKSOptions`, checked before the first request) go to
    :class:`~tokensmith.jwks.RemoteJWKS`; their ``timeout`` also bounds each metadata fetch.
    Raises :class:`~tokensmith.errors.DiscoveryError` (a ``BackendUnavailable``) when the
    metadata cannot be fetched or names another issuer.
    """
    client = blocking_transport(transport)
    lookup = _Lookup(issuer, options)
    for index, url in enumerate(lookup.urls):
        outcome: object
        try:
            outcome = client.fetch(url, _HEADERS, lookup.timeout, _MAX_METADATA_BYTES)
        except Exception as exc:
            outcome = exc
        jwks_uri = lookup.jwks_uri(index, outcome)
        if jwks_uri is not None:
            return RemoteJWKS(jwks_uri, issuer=issuer, transport=client, **options)
    raise AssertionError("unreachable: the last location always answers")  # pragma: no cover


async def adiscover(
    issuer: str,
    *,
    transport: AsyncTransport | Transport | None = None,
    **options: Unpack[RemoteJWKSOptions],
) -> AsyncRemoteJWKS:
    """The async twin of :func:`discover`: returns an :class:`AsyncRemoteJWKS`."""
    client = any_transport(transport)
    lookup = _Lookup(issuer, options)
    for index, url in enumerate(lookup.urls):
        outcome: object
        try:
            outcome = await afetch(client, url, _HEADERS, lookup.timeout, _MAX_METADATA_BYTES)
        except Exception as exc:
            outcome = exc
        jwks_uri = lookup.jwks_uri(index, outcome)
        if jwks_uri is not None:
            return AsyncRemoteJWKS(jwks_uri, issuer=issuer, transport=client, **options)
    raise AssertionError("unreachable: the last location always answers")  # pragma: no cover
