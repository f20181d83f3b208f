"""HTTP around the token, for any framework: plain strings, mappings and ``(name, value)`` pairs.

* :mod:`~tokensmith.web.guard` — :class:`Guard`: one protected resource, framework-free — a
  :class:`RequestFacts` in, a verified token or the RFC 6750 :class:`Answer` out, with
  :class:`TransportSecurity` refusing credentials sent in clear text. Every framework adapter
  (:mod:`tokensmith.integrations`) is a thin layer over it;
* :mod:`~tokensmith.web.bearer` — :func:`bearer_token` / :func:`extract_token` (RFC 6750 §2,
  strictly) and :func:`www_authenticate`, the status and headers answering a refusal (§3);
* :mod:`~tokensmith.web.dpop` — :func:`dpop_token` / :func:`dpop_proof` (RFC 9449 §7.1,
  ``Authorization: DPoP`` and the ``DPoP`` header) and :func:`dpop_challenge`;
* :mod:`~tokensmith.web.client_cert` — :func:`certificate_from_header`: the client
  certificate a TLS-terminating proxy forwards (nginx, RFC 9440, Envoy), for RFC 8705
  certificate-bound tokens (read from trusted proxies only, by :class:`TransportSecurity`);
* :mod:`~tokensmith.web.cookies` — :func:`token_cookie` / :func:`delete_token_cookie`:
  ``HttpOnly; Secure; SameSite`` and ``__Host-`` by default;
* :mod:`~tokensmith.web.csrf` — :class:`CSRFProtector`, signed double-submit CSRF tokens;
* :mod:`~tokensmith.web.netrules` — :class:`NetworkPolicy`: client addresses behind proxies,
  allow/deny rules, tokens bound to networks;
* :mod:`~tokensmith.web.ratelimit` — :func:`client_key`, GCRA limiters (memory, Redis) and
  :class:`RefusalThrottle` against brute force.

Every name is imported on first use. Nothing here logs a token or puts one in a message.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .bearer import DEFAULT_MAX_TOKEN_LENGTH as DEFAULT_MAX_TOKEN_LENGTH
    from .bearer import Headers as Headers
    from .bearer import bearer_token as bearer_token
    from .bearer import extract_token as extract_token
    from .bearer import form_token as form_token
    from .bearer import refuse_query_token as refuse_query_token
    from .bearer import www_authenticate as www_authenticate
    from .client_cert import MAX_CLIENT_CERT_DER as MAX_CLIENT_CERT_DER
    from .client_cert import MAX_CLIENT_CERT_HEADER as MAX_CLIENT_CERT_HEADER
    from .client_cert import ClientCertHeader as ClientCertHeader
    from .client_cert import certificate_from_header as certificate_from_header
    from .cookies import delete_token_cookie as delete_token_cookie
    from .cookies import token_cookie as token_cookie
    from .csrf import CSRFProtector as CSRFProtector
    from .dpop import DPOP_NONCE_HEADER as DPOP_NONCE_HEADER
    from .dpop import dpop_challenge as dpop_challenge
    from .dpop import dpop_proof as dpop_proof
    from .dpop import dpop_token as dpop_token
    from .guard import Answer as Answer
    from .guard import Guard as Guard
    from .guard import ResourceMetadataDocument as ResourceMetadataDocument
    from .guard import TokenValidator as TokenValidator
    from .netrules import DEFAULT_BINDING_CLAIM as DEFAULT_BINDING_CLAIM
    from .netrules import NetworkPolicy as NetworkPolicy
    from .netrules import NetworkRule as NetworkRule
    from .netrules import binding_claims as binding_claims
    from .netrules import client_address as client_address
    from .netrules import forwarded_elements as forwarded_elements
    from .netrules import parse_address as parse_address
    from .ratelimit import AsyncRateLimiter as AsyncRateLimiter
    from .ratelimit import AsyncRedisRateLimiter as AsyncRedisRateLimiter
    from .ratelimit import AsyncRefusalThrottle as AsyncRefusalThrottle
    from .ratelimit import Decision as Decision
    from .ratelimit import MemoryRateLimiter as MemoryRateLimiter
    from .ratelimit import RateLimiter as RateLimiter
    from .ratelimit import RedisRateLimiter as RedisRateLimiter
    from .ratelimit import RefusalThrottle as RefusalThrottle
    from .ratelimit import client_key as client_key
    from .request import RequestFacts as RequestFacts
    from .transport import TransportSecurity as TransportSecurity

_LAZY = {
    "DEFAULT_MAX_TOKEN_LENGTH": ".bearer",
    "Headers": ".bearer",
    "bearer_token": ".bearer",
    "extract_token": ".bearer",
    "form_token": ".bearer",
    "refuse_query_token": ".bearer",
    "www_authenticate": ".bearer",
    "MAX_CLIENT_CERT_DER": ".client_cert",
    "MAX_CLIENT_CERT_HEADER": ".client_cert",
    "ClientCertHeader": ".client_cert",
    "certificate_from_header": ".client_cert",
    "delete_token_cookie": ".cookies",
    "token_cookie": ".cookies",
    "CSRFProtector": ".csrf",
    "DPOP_NONCE_HEADER": ".dpop",
    "dpop_challenge": ".dpop",
    "dpop_proof": ".dpop",
    "dpop_token": ".dpop",
    "Answer": ".guard",
    "Guard": ".guard",
    "ResourceMetadataDocument": ".guard",
    "TokenValidator": ".guard",
    "DEFAULT_BINDING_CLAIM": ".netrules",
    "NetworkPolicy": ".netrules",
    "NetworkRule": ".netrules",
    "binding_claims": ".netrules",
    "client_address": ".netrules",
    "forwarded_elements": ".netrules",
    "parse_address": ".netrules",
    "AsyncRateLimiter": ".ratelimit",
    "AsyncRedisRateLimiter": ".ratelimit",
    "AsyncRefusalThrottle": ".ratelimit",
    "Decision": ".ratelimit",
    "MemoryRateLimiter": ".ratelimit",
    "RateLimiter": ".ratelimit",
    "RedisRateLimiter": ".ratelimit",
    "RefusalThrottle": ".ratelimit",
    "client_key": ".ratelimit",
    "RequestFacts": ".request",
    "TransportSecurity": ".transport",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
