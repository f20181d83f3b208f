"""The refresh-token store interface, and the records every backend keeps.

A store holds *families* (one login each) and the refresh tokens issued in them, named by a
keyed hash of the token (the token itself is never given to a store). Every lookup also names
the family the token claims to belong to (a refresh token carries its family id), so a store
can keep a family and its tokens together (one Redis Cluster slot, one partition) and must
answer "unknown" when the token is not in that family. Its one hard job is
:meth:`RefreshStore.rotate`: consume a token and record its successor *atomically*, so that of
two concurrent uses of one token exactly one wins and the other is seen as reuse.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol, runtime_checkable

from ..confirmation import JKT, X5T_S256, Confirmation
from ..errors import BackendUnavailable, ConfigurationError

__all__ = [
    "RefreshFamily",
    "RefreshRecord",
    "RefreshStore",
    "RotateOutcome",
    "RotateResult",
]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    """One login session: everything needed to issue its access tokens again.

    ``family_id`` is also the ``sid`` claim of the family's access tokens, so revoking the
    session in a :class:`~tokensmith.RevocationList` kills them. ``expires_at`` is the absolute
    limit: no token of the family is usable at or after it. ``scopes`` is the original grant;
    a refresh may narrow an access token's scopes, never the family's. ``confirmation`` is
    the DPoP key (``jkt``) the family's refresh tokens are bound to (RFC 9449 §5.8): a refresh
    must prove it. ``None`` (the default, and every family stored before it existed): unbound.
    """

    family_id: str
    subject: str
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    client_id: str | None
    created_at: float
    expires_at: float
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    confirmation: Confirmation | None = None

    def to_json(self) -> str:
        """The family as one JSON document (how SQL and Redis backends store it).

        An unbound family's document has no ``cnf`` member, exactly as before bindings existed.
        """
        document: dict[str, Any] = {
            "family_id": self.family_id,
            "subject": self.subject,
            "audience": list(self.audience),
            "scopes": list(self.scopes),
            "client_id": self.client_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "claims": dict(self.claims),
        }
        if self.confirmation is not None:
            document["cnf"] = self.confirmation.claim()
        return json.dumps(
            document,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, document: str | bytes) -> RefreshFamily:
        """Rebuild a family written by :meth:`to_json`; a damaged record is a backend fault."""
        try:
            data = json.loads(document)
            family = cls(
                family_id=str(data["family_id"]),
                subject=str(data["subject"]),
                audience=tuple(str(a) for a in data["audience"]),
                scopes=tuple(str(s) for s in data["scopes"]),
                client_id=None if data["client_id"] is None else str(data["client_id"]),
                created_at=float(data["created_at"]),
                expires_at=float(data["expires_at"]),
                claims=MappingProxyType(dict(data["claims"])),
                confirmation=_confirmation(data.get("cnf")),
            )
        except (ValueError, TypeError, KeyError, AttributeError, ConfigurationError):
            raise BackendUnavailable("a stored refresh-token family is damaged") from None
        return family


def _confirmation(cnf: object) -> Confirmation | None:
    """The stored ``cnf`` member back as a confirmation (absent in unbound and older records)."""
    if cnf is None:
        return None
    if not isinstance(cnf, dict) or set(cnf) - {JKT, X5T_S256}:
        raise ValueError("damaged cnf")
    return Confirmation(jkt=cnf.get(JKT), x5t_s256=cnf.get(X5T_S256))


class RotateOutcome(enum.Enum):
    """What :meth:`RefreshStore.rotate` found. Only ``OK`` issued a successor."""

    OK = "ok"
    """The token was live: it is now consumed and the successor is stored."""
    REUSED = "reused"
    """The token had already been consumed: the store has revoked the family (RFC 9700 §4.14)."""
    REVOKED = "revoked"
    """The family was revoked earlier (logout, reuse): nothing changed."""
    EXPIRED = "expired"
    """The token's idle lifetime or the family's absolute lifetime is over: nothing changed."""
    UNKNOWN = "unknown"
    """No such token (never issued, or purged with its family)."""


@dataclass(frozen=True, slots=True)
class RotateResult:
    """The outcome of a rotation, with the family when the token was known.

    ``expires_at`` is the successor's expiry (``OK`` only): the requested one, capped at the
    family's absolute limit.
    """

    outcome: RotateOutcome
    family: RefreshFamily | None = None
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """What a store knows about one token: its family and state (see ``RefreshStore.find``)."""

    family: RefreshFamily
    expires_at: float
    consumed: bool
    revoked: bool

    def outcome(self, now: float) -> RotateOutcome:
        """What a rotation at ``now`` would answer, by the rules every store shares."""
        if self.revoked:
            return RotateOutcome.REVOKED
        if self.consumed:
            return RotateOutcome.REUSED
        if now >= self.expires_at or now >= self.family.expires_at:
            return RotateOutcome.EXPIRED
        return RotateOutcome.OK


@runtime_checkable
class RefreshStore(Protocol):
    """Where refresh-token families live. Implement it for your database; test it with
    :class:`tokensmith.testing.RefreshStoreContract`.

    Tokens are named by ``token_hash`` (a keyed SHA-256, hex) within their family
    (``family_id``); a token looked up in another family is unknown. A store keeps each token
    record until its family's ``expires_at`` (so reuse of *any* old token is detected for the
    whole life of the family) and may forget a family and its tokens after that.
    Backend failures raise :class:`~tokensmith.errors.BackendUnavailable`.
    """

    def create_family(self, family: RefreshFamily, token_hash: str, *, expires_at: float) -> None:
        """Store a new family with its first token (live until ``expires_at``)."""
        ...

    def find(self, token_hash: str, *, family_id: str) -> RefreshRecord | None:
        """The token's record, or ``None`` (also when it is not in family ``family_id``).

        A read: the answer may be stale by the next call.
        """
        ...

    def rotate(
        self, token_hash: str, new_hash: str, *, family_id: str, now: float, expires_at: float
    ) -> RotateResult:
        """Atomically consume ``token_hash`` and store ``new_hash`` in its family.

        Decides in this order: unknown (or not in family ``family_id``) → ``UNKNOWN``; family
        revoked → ``REVOKED``; token already consumed → revoke the family, ``REUSED``; ``now``
        at or past the token's or the family's expiry → ``EXPIRED``; otherwise mark it
        consumed, store ``new_hash`` live until
        ``min(expires_at, family.expires_at)`` and answer ``OK``. Of concurrent calls for one
        token, exactly one answers ``OK``.
        """
        ...

    def revoke_family(self, family_id: str) -> RefreshFamily | None:
        """Revoke a family; return it if it was live, ``None`` if unknown or already revoked."""
        ...

    def purge(self, now: float) -> int:
        """Forget families (and their tokens) whose ``expires_at`` has passed; how many went.

        Backends that expire entries by themselves (Redis TTLs) may return 0.
        """
        ...


def check_hash(name: str, value: object) -> None:
    """Stores refuse anything but a 64-character lowercase hex hash (a programming error)."""
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef") != "":
        raise ConfigurationError(f"{name} must be a hex SHA-256 hash")


def check_family_id(value: object) -> str:
    """A family id is a non-empty string (a programming error otherwise)."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError("family_id must be a non-empty string")
    return value
