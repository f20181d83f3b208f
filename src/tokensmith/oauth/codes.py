"""Single-use authorization codes bound to a client, a redirect URI and a PKCE challenge.

A code is 256 random bits; the store keeps only its SHA-256, with the grant it stands for.
Redeeming consumes the code atomically *before* any other check, so a code can be tried once.
A second redemption is reuse (RFC 6749 §4.1.2): it raises
:class:`~tokensmith.errors.AuthorizationCodeReused`, naming the grant so the caller revokes the
tokens issued from it. Consumed codes are remembered for ``reuse_window`` seconds to that end.
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol, runtime_checkable

from .._options import seconds
from .._secrets import secrets_equal
from .._text import is_unicode
from ..confirmation import Confirmation
from ..errors import (
    AuthorizationCodeKeyMismatch,
    AuthorizationCodeReused,
    ConfigurationError,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
)
from .client_credentials import parse_scope
from .pkce import PKCEChallenge, parse_code_challenge, verify_code_verifier

__all__ = [
    "DEFAULT_CODE_TTL",
    "AuthorizationCodeStore",
    "AuthorizationCodes",
    "AuthorizationGrant",
    "MemoryAuthorizationCodeStore",
    "code_hash",
]

DEFAULT_CODE_TTL: Final = 60.0
"""Default code lifetime in seconds (RFC 6749 §4.1.2 recommends at most 10 minutes)."""

_MAX_CODE_TTL: Final = 600.0
_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AuthorizationGrant:
    """What an authorization code stands for; returned by :meth:`AuthorizationCodes.redeem`.

    ``grant_id`` is random and names this grant: put it in the tokens you issue from the code
    (as ``sid``) so that a reused code can revoke them (``revoke_session(grant_id, ...)``).
    ``dpop_jkt`` is the DPoP key the authorization request bound the code to (RFC 9449 §10).
    """

    grant_id: str
    client_id: str
    redirect_uri: str
    subject: str
    scopes: tuple[str, ...]
    challenge: PKCEChallenge | None
    issued_at: float
    expires_at: float
    nonce: str | None = field(default=None, repr=False)
    auth_time: float | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    dpop_jkt: str | None = None


@runtime_checkable
class AuthorizationCodeStore(Protocol):
    """Where codes live between the authorization and the token request.

    ``consume`` must be atomic: of two concurrent calls for one code, exactly one sees
    ``first_use=True``.
    """

    def put(self, code_hash: str, grant: AuthorizationGrant, *, retain_until: float) -> None:
        """Store an unused code's grant; forget it after ``retain_until``."""
        ...

    def consume(self, code_hash: str) -> tuple[AuthorizationGrant, bool] | None:
        """Mark the code used; return its grant and whether this was the first use, or ``None``."""
        ...


class MemoryAuthorizationCodeStore:
    """Codes in process memory (one process, tests); entries are purged after ``retain_until``."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[AuthorizationGrant, bool, float]] = {}
        self._expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._entries)

    def put(self, code_hash: str, grant: AuthorizationGrant, *, retain_until: float) -> None:
        """Store an unused code (see :class:`AuthorizationCodeStore`)."""
        with self._lock:
            self._purge(self._clock())
            if code_hash in self._entries:
                raise ConfigurationError("that code is already stored")
            self._entries[code_hash] = (grant, False, retain_until)
            heapq.heappush(self._expiry, (retain_until, code_hash))

    def consume(self, code_hash: str) -> tuple[AuthorizationGrant, bool] | None:
        """Atomically mark the code used (see :class:`AuthorizationCodeStore`)."""
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.get(code_hash)
            if entry is None:
                return None
            grant, used, retain_until = entry
            if not used:
                self._entries[code_hash] = (grant, True, retain_until)
            return grant, not used

    def _purge(self, now: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is not None and entry[2] <= now:
                del self._entries[key]

    def __repr__(self) -> str:
        return f"MemoryAuthorizationCodeStore(entries={len(self._entries)})"


def code_hash(code: str) -> str:
    """The name a code is stored under: SHA-256 hex. The code itself is never stored."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


