"""JWT client assertions (RFC 7523 §2.2 / §3, OpenID Connect ``private_key_jwt``).

A client proves who it is by signing a short-lived JWT with ``iss == sub == client_id``, the
token endpoint as ``aud`` and a single-use ``jti``. The server validates it with the core
:class:`~tokensmith.Validator` (signature, ``iss``, ``aud``, ``exp``, ``typ``), then checks
``sub``, the lifetime, and finally spends the ``jti`` in a :class:`JtiReplayStore`, so that an
assertion captured in transit cannot be replayed. Only an assertion that passed every other
check spends a ``jti``; the store therefore holds only genuine, short-lived entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from .._b64 import b64url_decode
from .._jws import json_object
from .._options import seconds
from ..claims import VerifiedToken
from ..errors import (
    ConfigurationError,
    InvalidClaim,
    InvalidClient,
    InvalidRequest,
    MalformedToken,
    ReplayedToken,
    TokenError,
    TokenTooOld,
)
from ..keys import ASYMMETRIC_ALGORITHMS, Key
from ..keyset import KeySet
from ..policy import DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE
from ..replay.base import JtiReplayStore
from ..signer import Signer
from ..stores.memory import MemoryKeyStore
from ..validator import Validator
from .params import request_param

__all__ = [
    "ASSERTION_TOKEN_TYPES",
    "CLIENT_ASSERTION_TYPE",
    "MAX_ASSERTION_LIFETIME",
    "authenticate_client",
    "create_client_assertion",
    "unverified_client_id",
    "validate_client_assertion",
]

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` form value for JWT client assertions (RFC 7523 §2.2)."""

MAX_ASSERTION_LIFETIME: Final = 300.0
"""The longest lifetime (seconds) an assertion may have, when created or validated."""

ASSERTION_TOKEN_TYPES: Final[tuple[str | None, ...]] = (None, "JWT", "client-authentication+jwt")
"""``typ`` values accepted on an assertion: none or ``JWT`` (RFC 7523), and the explicit type
of draft-ietf-oauth-rfc7523bis. ``at+jwt`` is refused, so an access token is never an assertion."""


# --- client side --------------------------------------------------------------------------------


