"""Token endpoint client authentication: one entry point for every registered method.

A client is registered for exactly one ``token_endpoint_auth_method`` (RFC 7591 §2):

* ``client_secret_basic`` (RFC 6749 §2.3.1): id and secret in ``Authorization: Basic``,
  form-urlencoded first (:mod:`tokensmith.oauth.basic_auth`);
* ``client_secret_post``: ``client_id`` and ``client_secret`` in the POST body;
* ``private_key_jwt`` (RFC 7523): a signed ``client_assertion``
  (:func:`~tokensmith.oauth.authenticate_client`);
* ``tls_client_auth`` and ``self_signed_tls_client_auth`` (RFC 8705 §2): the certificate of
  the mutual-TLS connection (:mod:`tokensmith.oauth.tls_client_auth`);
* ``none``: a public client that only names itself (never for the client-credentials grant).

:meth:`ClientAuthenticator.authenticate` finds out which method the request uses, refuses a
request that uses more than one (RFC 6749 §2.3), looks the client up in your
:class:`ClientRegistry`, refuses a method the client is not registered for, and returns the
authenticated :class:`~tokensmith.oauth.Client`. Secrets are stored only as scrypt hashes
(:mod:`tokensmith.oauth.client_secrets`); every secret-based attempt costs exactly one scrypt
computation, against a dummy hash when the client is unknown or registered for another
method, so response times do not tell which client ids exist.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final, Protocol, runtime_checkable

from cryptography import x509

from ..errors import (
    BackendUnavailable,
    ClientAuthMethodNotRegistered,
    ClientSecretMismatch,
    ConfigurationError,
    ConflictingClientCredentials,
    InvalidClient,
    InvalidRequest,
    MissingClientCredentials,
    TokenError,
    TokensmithError,
    UnknownClient,
)
from ..keys import ASYMMETRIC_ALGORITHMS
from ..policy import DEFAULT_LEEWAY
from ..replay.base import JtiReplayStore
from .assertions import MAX_ASSERTION_LIFETIME, authenticate_client, unverified_client_id
from .basic_auth import parse_basic_authorization
from .client_credentials import Client
from .client_secrets import (
    client_secret_needs_rehash,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from .params import request_param
from .tls_client_auth import TLSClientAuth, check_self_signed_certificate

__all__ = [
    "TOKEN_ENDPOINT_AUTH_METHODS",
    "ClientAuthenticator",
    "ClientRegistration",
    "ClientRegistry",
    "MemoryClientRegistry",
]

TOKEN_ENDPOINT_AUTH_METHODS: Final = frozenset(
    {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "none",
    }
)
"""The ``token_endpoint_auth_method`` values a :class:`ClientRegistration` may have."""

_SECRET_METHODS: Final = frozenset({"client_secret_basic", "client_secret_post"})


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """What the token endpoint knows about a client: who it is and how it authenticates.

    :param client: the client (scopes, audience, grants) returned once it is authenticated.
    :param auth_method: its ``token_endpoint_auth_method``, one of
        :data:`TOKEN_ENDPOINT_AUTH_METHODS`.
    :param secret_hash: for ``client_secret_basic`` / ``client_secret_post``: the string
        :func:`~tokensmith.oauth.hash_client_secret` made (never the secret).
    :param keys: for ``private_key_jwt``: the client's public keys (a
        :class:`~tokensmith.KeySource`, e.g. a ``MemoryKeyStore`` or a ``RemoteJWKS``).
    :param tls_client_auth: for ``tls_client_auth``: the registered certificate identifier.
    :param certificate_thumbprints: for ``self_signed_tls_client_auth``: the ``x5t#S256`` of
        the registered certificates
        (:func:`~tokensmith.oauth.registered_certificate_thumbprints` reads them from a JWKS).

    Exactly the credential the method needs must be given; a mismatch is a
    :class:`~tokensmith.errors.ConfigurationError`, as is a public (``none``) client allowed
    the client-credentials grant (RFC 6749 §4.4: confidential clients only).
    """

    client: Client
    auth_method: str
    secret_hash: str | None = field(default=None, repr=False)
    keys: Any = field(default=None, repr=False)
    tls_client_auth: TLSClientAuth | None = None
    certificate_thumbprints: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.client, Client):
            raise ConfigurationError("client must be a Client")
        if self.auth_method not in TOKEN_ENDPOINT_AUTH_METHODS:
            raise ConfigurationError("auth_method must be one of TOKEN_ENDPOINT_AUTH_METHODS")
        thumbprints = self.certificate_thumbprints
        if isinstance(thumbprints, str) or not all(isinstance(t, str) for t in thumbprints):
            raise ConfigurationError("certificate_thumbprints must be x5t#S256 strings")
        object.__setattr__(self, "certificate_thumbprints", frozenset(thumbprints))
        given = {
            "client_secret": self.secret_hash is not None,
            "private_key_jwt": self.keys is not None,
            "tls_client_auth": self.tls_client_auth is not None,
            "self_signed_tls_client_auth": bool(self.certificate_thumbprints),
        }
        needed = "client_secret" if self.auth_method in _SECRET_METHODS else self.auth_method
        if any(given.values()) and [k for k, v in given.items() if v] != [needed]:
            raise ConfigurationError(f"a {self.auth_method} client takes only its own credential")
        if needed in given and not given[needed]:
            raise ConfigurationError(f"a {self.auth_method} client needs its credential")
        if self.secret_hash is not None:
            client_secret_needs_rehash(self.secret_hash)  # refuses anything not ours
        if self.tls_client_auth is not None and not isinstance(self.tls_client_auth, TLSClientAuth):
            raise ConfigurationError("tls_client_auth must be a TLSClientAuth")
        if self.auth_method == "none" and "client_credentials" in self.client.grant_types:
            raise ConfigurationError("a public client may not use the client_credentials grant")

    @property
    def client_id(self) -> str:
        """The registered client's id."""
        return self.client.client_id


