"""Structured audit events: what happened to which token, never the token itself.

Every component that takes an ``audit=`` argument calls it with an :class:`AuditEvent`. An event
names the token by its fingerprint and ``jti``; it never carries the token or key material.

Delivery: any callable is a sink. :class:`LoggingSink` writes events to :mod:`logging` (with the
fields in the record's ``audit`` attribute, and :class:`JsonFormatter` to print them as one JSON
object per line); :class:`QueueSink` moves delivery to a background thread so the request path
only pays for a ``put``; :class:`Fanout` feeds several sinks (e.g. logging plus the anomaly
detectors of :mod:`tokensmith.anomaly`). :func:`audit_context` attaches the client IP (and other
request fields) to the events emitted while handling one request.

In an asyncio service, calling a :class:`QueueSink` never blocks the event loop (await
:meth:`QueueSink.aflush` / :meth:`QueueSink.aclose` rather than ``flush``/``close``), and
:class:`AsyncQueueSink` delivers on the loop itself, awaiting async sinks such as
:class:`~tokensmith.anomaly.AsyncRefusalBurstDetector`.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import datetime
import inspect
import json
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from ._options import integer
from .claims import fingerprint
from .errors import BackendUnavailable, ConfigurationError
from .revocation.base import revoke_token

if TYPE_CHECKING:
    import asyncio

    from .claims import VerifiedToken
    from .errors import TokensmithError
    from .revocation.base import RevocationList

__all__ = [
    "EVENT_KINDS",
    "AsyncAuditSink",
    "AsyncQueueSink",
    "AuditEvent",
    "AuditSink",
    "Fanout",
    "JsonFormatter",
    "LoggingSink",
    "QueueSink",
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
            _word(type(sink).__name__),
            _word(str(event.kind)),
        )


# --- text rendering: one line per event, whatever the values hold ----------------------------

_ESCAPES: Final[Mapping[str, str]] = MappingProxyType(
    {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
)
_WORD: Final = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def _escaped(char: str) -> str:
    """One character as it may appear inside a quoted value (JSON string escapes)."""
    known = _ESCAPES.get(char)
    if known is not None:
        return known
    if char.isprintable():
        return char
    code = ord(char)
    if code > 0xFFFF:  # JSON has no astral escape: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _quote(text: str) -> str:
    """``text`` as a double-quoted JSON string literal that holds no unprintable character.

    Quotes and backslashes are escaped, and so is every character that is not printable
    (``\\n``, ``\\r``, ``\\t``, other C0/C1 controls, U+2028/U+2029, lone surrogates...), so a
    value can neither end the line nor pose as another ``key=value`` pair. ``json.loads``
    reads it back to ``text``.
    """
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return '"' + "".join(map(_escaped, text)) + '"'


def _word(text: str) -> str:
    """``text`` bare when it is one plain word (an event kind, a class name), else quoted."""
    return text if _WORD.fullmatch(text) else _quote(text)


def event_line(event: AuditEvent) -> str:
    """The event as one line of text: ``<kind> key="value" ... detail.<key>="value" at=<time>``.

    Every value is a quoted, escaped JSON string (see :class:`LoggingSink`), so whatever a
    ``kid``, subject, client id or :func:`audit_context` value holds, the line stays one line
    and its ``key=value`` pairs are exactly the event's fields. ``detail`` entries are
    prefixed with ``detail.`` so they can never pose as a field (a ``detail["ip"]`` is
    ``detail.ip``).
    """
    parts = [_word(str(event.kind))]
    for name in _FIELDS:
        value = getattr(event, name)
        if value is not None:
            parts.append(f"{name}={_quote(str(value))}")
    for key, value in event.detail.items():
        parts.append(f"detail.{_word(str(key))}={_quote(str(value))}")
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
    ip, detail = _context()
    return AuditEvent(
        kind="token.validated",
        at=at,
        fingerprint=token.fingerprint,
        jti=token.jti,
        subject=token.subject,
        client_id=token.client_id,
        issuer=token.issuer,
        kid=token.key_id,
        ip=ip,
        detail=detail,
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
    ip, detail = _context()
    if reason is not None:
        detail = {**detail, "reason": reason}
    emit(
        audit,
        AuditEvent(
            kind="token.revoked",
            at=clock(),
            fingerprint=token.fingerprint if token._raw else None,
            jti=token.jti,
            subject=token.subject,
            client_id=token.client_id,
            issuer=token.issuer,
            kid=token.key_id,
            ip=ip,
            detail=detail,
        ),
    )


# --- delivery ---------------------------------------------------------------------------------

_DEFAULT_LEVELS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "token.refused": logging.WARNING,
        "refresh.reuse_detected": logging.WARNING,
        "anomaly": logging.WARNING,
        "backend.failure": logging.ERROR,
        "backend.fail_open": logging.ERROR,
    }
)


class LoggingSink:
    """Writes each event as one :mod:`logging` record; the fields are in ``record.audit``.

    The message is ``audit`` and :func:`event_line`: the same fields as ``key="value"`` pairs,
    each value quoted with control characters, quotes and anything unprintable escaped, so
    plain formatters stay useful and no value can forge a line or a pair;
    :class:`JsonFormatter` prints the structured form. Refusals, reuse and anomalies log at
    WARNING, backend failures at ERROR, the rest at INFO (``levels`` overrides).
    """

    __slots__ = ("levels", "logger")

    def __init__(
        self,
        logger: logging.Logger | str | None = None,
        *,
        levels: Mapping[str, int] | None = None,
    ) -> None:
        if logger is None or isinstance(logger, str):
            logger = logging.getLogger(logger or "tokensmith.audit")
        self.logger = logger
        self.levels: Mapping[str, int] = {**_DEFAULT_LEVELS, **(levels or {})}

    def __repr__(self) -> str:
        return f"LoggingSink(logger={self.logger.name!r})"

    def __call__(self, event: AuditEvent) -> None:
        """Log ``event`` (nothing is formatted when the logger's level filters it out)."""
        level = self.levels.get(event.kind, logging.INFO)
        if not self.logger.isEnabledFor(level):
            return
        fields = event_fields(event)
        self.logger.log(level, "audit %s", event_line(event), extra={"audit": fields})


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line: time, level, logger, message, ``audit``.

    Exceptions are included as text under ``exc``. Non-JSON values are rendered with ``str``.
    Non-ASCII text stays readable, but every unprintable character (C1 controls, U+2028 and
    U+2029, which many line readers split on, lone surrogates) is written as a ``\\u`` escape.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        out: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, Mapping):
            out["audit"] = dict(audit)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(out, default=str, ensure_ascii=False, separators=(",", ":"))
        if line.isprintable():
            return line
        return "".join(c if c.isprintable() else _escaped(c) for c in line)


