"""Refresh tokens that rotate on every use, with reuse detection that revokes the whole family.

A login (:meth:`RefreshManager.start`) opens a *family* whose id is the ``sid`` claim of every
access token issued in it. Each :meth:`RefreshManager.refresh` consumes the presented refresh
token atomically and returns a new refresh token and a new access token. Presenting a token that
was already consumed is reuse (RFC 9700 §4.14.2): the family is revoked in the store, the
session's access tokens are revoked in the revocation list, an audit event
``refresh.reuse_detected`` is emitted and :class:`~tokensmith.errors.RefreshTokenReused` raised.

DPoP (RFC 9449 §5, §5.8): a ``confirmation`` (the token request's verified proof) binds the
access tokens; a public client's family is also bound to the proof's key, so every refresh must
prove that key (:class:`~tokensmith.errors.RefreshTokenKeyMismatch` otherwise, before anything
is consumed). A confidential client's refresh tokens stay bound to its authentication instead
(``confidential_client=True``: the family's ``client_id``, which the caller authenticates).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, NoReturn

from .._options import seconds
from .._secrets import secrets_equal
from ..claims import fingerprint
from ..confirmation import Confirmation
from ..errors import (
    ConfigurationError,
    InvalidRefreshToken,
    InvalidScope,
    RefreshTokenExpired,
    RefreshTokenKeyMismatch,
    RefreshTokenReused,
    RefreshTokenRevoked,
)
from ..observability.audit import AuditEvent, AuditSink, emit
from ..revocation.base import RevocationList
from ..signer import REGISTERED_CLAIMS, IssuedToken, Signer
from .base import RefreshFamily, RefreshStore, RotateOutcome, RotateResult

__all__ = [
    "REFRESH_TOKEN_PREFIX",
    "RefreshManager",
    "TokenPair",
    "refresh_token_hash",
]

REFRESH_TOKEN_PREFIX: Final = "rt_"
"""Every refresh token starts with this, so secret scanners and humans can recognise one.

A refresh token is ``rt_<family id>.<secret>``: the family id (22 characters, the ``sid`` of
the family's access tokens, not a secret) tells a store where the family lives (one Redis
Cluster slot) before the lookup; the secret is 256 random bits. Stores keep only the keyed
hash of the whole token, so changing either part makes an unknown token.
"""

_FAMILY_CHARS: Final = 22  # token_urlsafe(16): 128 random bits
_SECRET_CHARS: Final = 43  # token_urlsafe(32): 256 random bits
_SEPARATOR: Final = "."  # not in the base64url alphabet
_FAMILY_START: Final = len(REFRESH_TOKEN_PREFIX)
_FAMILY_END: Final = _FAMILY_START + _FAMILY_CHARS
_TOKEN_LENGTH: Final = _FAMILY_END + len(_SEPARATOR) + _SECRET_CHARS
_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_DOMAIN_KEY: Final = b"tokensmith refresh-token hash v1"
_MIN_PEPPER: Final = 32
_MANAGED_CLAIMS: Final = frozenset({"sid", "client_id"})


def refresh_token_hash(token: str, *, pepper: bytes | None = None) -> str:
    """The name a refresh token is stored under: HMAC-SHA256 hex, keyed with ``pepper``.

    Without a pepper the key is a fixed domain-separation constant: the token has 256 random
    bits, so its hash cannot be inverted either way, and the stored name never equals the
    token's loggable :func:`~tokensmith.fingerprint`. A pepper (kept outside the database)
    additionally makes a stolen database useless for confirming tokens seen elsewhere.
    """
    key = _DOMAIN_KEY if pepper is None else pepper
    return hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenPair:
    """A new access token and refresh token; ``repr()`` and ``str()`` show fingerprints only.

    ``access`` is the signer's :class:`~tokensmith.IssuedToken` (pass it to an RFC 6749 §5.1
    token response with ``refresh_token=pair.refresh_token``). ``session_id`` is the family id,
    also the access token's ``sid``.
    """

    access: IssuedToken
    refresh_token: str = field(repr=False)
    refresh_expires_at: float
    session_id: str
    scopes: tuple[str, ...]

    @property
    def access_token(self) -> str:
        """The signed access token (a JWT)."""
        return self.access.token

    @property
    def expires_in(self) -> int:
        """The access token's lifetime in seconds (OAuth ``expires_in``)."""
        return self.access.expires_in

    @property
    def refresh_fingerprint(self) -> str:
        """A loggable name for the refresh token (see :func:`~tokensmith.fingerprint`)."""
        return fingerprint(self.refresh_token)

    def __repr__(self) -> str:
        return (
            f"TokenPair(session_id={self.session_id!r}, access_jti={self.access.jti!r}, "
            f"access_fingerprint={self.access.fingerprint!r}, "
            f"refresh_fingerprint={self.refresh_fingerprint!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r})"
        )

    __str__ = __repr__