@runtime_checkable
class ClientRegistry(Protocol):
    """Where the token endpoint looks clients up (your database, in production)."""

    def registration(self, client_id: str) -> ClientRegistration | None:
        """The client registered as ``client_id``, or ``None`` when there is none."""
        ...


class MemoryClientRegistry:
    """A fixed set of registrations in memory (tests, or clients configured in code)."""

    def __init__(self, registrations: Iterable[ClientRegistration]) -> None:
        self._registrations: dict[str, ClientRegistration] = {}
        for registration in registrations:
            if not isinstance(registration, ClientRegistration):
                raise ConfigurationError("registrations must be ClientRegistration objects")
            if registration.client_id in self._registrations:
                raise ConfigurationError("two registrations share a client_id")
            self._registrations[registration.client_id] = registration

    def registration(self, client_id: str) -> ClientRegistration | None:
        """The client registered as ``client_id``, or ``None``."""
        return self._registrations.get(client_id)

    def methods(self) -> frozenset[str]:
        """Every ``auth_method`` some registered client uses."""
        return frozenset(r.auth_method for r in self._registrations.values())


class ClientAuthenticator:
    """Authenticates token-endpoint requests by whatever method each client is registered for.

    :param registry: your :class:`ClientRegistry` (or a :class:`MemoryClientRegistry`).
    :param token_endpoint: the token endpoint URL, the ``aud`` of ``private_key_jwt``
        assertions; with ``replay_store`` (a :class:`~tokensmith.replay.JtiReplayStore`), needed
        only when some client uses ``private_key_jwt``.
    :param issuer: your issuer identifier, accepted as an assertion ``aud`` too.
    :param clock: the time source for assertions.
    :param leeway: clock skew allowed on assertions (seconds).
    :param max_lifetime: longest assertion lifetime accepted (seconds).
    :param algorithms: assertion algorithms (public-key ones by default).
    """

    def __init__(
        self,
        registry: ClientRegistry,
        *,
        token_endpoint: str | None = None,
        replay_store: JtiReplayStore | None = None,
        issuer: str | None = None,
        clock: Callable[[], float] = time.time,
        leeway: float = DEFAULT_LEEWAY,
        max_lifetime: float = MAX_ASSERTION_LIFETIME,
        algorithms: Iterable[str] = ASYMMETRIC_ALGORITHMS,
    ) -> None:
        if not isinstance(registry, ClientRegistry):
            raise ConfigurationError("registry must provide registration(client_id)")
        if (token_endpoint is None) != (replay_store is None):
            raise ConfigurationError("give token_endpoint and replay_store together")
        if (
            isinstance(registry, MemoryClientRegistry)
            and token_endpoint is None
            and "private_key_jwt" in registry.methods()
        ):
            raise ConfigurationError("private_key_jwt clients need token_endpoint")
        _dummy_hash()  # computed now, so no request pays for it
        self._registry = registry
        self._token_endpoint = token_endpoint
        self._replay_store = replay_store
        self._assertion_options: dict[str, Any] = {
            "issuer": issuer,
            "clock": clock,
            "leeway": leeway,
            "max_lifetime": max_lifetime,
            "algorithms": tuple(algorithms),
        }

    def authenticate(
        self,
        params: Mapping[str, Any],
        *,
        http_method: str,
        authorization: str | None = None,
        client_certificate: x509.Certificate | bytes | None = None,
    ) -> Client:
        """The authenticated client of a token request; raises on any failure.

        :param params: the request's form body (as for :func:`~tokensmith.oauth.request_param`;
            never the query string: RFC 6749 §2.3.1 forbids secrets in the URI).
        :param http_method: the request's method; only ``POST`` is accepted (RFC 6749 §3.2).
        :param authorization: the ``Authorization`` header value, if any.
        :param client_certificate: the certificate of the mutual-TLS connection, if any (a
            :class:`cryptography.x509.Certificate` or DER bytes), for the RFC 8705 methods.

        Raises :class:`~tokensmith.errors.InvalidClient` subclasses (401; after a ``Basic``
        attempt they carry ``auth_scheme="Basic"``, so
        :func:`~tokensmith.oauth.error_response` adds the challenge):
        :class:`~tokensmith.errors.UnknownClient`,
        :class:`~tokensmith.errors.ClientSecretMismatch`,
        :class:`~tokensmith.errors.MalformedClientCredentials`,
        :class:`~tokensmith.errors.MissingClientCredentials`,
        :class:`~tokensmith.errors.ClientAuthMethodNotRegistered`,
        :class:`~tokensmith.errors.ClientCertificateMismatch`, and
        :class:`~tokensmith.errors.InvalidClient` itself for a refused ``private_key_jwt``
        assertion (the reason is its ``__cause__``). A request with two methods (or two client
        ids) is :class:`~tokensmith.errors.ConflictingClientCredentials` (400
        ``invalid_request``), as is any :class:`~tokensmith.errors.InvalidRequest`. A registry
        that fails is :class:`~tokensmith.errors.BackendUnavailable`.
        """
        if not isinstance(http_method, str) or http_method.upper() != "POST":
            raise InvalidRequest("the token endpoint accepts only POST (RFC 6749 §3.2)")
        claimed = request_param(params, "client_id")
        secret = request_param(params, "client_secret")
        assertion = (
            request_param(params, "client_assertion") is not None
            or request_param(params, "client_assertion_type") is not None
        )
        if [authorization is not None, secret is not None, assertion].count(True) > 1:
            raise ConflictingClientCredentials("more than one client authentication method")
        if authorization is not None:
            client_id, basic_secret = parse_basic_authorization(authorization)
            if claimed is not None and claimed != client_id:
                raise ConflictingClientCredentials("client_id is not the Basic client id")
            return self._by_secret(client_id, basic_secret, "client_secret_basic")
        if secret is not None:
            if claimed is None:
                raise InvalidRequest("client_secret_post needs the client_id parameter")
            return self._by_secret(claimed, secret, "client_secret_post")
        if assertion:
            return self._by_assertion(params, claimed)
        if claimed is None:
            raise MissingClientCredentials("the request carries no client authentication")
        return self._by_identity(claimed, client_certificate)

    async def aauthenticate(
        self,
        params: Mapping[str, Any],
        *,
        http_method: str,
        authorization: str | None = None,
        client_certificate: x509.Certificate | bytes | None = None,
    ) -> Client:
        """:meth:`authenticate` for an async token endpoint, run in a worker thread.

        A secret check is tens of milliseconds of scrypt (which releases the GIL) and the
        registry and replay store are synchronous: on the event loop they would stall every
        other request. Same arguments, result and exceptions as :meth:`authenticate`; the
        threads come from the loop's default executor, which bounds how many run at once.
        """
        return await asyncio.to_thread(
            self.authenticate,
            params,
            http_method=http_method,
            authorization=authorization,
            client_certificate=client_certificate,
        )

    def _lookup(self, client_id: str) -> ClientRegistration | None:
        try:
            found = self._registry.registration(client_id)
        except TokensmithError:
            raise
        except Exception as exc:  # a failing registry must answer 503, not crash or say 401
            raise BackendUnavailable(
                f"the client registry failed with {type(exc).__name__}"
            ) from exc
        if found is not None and not (
            isinstance(found, ClientRegistration) and found.client_id == client_id
        ):
            raise BackendUnavailable("the client registry returned another client or object")
        return found

    def _by_secret(self, client_id: str, secret: str, method: str) -> Client:
        scheme = "Basic" if method == "client_secret_basic" else None
        registration = self._lookup(client_id)
        stored = None
        if registration is not None and registration.auth_method == method:
            stored = registration.secret_hash
        matched = verify_client_secret(stored or _dummy_hash(), secret)  # always one scrypt
        if registration is None:
            raise UnknownClient("no client has this client_id", auth_scheme=scheme)
        if stored is None:
            raise ClientAuthMethodNotRegistered(
                f"the client is not registered for {method}", auth_scheme=scheme
            )
        if not matched:
            raise ClientSecretMismatch("the client secret is wrong", auth_scheme=scheme)
        return registration.client

    def _by_assertion(self, params: Mapping[str, Any], claimed: str | None) -> Client:
        try:
            client_id = claimed or unverified_client_id(request_param(params, "client_assertion"))
        except TokenError as exc:
            raise InvalidClient("client authentication failed") from exc
        registration = self._lookup(client_id)
        if registration is None:
            raise UnknownClient("no client has this client_id")
        if registration.auth_method != "private_key_jwt":
            raise ClientAuthMethodNotRegistered("the client is not registered for private_key_jwt")
        if self._token_endpoint is None or self._replay_store is None:
            raise ConfigurationError("private_key_jwt clients need token_endpoint and replay_store")
        keys = registration.keys
        authenticate_client(
            params,
            client_keys=lambda cid: keys if cid == client_id else None,
            token_endpoint=self._token_endpoint,
            replay_store=self._replay_store,
            **self._assertion_options,
        )
        return registration.client

    def _by_identity(self, client_id: str, certificate: x509.Certificate | bytes | None) -> Client:
        registration = self._lookup(client_id)
        if registration is None:
            raise UnknownClient("no client has this client_id")
        method = registration.auth_method
        if method == "tls_client_auth":
            assert registration.tls_client_auth is not None  # ClientRegistration checks it
            registration.tls_client_auth.check(certificate)
        elif method == "self_signed_tls_client_auth":
            check_self_signed_certificate(registration.certificate_thumbprints, certificate)
        elif method != "none":
            raise MissingClientCredentials(f"a {method} client sent no credentials")
        return registration.client


@cache
def _dummy_hash() -> str:
    """A hash of a random secret, to verify against when there is no registered one."""
    return hash_client_secret(generate_client_secret())