class Fanout:
    """Feeds one event to several sinks; one failing sink does not starve the others.

    As safe to call from a coroutine as the slowest of its sinks.
    """

    __slots__ = ("sinks",)

    def __init__(self, *sinks: AuditSink) -> None:
        if not all(callable(s) for s in sinks):
            raise ConfigurationError("every sink must be callable")
        self.sinks = sinks

    def __call__(self, event: AuditEvent) -> None:
        """Deliver to every sink (see :func:`emit`)."""
        for sink in self.sinks:
            emit(sink, event)


_STOP: Final = object()


class QueueSink:
    """Delivers events to ``sink`` from a background thread: the caller only enqueues.

    The queue is bounded (``maxsize``, approximately under concurrency); when it is full events
    are dropped and counted in :attr:`dropped` rather than blocking a request. Enqueueing is a
    lock-free C ``SimpleQueue.put`` (well under a microsecond). :meth:`close` (or leaving the
    ``with`` block) delivers what is queued, then stops the thread.

    Calling it is safe from a coroutine (the sink's I/O, e.g. a detector over
    :class:`~tokensmith.anomaly.RedisWindows`, happens on the thread). ``flush`` and ``close``
    wait for that thread: from a coroutine, await :meth:`aflush` and :meth:`aclose` instead.
    """

    def __init__(self, sink: AuditSink, *, maxsize: int = 10_000) -> None:
        if not callable(sink):
            raise ConfigurationError("sink must be callable")
        integer("maxsize", maxsize, minimum=1)
        self._sink = sink
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._maxsize = maxsize
        self._closed = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="tokensmith-audit", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"QueueSink(sink={type(self._sink).__name__}, dropped={self.dropped})"

    def __call__(self, event: AuditEvent) -> None:
        """Enqueue ``event`` without blocking (dropped and counted when full or closed)."""
        if self._closed or self._queue.qsize() >= self._maxsize:
            self.dropped += 1
            return
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):  # a flush marker
                item.set()
                continue
            emit(self._sink, item)  # type: ignore[arg-type]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far has been delivered; False on timeout."""
        if not self._thread.is_alive():
            return self._queue.empty()
        marker = threading.Event()
        self._queue.put(marker)
        return marker.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver the queued events and stop the thread (idempotent)."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout if math.isfinite(timeout) else None)

    async def aflush(self, timeout: float = 10.0) -> bool:
        """:meth:`flush` for a coroutine: the wait happens in a worker thread, not the loop."""
        import asyncio  # noqa: PLC0415 - only async services pay for importing asyncio

        return await asyncio.to_thread(self.flush, timeout)

    async def aclose(self, timeout: float = 5.0) -> None:
        """:meth:`close` for a coroutine: the wait happens in a worker thread, not the loop."""
        import asyncio  # noqa: PLC0415

        await asyncio.to_thread(self.close, timeout)

    @property
    def running(self) -> bool:
        """True while the delivery thread is alive."""
        return self._thread.is_alive()

    def __enter__(self) -> QueueSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_async(sink: object) -> bool:
    return inspect.iscoroutinefunction(sink) or inspect.iscoroutinefunction(
        getattr(sink, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


class AsyncQueueSink:
    """The asyncio twin of :class:`QueueSink`: callers only enqueue; a task on the event loop
    delivers each event to ``sinks`` in order, awaiting the async ones.

    Use it where the sinks do async I/O, such as
    :class:`~tokensmith.anomaly.AsyncRefusalBurstDetector` over
    :class:`~tokensmith.anomaly.AsyncRedisWindows`. Sync sinks are called on the loop, so give
    it only ones that never block (:class:`LoggingSink`, detectors over
    :class:`~tokensmith.anomaly.MemoryWindows`); put blocking ones behind a :class:`QueueSink`.

    Calling it never blocks and is safe from the loop and from other threads (a validator run
    in an executor): it appends to a bounded buffer (``maxsize``; when full, events are dropped
    and counted in :attr:`dropped`) and wakes the task. Start it inside the running loop
    (``async with AsyncQueueSink(...) as audit:`` or :meth:`start` in the app's startup); events
    received before that wait in the buffer. A failing sink is logged, never raised.
    """

    def __init__(self, *sinks: AuditSink | AsyncAuditSink, maxsize: int = 10_000) -> None:
        if not sinks or not all(callable(s) for s in sinks):
            raise ConfigurationError("give at least one sink; every sink must be callable")
        integer("maxsize", maxsize, minimum=1)
        self._deliver = tuple(_deliverer(sink) for sink in sinks)
        self._maxsize = maxsize
        self._pending: collections.deque[AuditEvent] = collections.deque()
        self._counts = threading.Lock()  # accepted / dropped, from any thread
        self._accepted = 0
        self._delivered = 0
        self._closed = False
        self.dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wake: asyncio.Event | None = None
        self._progress: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AsyncQueueSink(sinks={len(self._deliver)}, dropped={self.dropped})"

    def __call__(self, event: AuditEvent) -> None:
        """Enqueue ``event`` without blocking (dropped and counted when full or closed)."""
        with self._counts:
            if self._closed or len(self._pending) >= self._maxsize:
                self.dropped += 1
                return
            self._pending.append(event)
            self._accepted += 1
        self._notify()

    def _notify(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return  # not started: delivered once it is
        if threading.get_ident() == self._loop_thread:
            wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
            loop.call_soon_threadsafe(wake.set)

    def start(self) -> None:
        """Start delivering, on the running event loop (idempotent)."""
        if self._task is not None:
            return
        import asyncio  # noqa: PLC0415 - only async services pay for importing asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "start an AsyncQueueSink inside a running event loop"
            ) from None
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._wake, self._progress = asyncio.Event(), asyncio.Condition()
        self._task = loop.create_task(
            self._run(self._wake, self._progress), name="tokensmith-audit"
        )

    async def _run(self, wake: asyncio.Event, progress: asyncio.Condition) -> None:
        while True:
            while self._pending:
                event = self._pending.popleft()
                for deliver in self._deliver:
                    await deliver(event)
                async with progress:
                    self._delivered += 1
                    progress.notify_all()
            if self._closed:
                return
            wake.clear()  # nothing is pending now; a later append sets it again after this
            await wake.wait()

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event accepted so far has been delivered; False on timeout."""
        import asyncio  # noqa: PLC0415

        self.start()
        assert self._progress is not None
        target = self._accepted
        progress = self._progress

        async def delivered() -> None:
            async with progress:
                await progress.wait_for(lambda: self._delivered >= target)

        try:
            await asyncio.wait_for(delivered(), timeout if math.isfinite(timeout) else None)
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the task (idempotent)."""
        import asyncio  # noqa: PLC0415

        self.start()
        with self._counts:
            self._closed = True
        self._notify()
        assert self._task is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.shield(self._task), timeout if math.isfinite(timeout) else None
            )

    @property
    def running(self) -> bool:
        """True while the delivery task is alive."""
        return self._task is not None and not self._task.done()

    async def __aenter__(self) -> AsyncQueueSink:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _deliverer(sink: AuditSink | AsyncAuditSink) -> AsyncAuditSink:
    """How :class:`AsyncQueueSink` delivers to one sink: awaited if async, else :func:`emit`.

    Either way a failure is logged, never raised.
    """
    if not _is_async(sink):
        sync = cast("AuditSink", sink)

        async def call(event: AuditEvent) -> None:
            emit(sync, event)

        return call
    awaited = cast("AsyncAuditSink", sink)

    async def wait(event: AuditEvent) -> None:
        try:
            await awaited(event)
        except Exception:
            _log.exception("audit sink %s failed on a %s event", type(sink).__name__, event.kind)

    return wait
