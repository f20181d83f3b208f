"""JWT client assertions (RFC 7523 §2.2 / §3, OpenID Connect ``private_key_jwt``).

A client proves who it is by signing a short-lived JWT with ``iss == sub == client_id``, the
token endpoint as ``aud`` and a single-use ``jti``. The server validates it with the core
:class:`~tokensmith.Validator` (signature, ``iss``, ``aud``, ``exp``, ``typ``), then checks
``sub``, the lifetime, and finally spends the ``jti`` in a :class:`JtiReplayStore`, so that an
assertion captured in transit cannot be replayed. Only an assertion that passed every other
check spends a ``jti``; the store therefore holds only genuine, short-lived entries.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

from .._b64 import b64url_decode
from .._redis import check_prefix, connect
from ..claims import VerifiedToken
from ..errors import (
    BackendUnavailable,
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
from ..signer import Signer
from ..stores.memory import MemoryKeyStore
from ..validator import DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, Validator, _json_object
from .params import request_param

__all__ = [
    "ASSERTION_TOKEN_TYPES",
    "CLIENT_ASSERTION_TYPE",
    "MAX_ASSERTION_LIFETIME",
    "JtiReplayStore",
    "MemoryJtiReplayStore",
    "RedisJtiReplayStore",
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


# --- replay stores ------------------------------------------------------------------------------


@runtime_checkable
class JtiReplayStore(Protocol):
    """Remembers spent ``(issuer, jti)`` pairs until their token expires.

    ``use`` must be atomic: of two concurrent calls for one pair, exactly one returns ``True``.
    """

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)``: ``True`` the first time, ``False`` for a replay."""
        ...


def _entry_key(issuer: str, jti: str) -> str:
    """A fixed-size name for the pair; the separator keeps ``("a", "b:c")`` != ``("a:b", "c")``."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()


class MemoryJtiReplayStore:
    """Spent ``jti`` values in process memory; each is forgotten when its token expires.

    For tests and a single process only: a restart forgets every spent ``jti``, so an
    assertion captured in transit can be replayed after a restart, for the rest of its
    lifetime (up to :data:`MAX_ASSERTION_LIFETIME`), and each replica of a server keeps its own
    set. In production use :class:`~tokensmith.oauth.sqlite.SQLiteJtiReplayStore` (one
    machine) or :class:`RedisJtiReplayStore` (several).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)`` until ``expires_at`` (see :class:`JtiReplayStore`)."""
        _check_use(issuer, jti, expires_at)
        key = _entry_key(issuer, jti)
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._entries:
                return False
            until = max(float(expires_at), now + 1.0)
            self._entries[key] = until
            heapq.heappush(self._expiry, (until, key))
            return True

    def _purge(self, now: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            if self._entries.get(key, math.inf) <= now:
                del self._entries[key]

    def __repr__(self) -> str:
        return f"MemoryJtiReplayStore(entries={len(self._entries)})"


class RedisJtiReplayStore:
    """Spent ``jti`` values in Redis, shared by every replica: one ``SET NX PX`` per use.

    The production choice across machines: a replica's restart forgets nothing.

    ``client`` is a ``redis.Redis`` or ``RedisCluster`` client; :meth:`from_url` makes one
    with tokensmith's timeouts. Keys are ``prefix`` + SHA-256 of the pair and expire with the
    token. A Redis error is :class:`~tokensmith.errors.BackendUnavailable` (answer 503): never
    a silent accept.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:jti:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not callable(getattr(client, "set", None)):
            raise ConfigurationError("client must be a redis client")
        self._client = client
        self._prefix = check_prefix(prefix)
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, **options: Any) -> RedisJtiReplayStore:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry; needs the
        ``redis`` extra); ``cluster=True`` makes a ``RedisCluster`` client."""
        client = connect(url, cluster=cluster)
        try:
            return cls(client, **options)
        except BaseException:
            client.close()
            raise

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)`` with ``SET key 1 NX PX ttl`` (see :class:`JtiReplayStore`)."""
        _check_use(issuer, jti, expires_at)
        ttl_ms = max(1000, math.ceil((float(expires_at) - self._clock()) * 1000))
        try:
            created = self._client.set(
                self._prefix + _entry_key(issuer, jti), b"1", nx=True, px=ttl_ms
            )
        except Exception as exc:
            raise BackendUnavailable(f"the replay store failed with {type(exc).__name__}") from exc
        return bool(created)

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisJtiReplayStore(prefix={self._prefix!r})"


def _check_use(issuer: object, jti: object, expires_at: object) -> None:
    if not isinstance(issuer, str) or not issuer or not isinstance(jti, str) or not jti:
        raise ConfigurationError("issuer and jti must be non-empty strings")
    if (
        isinstance(expires_at, bool)
        or not isinstance(expires_at, int | float)
        or not math.isfinite(expires_at)
    ):
        raise ConfigurationError("expires_at must be a finite time in seconds")


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
    issuer = _json_object(payload, "payload").get("iss")
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
    :class:`MemoryJtiReplayStore` only until the process restarts; use
    :class:`~tokensmith.oauth.sqlite.SQLiteJtiReplayStore` or :class:`RedisJtiReplayStore` in
    production.

    Refusals are :class:`~tokensmith.errors.TokenError` subclasses: the core's, plus
    :class:`~tokensmith.errors.InvalidClaim` (``sub`` not the client, lifetime too long) and
    :class:`~tokensmith.errors.ReplayedToken` (``jti`` already spent). A replay-store outage is
    :class:`~tokensmith.errors.BackendUnavailable`.
    """
    if not isinstance(replay_store, JtiReplayStore):
        raise ConfigurationError("replay_store must provide use(issuer, jti, expires_at=)")
    if (
        isinstance(max_lifetime, bool)
        or not isinstance(max_lifetime, int | float)
        or not 0 < max_lifetime <= MAX_ASSERTION_LIFETIME
    ):
        raise ConfigurationError("max_lifetime must be between 0 and 300 seconds")
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
