"""Structured audit events: what happened to which token, never the token itself.

Every component that takes an ``audit=`` argument calls it with an :class:`AuditEvent`. An event
names the token by its fingerprint and ``jti``; it never carries the token or key material.
Any callable is a sink; :func:`emit` delivers to one so that a failing sink never fails the
request. :func:`audit_context` attaches the client IP (and other request fields) to the events
emitted while handling one request. The ready sinks (logging, JSON lines, queues, fan-out) are
in :mod:`tokensmith.observability.sinks`; the anomaly detectors that read the stream in
:mod:`tokensmith.observability.anomaly`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ..claims import fingerprint
from ..errors import BackendUnavailable
from ..revocation.base import revoke_token
from ._lines import quote, word

if TYPE_CHECKING:
    from ..claims import VerifiedToken
    from ..errors import TokensmithError
    from ..revocation.base import RevocationList

__all__ = [
    "EVENT_KINDS",
    "AsyncAuditSink",
    "AuditEvent",
    "AuditSink",
    "audit_context",
    "audited_revoke",
    "emit",
    "event_fields",
    "event_line",
    "issued_event",
    "refused_event",
    "validated_event",
]

EVENT_KINDS: Final = frozenset(
    {
        "token.issued",
        "token.validated",
        "token.refused",
        "token.revoked",
        "key.rotated",
        "refresh.rotated",
        "refresh.reuse_detected",
        "backend.failure",
        "backend.fail_open",
        "anomaly",
    }
)
"""The event kinds tokensmith emits (``kind`` of :class:`AuditEvent`)."""

_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_log: Final = logging.getLogger("tokensmith.audit")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record. All fields but ``kind`` and ``at`` are optional.

    ``code`` is the refusal's stable error code; ``fingerprint`` is
    :func:`tokensmith.fingerprint` of the token; ``detail`` holds extra string fields
    (never secrets).
    """

    kind: str
    at: float
    code: str | None = None
    fingerprint: str | None = None
    jti: str | None = None
    subject: str | None = None
    client_id: str | None = None
    issuer: str | None = None
    kid: str | None = None
    ip: str | None = None
    detail: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


AuditSink = Callable[[AuditEvent], None]
"""Anything that accepts an :class:`AuditEvent`: a logging adapter, a queue, a list's append."""

AsyncAuditSink = Callable[[AuditEvent], Awaitable[None]]
"""An async sink (``async def __call__(event)``), delivered by :class:`AsyncQueueSink`."""

