"""Sync and async twins keep one public surface: the same names, parameters and defaults.

The faces of a feature (``RemoteJWKS`` / ``AsyncRemoteJWKS``, the Redis revocation lists, the
rate limiters...) are written by hand over one shared core; this check is what keeps them from
drifting: every public method of one exists in the other (``close`` ↔ ``aclose``,
``__enter__`` ↔ ``__aenter__``), the async one is a coroutine function exactly where the sync
one does I/O, and both take the same parameters with the same defaults.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

_RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
_CONTEXT = frozenset({"__enter__", "__exit__", "__aenter__", "__aexit__"})


def _public(cls: type) -> dict[str, Any]:
    names = {n for n in dir(cls) if not n.startswith("_")} | _CONTEXT
    found = {}
    for name in names:
        attr = inspect.getattr_static(cls, name, None)
        if attr is not None and name not in dir(object):
            found[name] = attr
    return found


def _shape(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    """Names, kinds and defaults of the parameters (annotations may differ: Transport vs
    AsyncTransport)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def _function(attr: Any) -> Callable[..., Any] | None:
    if isinstance(attr, classmethod | staticmethod):
        return attr.__func__
    return attr if inspect.isfunction(attr) else None


def assert_twins(
    sync: type,
    asynchronous: type,
    *,
    sync_only: Iterable[str] = (),
    async_only: Iterable[str] = (),
    same: Iterable[str] = (),
) -> None:
    """``asynchronous`` is ``sync`` with ``await``: see the module docstring. ``same`` names
    methods that are not coroutines in either face (no I/O: ``from_url`` builds a client)."""
    sync_attrs, async_attrs = _public(sync), _public(asynchronous)
    expected = {_RENAMED.get(n, n): n for n in sync_attrs if n not in set(sync_only)}
    extra = set(async_attrs) - set(expected) - set(async_only)
    assert set(expected) <= set(async_attrs), (
        f"missing in {asynchronous.__name__}: {sorted(set(expected) - set(async_attrs))}"
    )
    assert not extra, f"only in {asynchronous.__name__}: {sorted(extra)}"
    for async_name, sync_name in expected.items():
        s, a = sync_attrs[sync_name], async_attrs[async_name]
        assert type(s) is type(a), f"{sync_name}: {type(s).__name__} vs {type(a).__name__}"
        s_fn, a_fn = _function(s), _function(a)
        if s_fn is None or a_fn is None:
            continue  # a property or a constant
        assert _shape(s_fn) == _shape(a_fn), f"{sync_name} and {async_name} take other parameters"
        awaited = sync_name not in set(same) and not isinstance(s, classmethod | staticmethod)
        assert not inspect.iscoroutinefunction(s_fn), f"{sync.__name__}.{sync_name} is async"
        assert inspect.iscoroutinefunction(a_fn) is awaited, f"{async_name}: async or not?"


def assert_twin_functions(sync: Callable[..., Any], asynchronous: Callable[..., Any]) -> None:
    """Two module functions (``discover`` / ``adiscover``): same parameters, one awaited."""
    assert _shape(sync) == _shape(asynchronous)
    assert not inspect.iscoroutinefunction(sync) and inspect.iscoroutinefunction(asynchronous)