class RefreshManager:
    """Starts login sessions and renews them with rotating refresh tokens.

    :param store: a :class:`~tokensmith.refresh.RefreshStore` (memory, SQLite, Redis, yours).
    :param signer: signs the access tokens (its issuer is the ``iss`` of revocations).
    :param access_ttl: access-token lifetime in seconds (never beyond the family's limit).
    :param idle_ttl: a refresh token expires this long after it was issued, unless used.
    :param absolute_ttl: no refresh is possible this long after :meth:`start` (login again).
    :param revocation: where the session's access tokens are revoked on reuse and on
        :meth:`revoke_family`; without one, they stay valid until they expire.
    :param audit: receives ``token.issued``, ``refresh.rotated``, ``refresh.reuse_detected``,
        ``token.revoked`` and ``token.refused`` (a DPoP-bound refresh token presented without
        its key) events (fingerprints, never tokens).
    :param pepper: a secret (>= 32 bytes) keying the stored hashes; see
        :func:`refresh_token_hash`. Every process sharing a store needs the same pepper.
    :param token_type: the access tokens' ``typ`` header (e.g. ``"at+jwt"``, RFC 9068). With
        ``at+jwt`` every :meth:`start` needs a ``client_id`` (the RFC 9068 ``client_id`` claim is
        mandatory; without one the tokens would fail
        :func:`~tokensmith.oauth.access_token_validator`): a
        :class:`~tokensmith.errors.ConfigurationError` otherwise, before anything is stored.
    """

    def __init__(
        self,
        store: RefreshStore,
        signer: Signer,
        *,
        access_ttl: float = 300,
        idle_ttl: float = 7 * 86400,
        absolute_ttl: float = 30 * 86400,
        revocation: RevocationList | None = None,
        audit: AuditSink | None = None,
        clock: Callable[[], float] = time.time,
        pepper: bytes | None = None,
        token_type: str | None = None,
    ) -> None:
        for name, value in (
            ("access_ttl", access_ttl),
            ("idle_ttl", idle_ttl),
            ("absolute_ttl", absolute_ttl),
        ):
            seconds(name, value, positive=True)
        if idle_ttl > absolute_ttl:
            raise ConfigurationError("idle_ttl must not exceed absolute_ttl")
        if not isinstance(signer, Signer):
            raise ConfigurationError("signer must be a Signer")
        if pepper is not None and (not isinstance(pepper, bytes) or len(pepper) < _MIN_PEPPER):
            raise ConfigurationError(f"pepper must be at least {_MIN_PEPPER} random bytes")
        self._store = store
        self._signer = signer
        self._access_ttl = float(access_ttl)
        self._idle_ttl = float(idle_ttl)
        self._absolute_ttl = float(absolute_ttl)
        self._revocation = revocation
        self._audit = audit
        self._clock = clock
        self._pepper = pepper
        self._token_type = token_type

    # --- the three operations -----------------------------------------------------------------

    def start(
        self,
        subject: str,
        *,
        audience: str | Iterable[str],
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        client_id: str | None = None,
        confirmation: Confirmation | None = None,
        confidential_client: bool = False,
    ) -> TokenPair:
        """Open a new family (one login) and return its first access and refresh tokens.

        ``claims`` are custom access-token claims, kept for every renewal (JSON values; ``sid``
        and ``client_id`` are set by the manager). ``client_id`` binds the family to a client:
        :meth:`refresh` then requires the same ``client_id``.

        ``confirmation`` is what the token request proved (a verified DPoP proof's key, see
        :func:`~tokensmith.oauth.verify_token_request_proof`): the access token is bound to it
        and, unless ``confidential_client``, so is the family (RFC 9449 §5.8: a public client's
        refresh tokens need a proof by the same key). ``confidential_client=True`` keeps the
        refresh tokens bound to the client's authentication only; it needs a ``client_id``.
        """
        if not isinstance(subject, str) or not subject:
            raise ConfigurationError("subject must be a non-empty string")
        if client_id is not None and (not isinstance(client_id, str) or not client_id):
            raise ConfigurationError("client_id must be a non-empty string or None")
        _check_confirmation(confirmation)
        if not isinstance(confidential_client, bool):
            raise ConfigurationError("confidential_client must be a bool")
        if confidential_client and client_id is None:
            raise ConfigurationError(
                "a confidential client's refresh tokens are bound to its client_id: pass it"
            )
        bound = None
        if not confidential_client and confirmation is not None and confirmation.jkt is not None:
            bound = Confirmation(jkt=confirmation.jkt)
        now = self._clock()
        family = RefreshFamily(
            family_id=secrets.token_urlsafe(16),  # _FAMILY_CHARS characters
            subject=subject,
            audience=_audience(audience),
            scopes=_scopes(scopes),
            client_id=client_id,
            created_at=now,
            expires_at=now + self._absolute_ttl,
            claims=_claims(claims),
            confirmation=bound,
        )
        access = self._issue_access(family, family.scopes, now, confirmation)
        token = _new_token(family.family_id)
        expires_at = min(now + self._idle_ttl, family.expires_at)
        self._store.create_family(family, self._hash(token), expires_at=expires_at)
        pair = TokenPair(access, token, expires_at, family.family_id, family.scopes)
        self._emit("token.issued", now, family, access, pair.refresh_fingerprint)
        return pair

    def refresh(
        self,
        refresh_token: str,
        *,
        scopes: Iterable[str] | None = None,
        client_id: str | None = None,
        confirmation: Confirmation | None = None,
    ) -> TokenPair:
        """Rotate: consume ``refresh_token`` and return a new refresh token and access token.

        ``scopes`` may narrow the new access token's scopes to a subset of the original grant
        (the family keeps the full grant, RFC 6749 §6); anything else raises
        :class:`~tokensmith.errors.InvalidScope` without consuming the token. ``client_id``
        must equal the one given to :meth:`start`.

        ``confirmation`` is what this refresh request proved (its verified DPoP proof): the new
        access token is bound to it. A family bound to a DPoP key (a public client's, see
        :meth:`start`) needs a proof by that very key; an unbound family stays unbound whatever
        the request proves.

        Raises :class:`~tokensmith.errors.InvalidRefreshToken` (malformed, unknown, other
        client), :class:`~tokensmith.errors.RefreshTokenKeyMismatch` (no proof, or one by
        another key, for a DPoP-bound family; the token is not consumed),
        :class:`~tokensmith.errors.RefreshTokenExpired`,
        :class:`~tokensmith.errors.RefreshTokenRevoked` or
        :class:`~tokensmith.errors.RefreshTokenReused` (all OAuth ``invalid_grant``).
        """
        family_id = _checked_token(refresh_token)
        _check_confirmation(confirmation)
        token_hash = self._hash(refresh_token)
        presented = fingerprint(refresh_token)
        now = self._clock()
        record = self._store.find(token_hash, family_id=family_id)
        if record is None:
            raise InvalidRefreshToken("the refresh token is not known")
        family = record.family
        state = record.outcome(now)
        if state is RotateOutcome.REUSED:  # let the store confirm it atomically (and revoke)
            unused = self._hash(_new_token(family_id))
            confirmed = self._store.rotate(
                token_hash, unused, family_id=family_id, now=now, expires_at=now
            )
            self._refuse(confirmed, presented, now)
        if state is not RotateOutcome.OK:
            self._refuse(RotateResult(state, family), presented, now)
        # Checks that must not consume the token come first; the access token is signed before
        # the rotation, so a signing failure never leaves the client holding a consumed token.
        if client_id != family.client_id:
            raise InvalidRefreshToken("the refresh token was not issued to this client")
        try:
            _check_binding(family, confirmation)
        except RefreshTokenKeyMismatch as exc:  # a bound token without its key: maybe stolen
            self._emit("token.refused", now, family, None, presented, exc.code)
            raise
        granted = family.scopes if scopes is None else _narrowed(scopes, family.scopes)
        access = self._issue_access(family, granted, now, confirmation)
        new_token = _new_token(family_id)
        result = self._store.rotate(
            token_hash,
            self._hash(new_token),
            family_id=family_id,
            now=now,
            expires_at=now + self._idle_ttl,
        )
        if result.outcome is not RotateOutcome.OK:
            self._refuse(result, presented, now)
        assert result.expires_at is not None  # a store answers OK with the successor's expiry
        pair = TokenPair(access, new_token, result.expires_at, family.family_id, granted)
        self._emit("refresh.rotated", now, family, access, presented)
        return pair

    def revoke(self, refresh_token: str, client_id: str | None = None) -> bool:
        """Revoke the family of ``refresh_token`` (logout, RFC 7009); ``False`` if unknown.

        With ``client_id`` (as the RFC 7009 endpoint passes it), only a family of that client is
        revoked; a known token of another client answers ``True`` and changes nothing. Usable as
        :data:`tokensmith.oauth.RefreshRevoker`.
        """
        try:
            family_id = _checked_token(refresh_token)
        except InvalidRefreshToken:
            return False
        record = self._store.find(self._hash(refresh_token), family_id=family_id)
        if record is None:
            return False
        if client_id is None or client_id == record.family.client_id:
            self.revoke_family(record.family.family_id)
        return True

    def revoke_family(self, session_id: str) -> bool:
        """Revoke a family by its id (the access tokens' ``sid``); ``False`` if not live.

        Its refresh tokens stop working, and with a ``revocation`` list so do its access tokens.
        """
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError("session_id must be a non-empty string")
        now = self._clock()
        family = self._store.revoke_family(session_id)
        if family is None:
            return False
        self._emit("token.revoked", now, family, None, None)
        self._revoke_access_tokens(family, now)
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _refuse(self, result: RotateResult, presented: str, now: float) -> NoReturn:
        family = result.family
        if result.outcome is RotateOutcome.REUSED:
            assert family is not None
            self._emit(
                "refresh.reuse_detected", now, family, None, presented, "refresh_token_reused"
            )
            self._revoke_access_tokens(family, now)
            raise RefreshTokenReused(
                "a used refresh token was presented again; its session is revoked",
                session_id=family.family_id,
                subject=family.subject,
                client_id=family.client_id,
            )
        if result.outcome is RotateOutcome.REVOKED:
            raise RefreshTokenRevoked("the refresh token's session was revoked")
        if result.outcome is RotateOutcome.EXPIRED:
            raise RefreshTokenExpired("the refresh token has expired")
        raise InvalidRefreshToken("the refresh token is not known")

    def _revoke_access_tokens(self, family: RefreshFamily, now: float) -> None:
        """Every access token of the family was issued by now and expires by now+access_ttl."""
        if self._revocation is not None:
            self._revocation.revoke_session(
                family.family_id,
                issuer=self._signer.issuer,
                expires_at=now + self._access_ttl + 1,
            )

    def _issue_access(
        self,
        family: RefreshFamily,
        scopes: tuple[str, ...],
        now: float,
        confirmation: Confirmation | None,
    ) -> IssuedToken:
        if family.client_id is None and _is_rfc9068(self._token_type):
            raise ConfigurationError(
                "RFC 9068 access tokens (typ at+jwt) must name their client: "
                "pass start(..., client_id=...)"
            )
        claims = dict(family.claims)
        claims["sid"] = family.family_id
        if family.client_id is not None:
            claims["client_id"] = family.client_id
        ttl = min(self._access_ttl, family.expires_at - now)
        return self._signer.issue_token(
            family.subject,
            audience=family.audience,
            scopes=scopes,
            claims=claims,
            ttl=max(ttl, 1.0),
            token_type=self._token_type,
            confirmation=confirmation,
        )

    def _hash(self, token: str) -> str:
        return refresh_token_hash(token, pepper=self._pepper)

    def _emit(
        self,
        kind: str,
        now: float,
        family: RefreshFamily,
        access: IssuedToken | None,
        presented: str | None,
        code: str | None = None,
    ) -> None:
        if self._audit is None:
            return
        emit(  # a failing sink must not undo a rotation that the store already made
            self._audit,
            AuditEvent(
                kind=kind,
                at=now,
                code=code,
                fingerprint=presented,
                jti=None if access is None else access.jti,
                subject=family.subject,
                client_id=family.client_id,
                issuer=self._signer.issuer,
                detail=MappingProxyType({"sid": family.family_id}),
            ),
        )

    def __repr__(self) -> str:
        return (
            f"RefreshManager(issuer={self._signer.issuer!r}, access_ttl={self._access_ttl!r}, "
            f"idle_ttl={self._idle_ttl!r}, absolute_ttl={self._absolute_ttl!r})"
        )


