"""The anomaly detectors: each reads audit events and emits ``anomaly`` events of its own.

See :mod:`tokensmith.observability.anomaly` for the signals, the time and window rules.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from ..._options import integer, seconds
from ...errors import ConfigurationError, NetworkNotAllowed
from ...keys import Key
from ...keyset import KeySet
from ...web.ratelimit.base import client_key
from ..audit import AuditEvent, AuditSink, emit
from .base import AsyncWindowStore, WindowStore
from .memory import MemoryWindows

__all__ = [
    "AsyncRefusalBurstDetector",
    "AsyncTokenSharingDetector",
    "RefreshReuseDetector",
    "RefusalBurstDetector",
    "RetiredKeyDetector",
    "TokenSharingDetector",
]

_MAX_FIRED: Final = 10_000
_UNREADABLE_ADDRESS: Final = "unreadable"


class _Detector:
    """Shared plumbing: where signals go, the window, once-per-window firing."""

    def __init__(self, emit_to: AuditSink, window: float) -> None:
        if not callable(emit_to):
            raise ConfigurationError("emit must be an AuditSink")
        seconds("window", window, positive=True)
        self.emit = emit_to
        self.window = float(window)
        self._fired: OrderedDict[str, float] = OrderedDict()  # in firing order
        self._lock = threading.Lock()

    def _should_fire(self, key: str, at: float) -> bool:
        with self._lock:
            fired = self._fired
            last = fired.get(key)
            if last is not None and at - last < self.window:
                return False
            while fired:  # forget keys whose quiet period is over (the oldest come first)
                oldest, when = next(iter(fired.items()))
                if len(fired) < _MAX_FIRED and at - when < self.window:
                    break
                del fired[oldest]
            fired[key] = at
            fired.move_to_end(key)
            return True

    def _signal(self, source: AuditEvent, signal: str, **detail: str) -> None:
        emit(
            self.emit,
            AuditEvent(
                kind="anomaly",
                at=source.at,
                code=source.code,
                fingerprint=source.fingerprint,
                jti=source.jti,
                subject=source.subject,
                client_id=source.client_id,
                issuer=source.issuer,
                kid=source.kid,
                ip=source.ip,
                detail={"signal": signal, **detail},
            ),
        )


class _AddressKeys:
    """How a detector names a client address: its :func:`~tokensmith.web.ratelimit.client_key`."""

    def __init__(self, ipv6_prefix: int, ipv4_prefix: int) -> None:
        self.ipv6_prefix = integer("ipv6_prefix", ipv6_prefix, minimum=0, maximum=128)
        self.ipv4_prefix = integer("ipv4_prefix", ipv4_prefix, minimum=0, maximum=32)

    def _address(self, ip: str) -> str:
        """The client's key; every unreadable address counts as one client, ``unreadable``."""
        try:
            return client_key(ip, ipv6_prefix=self.ipv6_prefix, ipv4_prefix=self.ipv4_prefix)
        except NetworkNotAllowed:
            return _UNREADABLE_ADDRESS


def _sync_store(store: object) -> WindowStore:
    if store is None:
        return MemoryWindows()
    if not isinstance(store, WindowStore):
        raise ConfigurationError("store must provide add(key, member, at, window)")
    if inspect.iscoroutinefunction(store.add):
        raise ConfigurationError("an async store needs the Async...Detector twin")
    return store


_AsyncAdd = Callable[[str, str, float, float], Awaitable[int]]


def _async_add(store: object) -> _AsyncAdd:
    """The async detectors take an :class:`AsyncWindowStore` or (never blocking) MemoryWindows."""
    if store is None or isinstance(store, MemoryWindows):
        memory = store if store is not None else MemoryWindows()

        async def add(key: str, member: str, at: float, window: float) -> int:
            return memory.add(key, member, at, window)

        return add
    if isinstance(store, AsyncWindowStore) and inspect.iscoroutinefunction(store.add):
        return store.add
    raise ConfigurationError("store must be an AsyncWindowStore (e.g. AsyncRedisWindows)")


class _RefusalBurst(_Detector, _AddressKeys):
    """What both refusal-burst detectors share: options, what to count, when to signal."""

    def __init__(
        self,
        emit: AuditSink,
        *,
        threshold: int,
        window: float,
        by: Iterable[str],
        ipv6_prefix: int,
        ipv4_prefix: int,
    ) -> None:
        _Detector.__init__(self, emit, window)
        _AddressKeys.__init__(self, ipv6_prefix, ipv4_prefix)
        integer("threshold", threshold, minimum=1)
        self.threshold = threshold
        self.by = tuple(by)
        if not self.by or not set(self.by) <= {"ip", "subject", "client_id"}:
            raise ConfigurationError("by must name 'ip', 'subject' and/or 'client_id'")

    def _counted(self, event: AuditEvent) -> list[tuple[str, str, str]]:
        """``(field, key, member)`` to add for a refusal (none for any other event)."""
        if event.kind != "token.refused":
            return []
        member = f"{event.at:.6f}:{os.urandom(6).hex()}"  # every refusal counts
        counted = []
        for field in self.by:
            value = getattr(event, field)
            if value:
                name = self._address(value) if field == "ip" else value
                counted.append((field, f"refused:{field}:{name}", member))
        return counted

    def _judge(self, event: AuditEvent, field: str, key: str, count: int) -> None:
        if count >= self.threshold and self._should_fire(key, event.at):
            self._signal(
                event, "refusal_burst", by=field, count=str(count), window=f"{self.window:g}"
            )


