"""Structured audit events: what happened to which token, never the token itself.

Every component that takes an ``audit=`` argument calls it with an :class:`AuditEvent`. An event
names the token by its fingerprint and ``jti``; it never carries the token or key material.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = ["EVENT_KINDS", "AuditEvent", "AuditSink"]

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
    detail: Mapping[str, str] = field(default=_EMPTY)


AuditSink = Callable[[AuditEvent], None]
"""Anything that accepts an :class:`AuditEvent`: a logging adapter, a queue, a list's append."""