def _new_token(family_id: str) -> str:
    return f"{REFRESH_TOKEN_PREFIX}{family_id}{_SEPARATOR}{secrets.token_urlsafe(32)}"


def _check_confirmation(confirmation: object) -> None:
    if confirmation is not None and not isinstance(confirmation, Confirmation):
        raise ConfigurationError("confirmation must be a Confirmation or None")


def _check_binding(family: RefreshFamily, confirmation: Confirmation | None) -> None:
    """RFC 9449 §5.8: a family bound to a DPoP key is refreshed only with a proof by that key
    (compared in constant time)."""
    bound = None if family.confirmation is None else family.confirmation.jkt
    if bound is None:
        return
    proven = None if confirmation is None else confirmation.jkt
    if proven is None:
        raise RefreshTokenKeyMismatch("the refresh token is DPoP-bound: a proof is required")
    if not secrets_equal(bound, proven):
        raise RefreshTokenKeyMismatch("the DPoP proof is not by the refresh token's key")


def _is_rfc9068(token_type: str | None) -> bool:
    """True for the ``typ`` of RFC 9068 access tokens (``at+jwt``, any case, with or without
    the ``application/`` prefix), whose ``client_id`` claim is mandatory (§2.2)."""
    return token_type is not None and token_type.lower().removeprefix("application/") == "at+jwt"


