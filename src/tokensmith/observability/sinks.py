"""Where audit events go: logging (plain or JSON lines), background queues, several sinks.

:class:`LoggingSink` writes events to :mod:`logging` (with the fields in the record's ``audit``
attribute, and :class:`JsonFormatter` to print them as one JSON object per line);
:class:`QueueSink` moves delivery to a background thread so the request path only pays for a
``put``; :class:`Fanout` feeds several sinks (e.g. logging plus the anomaly detectors of
:mod:`tokensmith.observability.anomaly`).

In an asyncio service, calling a :class:`QueueSink` never blocks the event loop (await
:meth:`QueueSink.aflush` / :meth:`QueueSink.aclose` rather than ``flush``/``close``), and
:class:`AsyncQueueSink` delivers on the loop itself, awaiting async sinks such as
:class:`~tokensmith.observability.anomaly.AsyncRefusalBurstDetector`.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import inspect
import json
import logging
import math
import queue
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from .._options import integer
from ..errors import ConfigurationError
from ._lines import escaped, word
from .audit import AsyncAuditSink, AuditEvent, AuditSink, emit, event_fields, event_line

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncQueueSink", "Fanout", "JsonFormatter", "LoggingSink", "QueueSink"]

_log: Final = logging.getLogger("tokensmith.audit")

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
        return "".join(c if c.isprintable() else escaped(c) for c in line)


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
    :class:`~tokensmith.observability.anomaly.RedisWindows`, happens on the thread).
    ``flush`` and ``close`` wait for that thread: from a coroutine, await :meth:`aflush` and
    :meth:`aclose` instead.
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
        """Events dropped so far (the queue was full, or the sink closed): watch it."""
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
    :class:`~tokensmith.observability.anomaly.AsyncRefusalBurstDetector` over
    :class:`~tokensmith.observability.anomaly.AsyncRedisWindows`. Sync sinks are called on the
    loop, so give it only ones that never block (:class:`LoggingSink`, detectors over
    :class:`~tokensmith.observability.anomaly.MemoryWindows`); put blocking ones behind a
    :class:`QueueSink`.

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
        """Events dropped so far (the buffer was full, or the sink closed): watch it."""
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
            _log.exception(
                "audit sink %s failed on a %s event",
                word(type(sink).__name__),
                word(str(event.kind)),
            )

    return wait
