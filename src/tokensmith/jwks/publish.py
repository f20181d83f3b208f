"""Publishing keys: the JWKS document an issuer serves, with the caching headers it needs.

An issuer's ``/jwks.json`` must tell validators how long they may cache it. Too long, and a
key published ahead of a rotation reaches them too late; so :func:`jwks_response` caps
``Cache-Control: max-age`` at half the store's ``publish_ahead`` (room for one intermediate
cache such as a CDN, which can double the age a validator sees). The document is re-checked
for private members before it leaves the process, whatever the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from .._b64 import b64url_encode
from .._http import check_url, is_downgrade
from .._options import integer, seconds
from ..errors import ConfigurationError, KeyMaterialError
from .document import PRIVATE_MEMBERS

if TYPE_CHECKING:
    from ..stores.base import KeyStore

__all__ = [
    "DEFAULT_JWKS_MAX_AGE",
    "JWKS_CONTENT_TYPE",
    "JWKSResponse",
    "authorization_server_metadata",
    "jwks_response",
]

JWKS_CONTENT_TYPE: Final = "application/jwk-set+json"
"""The registered media type of a JWK Set (RFC 7517 §8.5)."""

DEFAULT_JWKS_MAX_AGE: Final = 300
"""``max-age`` (seconds) when the store has no rotation policy to derive a safe bound from."""

_CONTENT_TYPES: Final = frozenset({JWKS_CONTENT_TYPE, "application/json"})


@dataclass(frozen=True, slots=True)
class JWKSResponse:
    """A JWKS ready to serve: the exact body bytes and the headers to send with them.

    ``etag`` is strong (a hash of the body), so :meth:`not_modified` can answer a conditional
    request with 304 and validators refresh for a few bytes.
    """

    body: bytes
    headers: Mapping[str, str]
    document: Mapping[str, Any] = field(repr=False)
    max_age: int
    etag: str

    def not_modified(self, if_none_match: str | None) -> bool:
        """True when a request's ``If-None-Match`` names this body: answer 304, no body."""
        if not if_none_match:
            return False
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or self.etag in tags or f"W/{self.etag}" in tags


def jwks_response(
    store: KeyStore, *, max_age: int | None = None, content_type: str = JWKS_CONTENT_TYPE
) -> JWKSResponse:
    """The public JWKS of ``store`` with ``Content-Type``, ``Cache-Control`` and ``ETag``.

    ``max_age`` (seconds) is capped at half the store's ``policy.publish_ahead`` so every
    validator sees a successor key before it signs; a store without a policy gets
    :data:`DEFAULT_JWKS_MAX_AGE` at most. A key carrying private members (or an HMAC key)
    raises :class:`~tokensmith.errors.KeyMaterialError`: it is never published.
    """
    jwks = getattr(store, "jwks", None)
    if not callable(jwks):
        raise ConfigurationError("store must provide jwks()")
    if content_type not in _CONTENT_TYPES:
        raise ConfigurationError(
            "content_type must be application/jwk-set+json or application/json"
        )
    cap = _max_age_cap(getattr(store, "policy", None))
    if max_age is not None:
        cap = min(cap, integer("max_age", max_age, minimum=0))
    document = jwks()
    _check_public(document)
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
    etag = f'"{b64url_encode(hashlib.sha256(body).digest()[:18])}"'
    headers = {
        "Content-Type": content_type,
        "Cache-Control": f"public, max-age={cap}",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    return JWKSResponse(
        body=body,
        headers=MappingProxyType(headers),
        document=MappingProxyType(document),
        max_age=cap,
        etag=etag,
    )


def _max_age_cap(policy: object) -> int:
    publish_ahead = getattr(policy, "publish_ahead", None) if policy is not None else None
    if publish_ahead is None:
        return DEFAULT_JWKS_MAX_AGE
    ahead = seconds("the store's policy.publish_ahead", publish_ahead, positive=True)
    return max(int(ahead // 2), 0)


def _check_public(document: object) -> None:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyMaterialError("the store's jwks() is not a JWK Set")
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            raise KeyMaterialError("the store's jwks() holds a member that is not a JWK")
        if jwk.get("kty") == "oct" or not PRIVATE_MEMBERS.isdisjoint(jwk):
            kid = str(jwk.get("kid"))[:64]
            raise KeyMaterialError(f"refusing to publish private or secret key material ({kid!r})")


def authorization_server_metadata(issuer: str, jwks_uri: str, /, **extra: Any) -> dict[str, Any]:
    """The ``issuer`` / ``jwks_uri`` fragment of RFC 8414 / OpenID Connect Discovery metadata.

    Serve it (merged with your other metadata, passed as ``extra``) at
    ``/.well-known/oauth-authorization-server`` or ``/.well-known/openid-configuration``.
    Both URLs must be https (plain http only on loopback, for development, and a plain http
    ``jwks_uri`` only for a plain http issuer: discovery refuses the downgrade); the issuer has
    no query or fragment (RFC 8414 §2). ``extra`` may not override either member.
    """
    parts = check_url(issuer, "issuer")
    if parts.query or "?" in issuer:
        raise ConfigurationError("issuer may not have a query (RFC 8414 §2)")
    if is_downgrade(issuer, check_url(jwks_uri, "jwks_uri")):
        raise ConfigurationError("an https issuer may not publish a plain http jwks_uri")
    clash = {"issuer", "jwks_uri"}.intersection(extra)
    if clash:
        raise ConfigurationError(f"extra metadata may not override {sorted(clash)}")
    return {"issuer": issuer, "jwks_uri": jwks_uri, **extra}
