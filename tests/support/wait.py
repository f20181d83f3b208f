"""The one polling helper: wait for a condition another thread, process or server brings about.

Only for what cannot be driven by an injected clock (a pub/sub message, a subprocess, a
server's own timer). The deadline is generous because the machine may be loaded; a condition
that never comes fails the test with an ``AssertionError`` naming ``what``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

INTERVAL = 0.005


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 5.0,
    interval: float = INTERVAL,
    what: str = "the condition",
) -> T:
    """Call ``condition`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(interval)


@overload
async def await_until(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...
@overload
async def await_until(
    condition: Callable[[], T],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...
async def await_until(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 5.0,
    interval: float = INTERVAL,
    what: str = "the condition",
) -> T:
    """The coroutine twin of :func:`wait_until`: ``condition`` may be sync or async, and the
    loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(interval)