def create_client_assertion(
    key: Key,
    client_id: str,
    token_endpoint: str,
    *,
    ttl: float = 60,
    clock: Callable[[], float] = time.time,
    token_type: str = "JWT",
) -> str:
    """A signed client assertion for ``client_id`` at ``token_endpoint`` (RFC 7523 §3).

    ``iss`` and ``sub`` are the client id, ``aud`` the token endpoint, ``jti`` 128 random
    bits; ``ttl`` is at most :data:`MAX_ASSERTION_LIFETIME` (default 60 s). Send it as
    ``client_assertion`` with ``client_assertion_type`` = :data:`CLIENT_ASSERTION_TYPE`.
    """
    if not isinstance(key, Key) or not key.can_sign:
        raise ConfigurationError("key must be a private Key")
    for name, value in (("client_id", client_id), ("token_endpoint", token_endpoint)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{name} must be a non-empty string")
    if token_type.lower() == "at+jwt":
        raise ConfigurationError("an assertion is not an access token")
    signer = Signer(
        MemoryKeyStore(KeySet([key]), clock=clock),
        issuer=client_id,
        ttl=ttl,
        max_ttl=MAX_ASSERTION_LIFETIME,
        token_type=token_type,
        clock=clock,
    )
    return signer.issue(client_id, audience=token_endpoint)


# --- server side --------------------------------------------------------------------------------


def unverified_client_id(assertion: object) -> str:
    """The ``iss`` of an assertion, *not verified*: only to look up the client's keys.

    Use it when the request has no ``client_id`` parameter; then validate the assertion with
    :func:`validate_client_assertion`, which checks that very ``iss``. Raises
    :class:`~tokensmith.errors.MalformedToken` (or a subclass) for anything unreadable.
    """
    if not isinstance(assertion, str) or len(assertion) > DEFAULT_MAX_TOKEN_SIZE:
        raise MalformedToken("an assertion must be a compact JWS string")
    parts = assertion.split(".")
    if len(parts) != 3:
        raise MalformedToken("an assertion must be a compact JWS")
    try:
        payload = b64url_decode(parts[1])
    except ValueError:
        raise MalformedToken("the assertion's payload is not base64url") from None
    issuer = json_object(payload, "payload").get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise MalformedToken("the assertion has no 'iss'")
    return issuer


def validate_client_assertion(
    assertion: object,
    *,
    client_keys: Any,
    client_id: str,
    token_endpoint: str,
    replay_store: JtiReplayStore,
    issuer: str | None = None,
    clock: Callable[[], float] = time.time,
    max_lifetime: float = MAX_ASSERTION_LIFETIME,
    leeway: float = DEFAULT_LEEWAY,
    algorithms: Iterable[str] = ASYMMETRIC_ALGORITHMS,
) -> VerifiedToken:
    """Validate a client assertion for ``client_id``; the ``jti`` is spent on success.

    :param client_keys: the client's registered public keys (a
        :class:`~tokensmith.KeySource`, e.g. ``MemoryKeyStore(KeySet([pub]))`` or its JWKS).
    :param token_endpoint: must be in ``aud``; ``issuer`` (the authorization server's issuer
        identifier), when given, is accepted as ``aud`` too.
    :param max_lifetime: ``exp`` may be at most this far in the future (and ``iat``, when
        present, this far in the past); at most :data:`MAX_ASSERTION_LIFETIME`.
    :param algorithms: default: public-key algorithms only (``private_key_jwt``); add an
        ``HS*`` algorithm by name for ``client_secret_jwt``.

    ``replay_store`` decides how long "single use" holds: with
    :class:`~tokensmith.replay.MemoryJtiReplayStore` only until the process restarts; use
    :class:`~tokensmith.replay.SQLiteJtiReplayStore` or
    :class:`~tokensmith.replay.RedisJtiReplayStore` in production.

    Refusals are :class:`~tokensmith.errors.TokenError` subclasses: the core's, plus
    :class:`~tokensmith.errors.InvalidClaim` (``sub`` not the client, lifetime too long) and
    :class:`~tokensmith.errors.ReplayedToken` (``jti`` already spent). A replay-store outage is
    :class:`~tokensmith.errors.BackendUnavailable`.
    """
    if not isinstance(replay_store, JtiReplayStore):
        raise ConfigurationError("replay_store must provide use(issuer, jti, expires_at=)")
    seconds("max_lifetime", max_lifetime, positive=True, maximum=MAX_ASSERTION_LIFETIME)
    if not isinstance(token_endpoint, str) or not token_endpoint:
        raise ConfigurationError("token_endpoint must be a non-empty string")
    audiences = [token_endpoint] if issuer is None else [token_endpoint, issuer]
    validator = Validator(
        client_keys,
        issuer=client_id,
        audience=audiences,
        algorithms=algorithms,
        leeway=leeway,
        required_claims=("sub", "jti"),
        token_types=ASSERTION_TOKEN_TYPES,
        clock=clock,
    )
    if not isinstance(assertion, str | bytes):
        raise MalformedToken("an assertion must be a string")
    token = validator.validate(assertion)
    if token.subject != client_id:
        raise InvalidClaim("an assertion's 'sub' must be the client_id", claim="sub")
    now = clock()
    exp = token.expires_at
    assert exp is not None  # require_exp is on
    if exp - now > max_lifetime + leeway:
        raise InvalidClaim("the assertion's lifetime is too long", claim="exp")
    if token.issued_at is not None and now - token.issued_at > max_lifetime + leeway:
        raise TokenTooOld("the assertion was issued too long ago", claim="iat")
    assert token.jti is not None  # required claim
    if not replay_store.use(client_id, token.jti, expires_at=exp + leeway):
        raise ReplayedToken("this assertion was already used")
    return token


def authenticate_client(
    params: Mapping[str, str],
    *,
    client_keys: Callable[[str], Any],
    token_endpoint: str,
    replay_store: JtiReplayStore,
    **options: Any,
) -> str:
    """Authenticate a token request by its ``client_assertion``; returns the client id.

    ``params`` are the form parameters; ``client_keys(client_id)`` returns that client's
    :class:`~tokensmith.KeySource`, or ``None`` for an unknown client. ``options`` go to
    :func:`validate_client_assertion`. Every failure is
    :class:`~tokensmith.errors.InvalidClient` (HTTP 401, the reason kept as ``__cause__`` for
    your logs) except a wrong ``client_assertion_type``
    (:class:`~tokensmith.errors.InvalidRequest`, as are repeated or non-text parameters), a
    backend outage
    (:class:`~tokensmith.errors.BackendUnavailable`) and configuration mistakes.
    """
    if request_param(params, "client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise InvalidRequest("client_assertion_type must be the RFC 7523 JWT bearer type")
    assertion = request_param(params, "client_assertion")
    claimed = request_param(params, "client_id")
    try:
        client_id = unverified_client_id(assertion)
        if claimed is not None and claimed != client_id:
            raise InvalidClaim("client_id does not match the assertion", claim="iss")
        keys = client_keys(client_id)
        if keys is None:
            raise InvalidClient("unknown client")
        validate_client_assertion(
            assertion,
            client_keys=keys,
            client_id=client_id,
            token_endpoint=token_endpoint,
            replay_store=replay_store,
            **options,
        )
    except TokenError as exc:
        raise InvalidClient("client authentication failed") from exc
    return client_id
