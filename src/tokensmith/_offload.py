"""Run a blocking backend call off the event loop, in a small bounded pool of threads.

:meth:`Validator.avalidate <tokensmith.Validator.avalidate>` sends here the calls of a sync key
source or revocation list that may do I/O (a JWKS fetch, a file, SQLite, Redis), so the loop
keeps serving while they wait. Why a pool of our own rather than the loop's default executor
(``asyncio.to_thread``): the default one is shared with the application and with
``getaddrinfo``, is per loop, and grows to 32 threads; ours is one per process, loop-agnostic,
and bounded twice:

* :data:`WORKERS` threads run backend calls at once. Enough to overlap a slow JWKS fetch with
  Redis lookups, small enough to bound connections (one SQLite connection per thread) and the
  extra load on a struggling backend. Sync backends single-flight their own fetches, so more
  threads would only wait on the same lock.
* :data:`MAX_PENDING` calls may be running or queued; one more is refused at once with
  :class:`~tokensmith.errors.BackendUnavailable` (503). A stalled backend then costs fast 503s,
  not an ever-growing queue of requests waiting on it, and never more than :data:`WORKERS`
  stuck threads.

A process forked after using the pool (gunicorn ``--preload``) starts a pool of its own.

A cancelled caller stops waiting at once. Its call is dropped if it had not started; a call
already running cannot be interrupted (Python threads cannot be), so it runs until the backend
returns, which every tokensmith backend bounds with its own timeout (the JWKS ``timeout``, the
Redis socket timeout, SQLite's ``busy_timeout``), and its slot is freed then. Exceptions cross
the boundary unchanged (the caller maps them as it would inline); the caller's context
variables (audit context, tracing) are copied into the thread, as ``asyncio.to_thread`` does.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeVar

from .errors import BackendUnavailable

__all__ = ["MAX_PENDING", "WORKERS", "pending", "run_blocking"]

T = TypeVar("T")

WORKERS: Final = 8
"""Threads running blocking backend calls at once, per process."""

MAX_PENDING: Final = 64
"""Blocking backend calls running or queued at once, per process; beyond: 503 at once."""

_lock = threading.Lock()
_pending = 0
_executor: ThreadPoolExecutor | None = None


def _forget_after_fork() -> None:  # pragma: no cover - runs in the forked child (tested)
    """In a forked child (gunicorn ``--preload``...) the parent's threads do not exist: a pool
    inherited from it would queue calls that never run. The child starts its own."""
    global _executor, _lock, _pending  # noqa: PLW0603
    _executor = None
    _lock = threading.Lock()
    _pending = 0


if hasattr(os, "register_at_fork"):  # pragma: no branch - not on Windows
    os.register_at_fork(after_in_child=_forget_after_fork)


def pending() -> int:
    """Blocking backend calls running or queued now (for tests and metrics)."""
    return _pending


def _pool() -> ThreadPoolExecutor:
    """The process's pool, made on first use (an import starts no thread)."""
    global _executor  # noqa: PLW0603 - one pool per process, made lazily
    if _executor is None:
        _executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="tokensmith-backend")
    return _executor


def _release(_: Future[Any]) -> None:
    global _pending  # noqa: PLW0603 - the process-wide count of calls in the pool
    with _lock:
        _pending -= 1


async def run_blocking(call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` in the pool; its result or exception, or
    :class:`~tokensmith.errors.BackendUnavailable` when :data:`MAX_PENDING` calls are in."""
    global _pending  # noqa: PLW0603
    with _lock:
        if _pending >= MAX_PENDING:
            raise BackendUnavailable(
                "too many blocking backend calls are waiting; is a key source or revocation "
                "list stalled?"
            )
        _pending += 1
        pool = _pool()
    try:
        future = pool.submit(contextvars.copy_context().run, call, *args)
    except RuntimeError as exc:  # the interpreter is shutting down
        with _lock:
            _pending -= 1
        raise BackendUnavailable("the process is shutting down") from exc
    future.add_done_callback(_release)  # when the thread is done, not when the caller is
    return await asyncio.wrap_future(future)
