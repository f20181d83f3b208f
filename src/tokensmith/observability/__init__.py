"""What tokensmith tells you about the tokens it handles: audit events, where they go, and the
anomaly signals read from them.

* :mod:`~tokensmith.observability.audit` — :class:`AuditEvent` (a token named by fingerprint and
  ``jti``, never the token), :func:`emit`, :func:`audit_context`;
* :mod:`~tokensmith.observability.sinks` — :class:`LoggingSink`, :class:`JsonFormatter`,
  :class:`QueueSink` / :class:`AsyncQueueSink` (delivery off the request path), :class:`Fanout`;
* :mod:`~tokensmith.observability.anomaly` — detectors of refusal bursts, shared tokens,
  refresh-token reuse and retired keys near expiry.

Every name is imported on first use.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .anomaly import AsyncRedisWindows as AsyncRedisWindows
    from .anomaly import AsyncRefusalBurstDetector as AsyncRefusalBurstDetector
    from .anomaly import AsyncTokenSharingDetector as AsyncTokenSharingDetector
    from .anomaly import AsyncWindowStore as AsyncWindowStore
    from .anomaly import MemoryWindows as MemoryWindows
    from .anomaly import RedisWindows as RedisWindows
    from .anomaly import RefreshReuseDetector as RefreshReuseDetector
    from .anomaly import RefusalBurstDetector as RefusalBurstDetector
    from .anomaly import RetiredKeyDetector as RetiredKeyDetector
    from .anomaly import TokenSharingDetector as TokenSharingDetector
    from .anomaly import WindowStore as WindowStore
    from .audit import EVENT_KINDS as EVENT_KINDS
    from .audit import AsyncAuditSink as AsyncAuditSink
    from .audit import AuditEvent as AuditEvent
    from .audit import AuditSink as AuditSink
    from .audit import audit_context as audit_context
    from .audit import audited_revoke as audited_revoke
    from .audit import emit as emit
    from .audit import event_fields as event_fields
    from .audit import event_line as event_line
    from .audit import issued_event as issued_event
    from .audit import refused_event as refused_event
    from .audit import validated_event as validated_event
    from .sinks import AsyncQueueSink as AsyncQueueSink
    from .sinks import Fanout as Fanout
    from .sinks import JsonFormatter as JsonFormatter
    from .sinks import LoggingSink as LoggingSink
    from .sinks import QueueSink as QueueSink

_LAZY = {
    "EVENT_KINDS": ".audit",
    "AsyncAuditSink": ".audit",
    "AuditEvent": ".audit",
    "AuditSink": ".audit",
    "audit_context": ".audit",
    "audited_revoke": ".audit",
    "emit": ".audit",
    "event_fields": ".audit",
    "event_line": ".audit",
    "issued_event": ".audit",
    "refused_event": ".audit",
    "validated_event": ".audit",
    "AsyncQueueSink": ".sinks",
    "Fanout": ".sinks",
    "JsonFormatter": ".sinks",
    "LoggingSink": ".sinks",
    "QueueSink": ".sinks",
    "AsyncWindowStore": ".anomaly",
    "WindowStore": ".anomaly",
    "AsyncRefusalBurstDetector": ".anomaly",
    "AsyncTokenSharingDetector": ".anomaly",
    "RefreshReuseDetector": ".anomaly",
    "RefusalBurstDetector": ".anomaly",
    "RetiredKeyDetector": ".anomaly",
    "TokenSharingDetector": ".anomaly",
    "MemoryWindows": ".anomaly",
    "AsyncRedisWindows": ".anomaly",
    "RedisWindows": ".anomaly",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
