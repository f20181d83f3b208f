"""OAuth 2.0 Protected Resource Metadata (RFC 9728): how clients discover who issues tokens for us.

A client refused with 401 reads ``resource_metadata="<url>"`` from the ``WWW-Authenticate``
challenge, fetches that document, and learns which authorization server to ask for a token
(``authorization_servers``) and which scopes exist. MCP clients require it. One
:class:`ProtectedResourceMetadata` is checked once, at start-up, and then:

* passed to :class:`~tokensmith.web.Guard` as ``resource_metadata=``, puts its URL in every
  challenge, and the ASGI and WSGI middleware serve it at its well-known path;
* :meth:`~ProtectedResourceMetadata.answer` is the framework-free handler any route can return.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypedDict
from urllib.parse import urlsplit

from typing_extensions import Unpack

from .._b64 import b64url_encode
from .._http import check_url
from .._options import flag, integer, known, one_or_many, seconds
from .._text import SCOPE_TOKEN
from ..errors import ConfigurationError
from ..web.guard import Answer
from .resource import canonical_resource, resource_metadata_url

if TYPE_CHECKING:
    from ..signer import Signer

__all__ = [
    "BEARER_METHODS",
    "DEFAULT_METADATA_MAX_AGE",
    "ProtectedResourceMetadata",
    "ResourceMetadataMembers",
]

DEFAULT_METADATA_MAX_AGE: Final = 3600
"""``Cache-Control: max-age`` (seconds) of the served document, unless told otherwise."""

BEARER_METHODS: Final = frozenset({"header", "body"})
"""The ``bearer_methods_supported`` a document may name: ``query`` is refused, as tokensmith
refuses tokens in the URL (they end up in logs; RFC 9700 §2.1.2 / RFC 6750 §2.3)."""

_URL_MEMBERS: Final = ("resource_documentation", "resource_policy_uri", "resource_tos_uri")
_FLAG_MEMBERS: Final = (
    "tls_client_certificate_bound_access_tokens",
    "dpop_bound_access_tokens_required",
)
_NAME_LISTS: Final = (
    "resource_signing_alg_values_supported",
    "dpop_signing_alg_values_supported",
    "authorization_details_types_supported",
)


class ResourceMetadataMembers(TypedDict, total=False):
    """The optional members of an RFC 9728 §2 document, under their RFC names.

    ``bearer_methods_supported`` defaults to ``["header"]``; the others are left out unless
    given. URLs must be https (loopback http only with ``allow_loopback_http=True``).
    """

    scopes_supported: Iterable[str]
    bearer_methods_supported: Iterable[str]
    jwks_uri: str
    resource_name: str
    resource_documentation: str
    resource_policy_uri: str
    resource_tos_uri: str
    resource_signing_alg_values_supported: Iterable[str]
    tls_client_certificate_bound_access_tokens: bool
    dpop_bound_access_tokens_required: bool
    dpop_signing_alg_values_supported: Iterable[str]
    authorization_details_types_supported: Iterable[str]


class ProtectedResourceMetadata:
    """A protected resource's RFC 9728 metadata document, checked once, ready to serve.

    :param resource: the resource's URL, made canonical
        (:func:`~tokensmith.oauth.canonical_resource`): the same string its validator takes as
        ``audience``.
    :param authorization_servers: the issuer identifiers of the authorization servers whose
        tokens this resource accepts (at least one: MCP clients need it to find where to ask).
    :param signer: when given, the document also carries ``signed_metadata`` (RFC 9728 §2.2):
        a JWT of its members, ``iss`` the signer's issuer, re-signed when half of ``signed_ttl``
        has passed.
    :param signed_ttl: the lifetime of ``signed_metadata``, in seconds.
    :param max_age: ``Cache-Control: public, max-age=`` of the served document; with a signer,
        at most a quarter of ``signed_ttl`` (a cached copy never outlives its signature).
    :param allow_loopback_http: accept plain http URLs on loopback hosts (development only).
    :param clock: the time source for re-signing.
    :param members: the optional RFC 9728 members (:class:`ResourceMetadataMembers`).
    """

    __slots__ = ("_body", "_clock", "_members", "_refresh_at", "_signer", "_ttl", "max_age",
                 "path", "resource", "url")  # fmt: skip

    def __init__(
        self,
        resource: str,
        *,
        authorization_servers: Iterable[str],
        signer: Signer | None = None,
        signed_ttl: float = 86400,
        max_age: int = DEFAULT_METADATA_MAX_AGE,
        allow_loopback_http: bool = False,
        clock: Callable[[], float] = time.time,
        **members: Unpack[ResourceMetadataMembers],
    ) -> None:
        known("resource metadata", members, ResourceMetadataMembers.__annotations__)
        loopback = flag("allow_loopback_http", allow_loopback_http)
        self.resource = canonical_resource(resource, allow_loopback_http=loopback)
        """The canonical resource identifier (the ``resource`` member)."""
        self.url = resource_metadata_url(self.resource, allow_loopback_http=loopback)
        """Where this document is served (RFC 9728 §3.1): the ``resource_metadata`` URL."""
        self.path = urlsplit(self.url).path
        """The path part of :attr:`url`, which a server routes to :meth:`answer`."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": _issuers(authorization_servers, loopback),
            "bearer_methods_supported": ["header"],
        }
        document.update(_members(members, loopback))
        self._members = MappingProxyType(document)
        self._signer = signer
        self._ttl = seconds("signed_ttl", signed_ttl, minimum=60, maximum=366 * 86400)
        cap = int(self._ttl // 4) if signer is not None else None
        self.max_age = integer("max_age", max_age, minimum=0, maximum=cap)
        """``Cache-Control: max-age`` of :meth:`answer`."""
        self._clock = clock
        self._refresh_at = -float("inf")
        self._body = b""
        self._render()

    def __repr__(self) -> str:
        return f"ProtectedResourceMetadata({self.resource!r}, url={self.url!r})"

    @property
    def document(self) -> Mapping[str, Any]:
        """The document as served (``signed_metadata`` included when signed)."""
        self._render()
        parsed: dict[str, Any] = json.loads(self._body)
        return MappingProxyType(parsed)

    def answer(self, method: str = "GET", *, if_none_match: str | None = None) -> Answer:
        """The HTTP answer to a request for the document: 200 with the JSON body to ``GET``
        (``HEAD``: the same headers, sent without the body by the caller), 304 when
        ``if_none_match`` names the current ``ETag``, 405 with ``Allow`` to other methods.

        Headers: ``Cache-Control: public, max-age=...``, a strong ``ETag``,
        ``X-Content-Type-Options: nosniff`` and ``Access-Control-Allow-Origin: *`` (the
        document is public, and browser-based clients fetch it from another origin). The body
        is ``application/json`` (:attr:`Answer.content_type
        <tokensmith.web.Answer.content_type>`).
        """
        if method not in ("GET", "HEAD"):
            return Answer(405, [("Allow", "GET, HEAD"), ("Cache-Control", "no-store")], b"{}")
        self._render()
        etag = f'"{b64url_encode(hashlib.sha256(self._body).digest()[:18])}"'
        headers = [
            ("Cache-Control", f"public, max-age={self.max_age}"),
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Allow-Origin", "*"),
        ]
        if if_none_match and _matches(if_none_match, etag):
            return Answer(304, headers, b"")
        return Answer(200, headers, self._body)

    def _render(self) -> None:
        """The body, signing the members again once half of the signature's life has gone."""
        now = self._clock()
        if self._body and (self._signer is None or now < self._refresh_at):
            return
        document = dict(self._members)
        if self._signer is not None:
            document["signed_metadata"] = self._signer.issue(
                None, claims=self._members, ttl=self._ttl
            )
            self._refresh_at = now + self._ttl / 2
        self._body = json.dumps(document, separators=(",", ":")).encode("utf-8")


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def _issuers(value: object, loopback: bool) -> list[str]:
    issuers = _strings("authorization_servers", value)
    if not issuers:
        raise ConfigurationError("authorization_servers must name at least one issuer")
    for issuer in issuers:
        _url("authorization_servers", issuer, loopback)
        if "?" in issuer:
            raise ConfigurationError("an authorization server issuer may not have a query")
    return issuers


def _members(members: Mapping[str, Any], loopback: bool) -> dict[str, Any]:
    """The optional members, each checked for its RFC 9728 §2 type."""
    document: dict[str, Any] = {}
    for name, value in members.items():
        if name == "scopes_supported":
            document[name] = _scopes(value)
        elif name == "bearer_methods_supported":
            document[name] = _bearer_methods(value)
        elif name == "jwks_uri" or name in _URL_MEMBERS:
            document[name] = _url(name, value, loopback)
        elif name in _FLAG_MEMBERS:
            document[name] = flag(name, value)
        elif name in _NAME_LISTS:
            document[name] = _names(name, value)
        else:  # resource_name, the only plain text member
            document[name] = _text(name, value)
    return document


def _strings(name: str, value: object) -> list[str]:
    items = one_or_many(name, value)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigurationError(f"{name} must hold non-empty strings")
    return list(dict.fromkeys(str(item) for item in items))


def _url(name: str, value: object, loopback: bool) -> str:
    parts = check_url(value, name)
    if parts.scheme.lower() == "http" and not loopback:
        raise ConfigurationError(f"{name} must use https (loopback http needs allow_loopback_http)")
    return str(value)


def _scopes(value: object) -> list[str]:
    scopes = _strings("scopes_supported", value)
    if not all(SCOPE_TOKEN.fullmatch(scope) for scope in scopes):
        raise ConfigurationError("scopes_supported must hold scope names (RFC 6749 §3.3)")
    return scopes


def _bearer_methods(value: object) -> list[str]:
    methods = _strings("bearer_methods_supported", value)
    if not set(methods) <= BEARER_METHODS:
        raise ConfigurationError(
            "bearer_methods_supported may name 'header' and 'body' only (tokens in the URL "
            "query are refused)"
        )
    return methods


def _names(name: str, value: object) -> list[str]:
    names = _strings(name, value)
    if any(n == "none" or not n.isprintable() or " " in n for n in names):
        raise ConfigurationError(f"{name} must hold algorithm or type names (never 'none')")
    return names


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ConfigurationError(f"{name} must be a non-empty printable string")
    return value  # printable: no lone surrogate either