_FIELDS: Final = (
    "code",
    "fingerprint",
    "jti",
    "subject",
    "client_id",
    "issuer",
    "kid",
    "ip",
)


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The event as a flat JSON-ready dict: ``kind``, ``at``, the set fields, ``detail``."""
    out: dict[str, Any] = {"kind": event.kind, "at": event.at}
    for name in _FIELDS:
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    if event.detail:
        out["detail"] = dict(event.detail)
    return out


def emit(sink: AuditSink | None, event: AuditEvent) -> None:
    """Deliver ``event`` to ``sink``; a failing sink is logged, never raised into the caller.

    Auditing must not turn a valid request into an error, hide a refusal, or undo what a
    backend already did (a rotated refresh token, a fail-open answer). Every component that
    emits goes through here. The failure is logged at ERROR on ``tokensmith.audit`` with the
    sink's class and the event's kind only (no event field; the traceback is the sink's).
    """
    if sink is None:
        return
    try:
        sink(event)
    except Exception:
        _log.exception(
            "audit sink %s failed on a %s event",
            word(type(sink).__name__),
            word(str(event.kind)),
        )


# --- text rendering: one line per event, whatever the values hold ----------------------------


def event_line(event: AuditEvent) -> str:
    """The event as one line of text: ``<kind> key="value" ... detail.<key>="value" at=<time>``.

    Every value is a quoted, escaped JSON string (see :class:`LoggingSink`), so whatever a
    ``kid``, subject, client id or :func:`audit_context` value holds, the line stays one line
    and its ``key=value`` pairs are exactly the event's fields. ``detail`` entries are
    prefixed with ``detail.`` so they can never pose as a field (a ``detail["ip"]`` is
    ``detail.ip``).
    """
    parts = [word(str(event.kind))]
    for name in _FIELDS:
        value = getattr(event, name)
        if value is not None:
            parts.append(f"{name}={quote(str(value))}")
    for key, value in event.detail.items():
        parts.append(f"detail.{word(str(key))}={quote(str(value))}")
    parts.append(f"at={float(event.at)!r}")
    return " ".join(parts)


# --- request context: the IP and extra fields of the request being handled -------------------

_CONTEXT: Final[contextvars.ContextVar[tuple[str | None, Mapping[str, str]]]] = (
    contextvars.ContextVar("tokensmith_audit_context", default=(None, _EMPTY))
)


@contextlib.contextmanager
def audit_context(ip: str | None = None, **detail: str) -> Iterator[None]:
    """Attach the client ``ip`` (and string ``detail``) to events emitted inside the block.

    Works per thread and per asyncio task (a :mod:`contextvars` variable), so the validator
    can report the caller's IP without taking it as an argument::

        with audit_context(ip=client_ip, route="/orders"):
            tok = validator.validate(token)
    """
    token = _CONTEXT.set((ip, MappingProxyType(dict(detail)) if detail else _EMPTY))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _context() -> tuple[str | None, Mapping[str, str]]:
    return _CONTEXT.get()


# --- event builders used by the Signer and Validator ------------------------------------------


def validated_event(token: VerifiedToken, at: float) -> AuditEvent:
    """The ``token.validated`` event for a verified token (IP from :func:`audit_context`)."""
    return _verified_event("token.validated", token, at, token.fingerprint)


def _verified_event(
    kind: str, token: VerifiedToken, at: float, named: str | None, **extra: str
) -> AuditEvent:
    """An event about a verified token: its fields are facts, named by ``named`` (its
    fingerprint), with the request's IP and detail (plus ``extra``) from :func:`audit_context`."""
    ip, detail = _context()
    return AuditEvent(
        kind=kind,
        at=at,
        fingerprint=named,
        jti=token.jti,
        subject=token.subject,
        client_id=token.client_id,
        issuer=token.issuer,
        kid=token.key_id,
        ip=ip,
        detail={**detail, **extra} if extra else detail,
    )


def refused_event(error: TokensmithError, token: object, at: float) -> AuditEvent:
    """The event for a refusal: ``token.refused`` (or ``backend.failure`` for an outage).

    Nothing unverified is reported as fact: a refused token is named by its fingerprint only
    (no ``jti``, ``sub`` or ``kid`` read from a token that did not verify).
    """
    ip, detail = _context()
    printable = isinstance(token, str | bytes | bytearray)
    return AuditEvent(
        kind="backend.failure" if isinstance(error, BackendUnavailable) else "token.refused",
        at=at,
        code=error.code,
        fingerprint=fingerprint(bytes(token) if isinstance(token, bytearray) else token)  # type: ignore[arg-type]
        if printable
        else None,
        ip=ip,
        detail=detail,
    )


def issued_event(
    token: str,
    *,
    at: float,
    jti: str,
    subject: str | None,
    issuer: str,
    kid: str,
    claims: Mapping[str, Any],
) -> AuditEvent:
    """The ``token.issued`` event (used by :class:`~tokensmith.Signer`)."""
    client = claims.get("client_id", claims.get("azp"))
    ip, detail = _context()
    return AuditEvent(
        kind="token.issued",
        at=at,
        fingerprint=fingerprint(token),
        jti=jti,
        subject=subject,
        client_id=client if isinstance(client, str) else None,
        issuer=issuer,
        kid=kid,
        ip=ip,
        detail=detail,
    )


def audited_revoke(
    revocations: RevocationList,
    token: VerifiedToken,
    *,
    audit: AuditSink | None,
    clock: Callable[[], float] = time.time,
    reason: str | None = None,
) -> None:
    """:func:`tokensmith.revoke_token`, then a ``token.revoked`` event (only if it succeeded)."""
    revoke_token(revocations, token)
    extra = {} if reason is None else {"reason": reason}
    emit(audit, _verified_event("token.revoked", token, clock(), token.fingerprint, **extra))