def _checked_token(token: object) -> str:
    """The family id of a token shaped like ours; anything else is refused before the store
    is touched."""
    if (
        not isinstance(token, str)
        or len(token) != _TOKEN_LENGTH
        or not token.startswith(REFRESH_TOKEN_PREFIX)
        or token[_FAMILY_END] != _SEPARATOR
        or not _ALPHABET.issuperset(token[_FAMILY_START:_FAMILY_END])
        or not _ALPHABET.issuperset(token[_FAMILY_END + 1 :])
    ):
        raise InvalidRefreshToken("this is not a refresh token")
    return token[_FAMILY_START:_FAMILY_END]


def _audience(audience: str | Iterable[str]) -> tuple[str, ...]:
    values = (audience,) if isinstance(audience, str) else tuple(audience)
    if not values or not all(isinstance(a, str) and a for a in values):
        raise ConfigurationError("audience must be a string or a non-empty list of strings")
    return values


def _scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    values = scopes.split() if isinstance(scopes, str) else list(scopes)
    result: list[str] = []
    for scope in values:
        if not isinstance(scope, str) or scope.split() != [scope]:
            raise ConfigurationError("each scope must be a non-empty string without spaces")
        if scope not in result:
            result.append(scope)
    return tuple(result)


def _narrowed(requested: Iterable[str], granted: tuple[str, ...]) -> tuple[str, ...]:
    """The requested scopes, in the grant's order; refused unless a non-empty subset."""
    try:
        wanted = set(_scopes(requested))
    except (ConfigurationError, TypeError):
        raise InvalidScope("the scope parameter is malformed") from None
    if not wanted:
        raise InvalidScope("an empty scope was requested")
    if not wanted.issubset(granted):
        raise InvalidScope("a refresh may only narrow the scopes originally granted")
    return tuple(s for s in granted if s in wanted)


def _claims(claims: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Custom claims, checked now and frozen as their JSON round trip (what stores keep)."""
    if claims is None:
        return MappingProxyType({})
    if not isinstance(claims, Mapping):
        raise ConfigurationError("claims must be a mapping")
    clash = (REGISTERED_CLAIMS | _MANAGED_CLAIMS).intersection(claims)
    if clash:
        raise ConfigurationError(f"claims may not set {sorted(clash)}; the manager sets them")
    try:
        copy = json.loads(json.dumps(dict(claims), allow_nan=False))
    except (TypeError, ValueError):
        raise ConfigurationError("claims must be JSON-serialisable (finite numbers)") from None
    if not isinstance(copy, dict) or set(copy) != set(claims):
        raise ConfigurationError("claim names must be strings")
    return MappingProxyType(copy)