class RefusalBurstDetector(_RefusalBurst):
    """``refusal_burst``: ``threshold`` or more ``token.refused`` events per IP/subject in a window.

    ``by`` names the event fields to count by (``"ip"``, ``"subject"``, ``"client_id"``);
    addresses are counted by :func:`~tokensmith.web.ratelimit.client_key` (``ipv6_prefix``,
    ``ipv4_prefix``). Safe to call from a coroutine when its store is (:class:`MemoryWindows`,
    the default); with :class:`RedisWindows` keep it behind a
    :class:`~tokensmith.observability.QueueSink`, or use :class:`AsyncRefusalBurstDetector`.
    """

    def __init__(
        self,
        emit: AuditSink,
        *,
        threshold: int = 20,
        window: float = 60.0,
        by: Iterable[str] = ("ip", "subject"),
        store: WindowStore | None = None,
        ipv6_prefix: int = 64,
        ipv4_prefix: int = 32,
    ) -> None:
        super().__init__(
            emit,
            threshold=threshold,
            window=window,
            by=by,
            ipv6_prefix=ipv6_prefix,
            ipv4_prefix=ipv4_prefix,
        )
        self.store = _sync_store(store)

    def __call__(self, event: AuditEvent) -> None:
        """Count a refusal; emit a signal when a key reaches the threshold."""
        for field, key, member in self._counted(event):
            self._judge(event, field, key, self.store.add(key, member, event.at, self.window))


class AsyncRefusalBurstDetector(_RefusalBurst):
    """The asyncio twin of :class:`RefusalBurstDetector`: ``await detector(event)``, over an
    :class:`AsyncWindowStore` (:class:`AsyncRedisWindows`) or :class:`MemoryWindows` (the
    default). Safe to await from a coroutine. An async sink: deliver events to it with
    :class:`~tokensmith.observability.AsyncQueueSink`."""

    def __init__(
        self,
        emit: AuditSink,
        *,
        threshold: int = 20,
        window: float = 60.0,
        by: Iterable[str] = ("ip", "subject"),
        store: AsyncWindowStore | MemoryWindows | None = None,
        ipv6_prefix: int = 64,
        ipv4_prefix: int = 32,
    ) -> None:
        super().__init__(
            emit,
            threshold=threshold,
            window=window,
            by=by,
            ipv6_prefix=ipv6_prefix,
            ipv4_prefix=ipv4_prefix,
        )
        self._add = _async_add(store)

    async def __call__(self, event: AuditEvent) -> None:
        """See :meth:`RefusalBurstDetector.__call__`."""
        for field, key, member in self._counted(event):
            self._judge(event, field, key, await self._add(key, member, event.at, self.window))


class _TokenSharing(_Detector, _AddressKeys):
    """What both token-sharing detectors share."""

    def __init__(
        self, emit: AuditSink, *, max_ips: int, window: float, ipv6_prefix: int, ipv4_prefix: int
    ) -> None:
        _Detector.__init__(self, emit, window)
        _AddressKeys.__init__(self, ipv6_prefix, ipv4_prefix)
        integer("max_ips", max_ips, minimum=1)
        self.max_ips = max_ips

    def _counted(self, event: AuditEvent) -> tuple[str, str] | None:
        """``(key, member)``: the token and the client it was validated from."""
        if event.kind != "token.validated" or not event.jti or not event.ip:
            return None
        return f"jti:{event.issuer or ''}:{event.jti}", self._address(event.ip)

    def _judge(self, event: AuditEvent, key: str, count: int) -> None:
        if count > self.max_ips and self._should_fire(key, event.at):
            self._signal(event, "token_shared", distinct_ips=str(count), window=f"{self.window:g}")