class AuthorizationCodes:
    """Issues and redeems authorization codes (the authorization server's side).

    :param store: an :class:`AuthorizationCodeStore` (default: a memory store on ``clock``).
    :param ttl: code lifetime in seconds (default 60, at most 600).
    :param reuse_window: how long a consumed code is remembered to detect reuse (default one
        day; make it at least your longest refresh-token lifetime if codes start sessions).
    :param require_pkce: refuse authorization requests without a ``code_challenge`` (default).
    :param allow_plain: accept ``code_challenge_method=plain`` (default: refused).
    """

    def __init__(
        self,
        store: AuthorizationCodeStore | None = None,
        *,
        ttl: float = DEFAULT_CODE_TTL,
        reuse_window: float = 86400.0,
        require_pkce: bool = True,
        allow_plain: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        seconds("ttl", ttl, positive=True, maximum=_MAX_CODE_TTL)
        seconds("reuse_window", reuse_window, positive=True)
        if store is not None and not isinstance(store, AuthorizationCodeStore):
            raise ConfigurationError("store must provide put() and consume()")
        self._store: AuthorizationCodeStore = (
            store if store is not None else MemoryAuthorizationCodeStore(clock=clock)
        )
        self._ttl = float(ttl)
        self._reuse_window = float(reuse_window)
        self._require_pkce = bool(require_pkce)
        self._allow_plain = bool(allow_plain)
        self._clock = clock

    def issue(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        subject: str,
        scopes: Iterable[str] = (),
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        nonce: str | None = None,
        auth_time: float | None = None,
        extra: Mapping[str, Any] | None = None,
        dpop_jkt: str | None = None,
    ) -> str:
        """Issue a code for an authorization the user just granted; returns the code.

        ``client_id`` and ``redirect_uri`` must already be checked against the client's
        registration. The PKCE parameters and ``nonce`` come from the authorization request as
        sent; a missing or ``plain`` challenge (unless PKCE is optional / ``plain`` allowed for
        this instance) or a ``nonce`` that is not text raises
        :class:`~tokensmith.errors.InvalidRequest`. ``scopes`` is the request's ``scope``
        string or scope tokens; anything else is :class:`~tokensmith.errors.InvalidScope`.
        ``dpop_jkt`` is the request's parameter of that name (RFC 9449 §10): the code can then
        only be redeemed with a DPoP proof by that key; a value that is not a JWK SHA-256
        thumbprint is :class:`~tokensmith.errors.InvalidRequest`.
        """
        for name, value in (
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("subject", subject),
        ):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty string")
        if nonce is not None and (not isinstance(nonce, str) or not is_unicode(nonce)):
            raise InvalidRequest("nonce must be text")
        _check_dpop_jkt(dpop_jkt)
        granted = _requested_scopes(scopes)
        challenge: PKCEChallenge | None = None
        if code_challenge is not None or code_challenge_method is not None:
            challenge = parse_code_challenge(
                code_challenge, code_challenge_method, allow_plain=self._allow_plain
            )
        elif self._require_pkce:
            raise InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
        now = self._clock()
        code = secrets.token_urlsafe(32)
        grant = AuthorizationGrant(
            grant_id=secrets.token_urlsafe(16),
            client_id=client_id,
            redirect_uri=redirect_uri,
            subject=subject,
            scopes=granted,
            challenge=challenge,
            issued_at=now,
            expires_at=now + self._ttl,
            nonce=nonce,
            auth_time=auth_time,
            extra=MappingProxyType(dict(extra or {})),
            dpop_jkt=dpop_jkt,
        )
        self._store.put(code_hash(code), grant, retain_until=now + self._ttl + self._reuse_window)
        return code

    def redeem(
        self,
        code: object,
        *,
        client_id: str,
        redirect_uri: object,
        code_verifier: object = None,
        confirmation: Confirmation | None = None,
    ) -> AuthorizationGrant:
        """Redeem a code at the token endpoint; returns its grant or raises why not.

        ``client_id`` is the authenticated (or, for a public client, identified) client.
        Refusals: :class:`~tokensmith.errors.InvalidRequest` (no code),
        :class:`~tokensmith.errors.AuthorizationCodeReused` (second use: revoke the grant's
        tokens), :class:`~tokensmith.errors.InvalidGrant` (unknown, expired, other client,
        other redirect URI, PKCE failure),
        :class:`~tokensmith.errors.AuthorizationCodeKeyMismatch` (a code bound with
        ``dpop_jkt`` and no ``confirmation`` by that DPoP key). The code is consumed by the
        first attempt, whatever its outcome. ``confirmation`` is the token request's verified
        DPoP proof (:func:`~tokensmith.oauth.verify_token_request_proof`); bind the tokens you
        issue from the grant to it.
        """
        if confirmation is not None and not isinstance(confirmation, Confirmation):
            raise ConfigurationError("confirmation must be a Confirmation or None")
        if not isinstance(code, str) or not code:
            raise InvalidRequest("the code parameter is missing")
        found = self._store.consume(code_hash(code))
        if found is None:
            raise InvalidGrant("the authorization code is invalid or expired")
        grant, first_use = found
        if not first_use:
            raise AuthorizationCodeReused(
                "the authorization code was already used",
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                subject=grant.subject,
            )
        if self._clock() >= grant.expires_at:
            raise InvalidGrant("the authorization code is invalid or expired")
        if client_id != grant.client_id:
            raise InvalidGrant("the authorization code was issued to another client")
        if redirect_uri != grant.redirect_uri:  # exact string match, RFC 6749 §4.1.3
            raise InvalidGrant("redirect_uri does not match the authorization request")
        self._check_pkce(grant, code_verifier)
        _check_code_binding(grant.dpop_jkt, confirmation)
        return grant

    def _check_pkce(self, grant: AuthorizationGrant, code_verifier: object) -> None:
        if grant.challenge is None:
            if code_verifier is not None:  # PKCE downgrade (RFC 9700 §2.1.1)
                raise InvalidGrant("code_verifier sent for a code issued without PKCE")
            return
        if code_verifier is None:
            raise InvalidGrant("code_verifier is required for this code")
        try:
            verify_code_verifier(code_verifier, grant.challenge, allow_plain=self._allow_plain)
        except InvalidRequest as exc:
            raise InvalidGrant(exc.message) from None

    def __repr__(self) -> str:
        return f"AuthorizationCodes(ttl={self._ttl!r})"


def _check_dpop_jkt(dpop_jkt: object) -> None:
    if dpop_jkt is None:
        return
    if not isinstance(dpop_jkt, str):
        raise InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint")
    try:
        Confirmation(jkt=dpop_jkt)
    except ConfigurationError:
        raise InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint") from None


def _check_code_binding(dpop_jkt: str | None, confirmation: Confirmation | None) -> None:
    """RFC 9449 §10: the token request's proof key must be the one ``dpop_jkt`` named."""
    if dpop_jkt is None:
        return
    proven = None if confirmation is None else confirmation.jkt
    if proven is None or not secrets_equal(dpop_jkt, proven):
        raise AuthorizationCodeKeyMismatch("the code is bound to another DPoP key (dpop_jkt)")


def _requested_scopes(scopes: object) -> tuple[str, ...]:
    """The granted scopes, in order, once each: the request's ``scope`` string (split as
    :func:`~tokensmith.oauth.parse_scope` does) or an iterable of scope tokens."""
    if isinstance(scopes, str):
        return parse_scope(scopes)
    if not isinstance(scopes, Iterable) or isinstance(scopes, bytes | bytearray | Mapping):
        raise InvalidScope("scopes must be a scope string or scope tokens")
    values = tuple(scopes)
    if not all(isinstance(v, str) and v and " " not in v for v in values):
        raise InvalidScope("scopes must be scope tokens (RFC 6749 §3.3)")
    return parse_scope(" ".join(values))
