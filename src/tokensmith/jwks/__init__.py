"""JWK Sets: publishing yours, fetching an issuer's, and the one set of rules for reading them.

* :mod:`~tokensmith.jwks.publish` — :func:`jwks_response` (the body and caching headers of your
  JWKS endpoint) and :func:`authorization_server_metadata` (RFC 8414);
* :mod:`~tokensmith.jwks.remote` — :class:`RemoteJWKS` / :class:`AsyncRemoteJWKS`, an issuer's
  keys fetched over HTTPS and cached, as a key source for a :class:`~tokensmith.Validator`,
  and :class:`RemoteJWKSOptions`, the options they (and discovery) take;
* :mod:`~tokensmith.jwks.discovery` — :func:`discover` / :func:`adiscover`: a remote key set
  from an issuer's OpenID Connect or RFC 8414 metadata;
* :mod:`~tokensmith.jwks.document` — the JWK Set parser every way in shares
  (:meth:`KeySet.from_jwks <tokensmith.KeySet.from_jwks>`, the remote key sets, the CLI), and
  :class:`SkippedKey`, the report of a key it left out.

Every name is imported on first use: ``import tokensmith.jwks`` loads no HTTP or TLS code.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .discovery import adiscover as adiscover
    from .discovery import discover as discover
    from .discovery import metadata_urls as metadata_urls
    from .document import DEFAULT_MAX_KEYS as DEFAULT_MAX_KEYS
    from .document import SkippedKey as SkippedKey
    from .publish import DEFAULT_JWKS_MAX_AGE as DEFAULT_JWKS_MAX_AGE
    from .publish import JWKS_CONTENT_TYPE as JWKS_CONTENT_TYPE
    from .publish import JWKSResponse as JWKSResponse
    from .publish import authorization_server_metadata as authorization_server_metadata
    from .publish import jwks_response as jwks_response
    from .remote import ACCEPTED_CONTENT_TYPES as ACCEPTED_CONTENT_TYPES
    from .remote import AsyncRemoteJWKS as AsyncRemoteJWKS
    from .remote import AsyncTransport as AsyncTransport
    from .remote import HTTPResponse as HTTPResponse
    from .remote import RemoteJWKS as RemoteJWKS
    from .remote import RemoteJWKSOptions as RemoteJWKSOptions
    from .remote import StdlibTransport as StdlibTransport
    from .remote import Transport as Transport

_LAZY = {
    "adiscover": ".discovery",
    "discover": ".discovery",
    "metadata_urls": ".discovery",
    "DEFAULT_MAX_KEYS": ".document",
    "SkippedKey": ".document",
    "DEFAULT_JWKS_MAX_AGE": ".publish",
    "JWKS_CONTENT_TYPE": ".publish",
    "JWKSResponse": ".publish",
    "authorization_server_metadata": ".publish",
    "jwks_response": ".publish",
    "ACCEPTED_CONTENT_TYPES": ".remote",
    "AsyncRemoteJWKS": ".remote",
    "AsyncTransport": ".remote",
    "HTTPResponse": ".remote",
    "RemoteJWKS": ".remote",
    "RemoteJWKSOptions": ".remote",
    "StdlibTransport": ".remote",
    "Transport": ".remote",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