class TokenSharingDetector(_TokenSharing):
    """``token_shared``: one ``jti`` validated from more than ``max_ips`` distinct clients.

    A client is a :func:`~tokensmith.web.ratelimit.client_key`: one IPv6 ``/64`` is one client (a
    phone moving between the privacy addresses of its ``/64`` is not sharing its token).
    Coroutine safety as for :class:`RefusalBurstDetector`; twin:
    :class:`AsyncTokenSharingDetector`.
    """

    def __init__(
        self,
        emit: AuditSink,
        *,
        max_ips: int = 3,
        window: float = 300.0,
        store: WindowStore | None = None,
        ipv6_prefix: int = 64,
        ipv4_prefix: int = 32,
    ) -> None:
        super().__init__(
            emit, max_ips=max_ips, window=window, ipv6_prefix=ipv6_prefix, ipv4_prefix=ipv4_prefix
        )
        self.store = _sync_store(store)

    def __call__(self, event: AuditEvent) -> None:
        """Count the client a token was validated from; signal past ``max_ips`` distinct ones."""
        counted = self._counted(event)
        if counted is not None:
            key, member = counted
            self._judge(event, key, self.store.add(key, member, event.at, self.window))


class AsyncTokenSharingDetector(_TokenSharing):
    """The asyncio twin of :class:`TokenSharingDetector` (see
    :class:`AsyncRefusalBurstDetector`)."""

    def __init__(
        self,
        emit: AuditSink,
        *,
        max_ips: int = 3,
        window: float = 300.0,
        store: AsyncWindowStore | MemoryWindows | None = None,
        ipv6_prefix: int = 64,
        ipv4_prefix: int = 32,
    ) -> None:
        super().__init__(
            emit, max_ips=max_ips, window=window, ipv6_prefix=ipv6_prefix, ipv4_prefix=ipv4_prefix
        )
        self._add = _async_add(store)

    async def __call__(self, event: AuditEvent) -> None:
        """See :meth:`TokenSharingDetector.__call__`."""
        counted = self._counted(event)
        if counted is not None:
            key, member = counted
            self._judge(event, key, await self._add(key, member, event.at, self.window))


class RefreshReuseDetector:
    """``refresh_reuse``: every ``refresh.reuse_detected`` event becomes an anomaly signal.

    No I/O of its own: safe to call from a coroutine when its ``emit`` sink is.
    """

    def __init__(self, emit: AuditSink) -> None:
        if not callable(emit):
            raise ConfigurationError("emit must be an AuditSink")
        self.emit = emit

    def __call__(self, event: AuditEvent) -> None:
        """Forward a refresh-token reuse as a signal (always: each one is an incident)."""
        if event.kind != "refresh.reuse_detected":
            return
        emit(
            self.emit,
            AuditEvent(
                kind="anomaly",
                at=event.at,
                code=event.code,
                fingerprint=event.fingerprint,
                jti=event.jti,
                subject=event.subject,
                client_id=event.client_id,
                issuer=event.issuer,
                kid=event.kid,
                ip=event.ip,
                detail={**event.detail, "signal": "refresh_reuse"},
            ),
        )


KeyLookup = Callable[[str], Key | None]
"""Returns the key with a given ``kid`` (with its lifecycle times), or ``None``."""


class RetiredKeyDetector(_Detector):
    """``retired_key_near_expiry``: a validation with a retired key close to its ``not_after``.

    ``keys`` gives the key state: a :class:`~tokensmith.KeySet`, anything with a ``keyset``
    attribute (:class:`~tokensmith.MemoryKeyStore`, the file store; read at each event, so
    rotations are seen), or a callable ``kid -> Key | None``. A key is *retired* when its
    ``retire_at`` has passed; the signal fires when the validation happens less than
    ``margin`` seconds before the key's ``not_after`` (once per key and ``margin``).

    Safe to call from a coroutine with a key set or lookup that does no I/O (a
    :class:`~tokensmith.KeySet`, a :class:`~tokensmith.MemoryKeyStore`); a file or Redis key
    store may reload (at most once per ``reload_interval``): keep it behind a
    :class:`~tokensmith.observability.QueueSink`.
    """

    def __init__(
        self,
        emit: AuditSink,
        *,
        keys: KeySet | KeyLookup | Any,
        margin: float = 3600.0,
    ) -> None:
        super().__init__(emit, margin)
        self._lookup = _lookup(keys)
        self.margin = float(margin)

    def __call__(self, event: AuditEvent) -> None:
        """Check the key of a validated token."""
        if event.kind != "token.validated" or not event.kid:
            return
        key = self._lookup(event.kid)
        if key is None or key.retire_at is None or key.not_after is None:
            return
        left = key.not_after - event.at
        if (
            event.at >= key.retire_at
            and 0 <= left < self.margin
            and self._should_fire(f"kid:{event.kid}", event.at)
        ):
            self._signal(event, "retired_key_near_expiry", seconds_left=f"{left:g}")


def _lookup(keys: object) -> KeyLookup:
    if isinstance(keys, KeySet):
        return keys.get
    if hasattr(keys, "keyset"):
        holder: Any = keys

        def current(kid: str) -> Key | None:  # read the set at each event: rotations are seen
            found: Key | None = holder.keyset.get(kid)
            return found

        return current
    if callable(keys):
        return keys
    raise ConfigurationError("keys must be a KeySet, a store with .keyset, or kid -> Key")
