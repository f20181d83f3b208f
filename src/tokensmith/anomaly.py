"""Anomaly detectors fed by the audit stream; each is itself an :data:`~tokensmith.audit.AuditSink`.

Put them behind a :class:`~tokensmith.audit.Fanout` with your logging sink; each emits
``AuditEvent(kind="anomaly", detail={"signal": ...})`` to its own ``emit`` sink:

* :class:`RefusalBurstDetector` — ``refusal_burst``: at least ``threshold`` refusals from one IP
  (or for one subject) within ``window`` seconds;
* :class:`TokenSharingDetector` — ``token_shared``: one ``jti`` validated from more than
  ``max_ips`` distinct IPs within ``window`` seconds (a stolen or shared token);
* :class:`RefreshReuseDetector` — ``refresh_reuse``: forwards ``refresh.reuse_detected``;
* :class:`RetiredKeyDetector` — ``retired_key_near_expiry``: a token signed by a *retired* key
  validated within ``margin`` seconds of that key's ``not_after`` (a replica that missed the
  rotation, or tokens minted with a lingering key, will soon fail).

Time is the event's ``at`` (so a :class:`~tokensmith.testing.FakeClock` drives everything).
Windows live in a :class:`WindowStore`: :class:`MemoryWindows` (one process) or
:class:`RedisWindows` (a sorted set per key with a TTL, shared by every process). A signal
fires once per key and window: after firing it stays quiet until ``window`` seconds passed.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, runtime_checkable

from ._redis import check_prefix, connect, encode_key_part
from .audit import AuditEvent, AuditSink, emit
from .errors import BackendUnavailable, ConfigurationError
from .keys import Key
from .keyset import KeySet

__all__ = [
    "MemoryWindows",
    "RedisWindows",
    "RefreshReuseDetector",
    "RefusalBurstDetector",
    "RetiredKeyDetector",
    "TokenSharingDetector",
    "WindowStore",
]


@runtime_checkable
class WindowStore(Protocol):
    """Sliding windows of timestamped members, counted per key."""

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """Record ``member`` at ``at``; return how many distinct members ``key`` has in
        ``(at - window, at]`` (re-adding a member refreshes its time)."""
        ...


class MemoryWindows:
    """In-process windows; keys with nothing left in their window are dropped as they age."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._data: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        cutoff = at - window
        with self._lock:
            members = self._data.get(key)
            if members is None:
                if len(self._data) >= self._max_keys:
                    self._sweep(cutoff)
                members = self._data[key] = {}
            members[member] = at
            stale = [m for m, t in members.items() if t <= cutoff]
            for m in stale:
                del members[m]
            return len(members)

    def _sweep(self, cutoff: float) -> None:
        for key in [
            k for k, m in self._data.items() if max(m.values(), default=-math.inf) <= cutoff
        ]:
            del self._data[key]
        while len(self._data) >= self._max_keys:  # all busy: drop the oldest key
            del self._data[next(iter(self._data))]


_ADD_LUA: Final = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
"""


class RedisWindows:
    """Windows in Redis: one sorted set per key (score = time), trimmed and counted atomically.

    Every key expires ``window`` seconds after its last addition, so idle keys vanish.
    ``client`` is a sync ``redis.Redis`` or ``RedisCluster``; :meth:`from_url` makes one with
    tokensmith's timeouts. A Redis failure raises
    :class:`~tokensmith.errors.BackendUnavailable` (the detector's caller logs it).
    """

    def __init__(self, client: Any, *, prefix: str = "tokensmith:anomaly:") -> None:
        if not callable(getattr(client, "register_script", None)):
            raise ConfigurationError("client must be a redis.Redis client")
        self._prefix = check_prefix(prefix)
        self._client = client
        self._script = client.register_script(_ADD_LUA)

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, **options: Any) -> RedisWindows:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry);
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        client = connect(url, cluster=cluster)
        try:
            return cls(client, **options)
        except BaseException:
            client.close()
            raise

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    def add(self, key: str, member: str, at: float, window: float) -> int:
        """See :meth:`WindowStore.add`."""
        args = (f"{at:.6f}", member, f"{at - window:.6f}", max(1, math.ceil(window * 1000)))
        name = self._prefix + encode_key_part(key)
        try:
            return int(self._script(keys=[name], args=args))
        except Exception as exc:
            raise BackendUnavailable(f"anomaly windows failed with {type(exc).__name__}") from exc


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise ConfigurationError(f"{name} must be a positive {'int' if integer else 'number'}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be positive")


class _Detector:
    """Shared plumbing: where signals go, the window store, once-per-window firing."""

    def __init__(self, emit_to: AuditSink, window: float, store: WindowStore | None) -> None:
        if not callable(emit_to):
            raise ConfigurationError("emit must be an AuditSink")
        _positive("window", window)
        if store is not None and not isinstance(store, WindowStore):
            raise ConfigurationError("store must provide add(key, member, at, window)")
        self.emit = emit_to
        self.window = float(window)
        self.store: WindowStore = store if store is not None else MemoryWindows()
        self._fired: dict[str, float] = {}
        self._lock = threading.Lock()

    def _should_fire(self, key: str, at: float) -> bool:
        with self._lock:
            last = self._fired.get(key)
            if last is not None and at - last < self.window:
                return False
            if len(self._fired) > 10_000:
                self._fired = {k: t for k, t in self._fired.items() if at - t < self.window}
            self._fired[key] = at
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


class RefusalBurstDetector(_Detector):
    """``refusal_burst``: ``threshold`` or more ``token.refused`` events per IP/subject in a window.

    ``by`` names the event fields to count by (``"ip"``, ``"subject"``, ``"client_id"``).
    """

    def __init__(
        self,
        emit: AuditSink,
        *,
        threshold: int = 20,
        window: float = 60.0,
        by: Iterable[str] = ("ip", "subject"),
        store: WindowStore | None = None,
    ) -> None:
        super().__init__(emit, window, store)
        _positive("threshold", threshold, integer=True)
        self.threshold = threshold
        self.by = tuple(by)
        if not self.by or not set(self.by) <= {"ip", "subject", "client_id"}:
            raise ConfigurationError("by must name 'ip', 'subject' and/or 'client_id'")

    def __call__(self, event: AuditEvent) -> None:
        """Count a refusal; emit a signal when a key reaches the threshold."""
        if event.kind != "token.refused":
            return
        member = f"{event.at:.6f}:{os.urandom(6).hex()}"  # every refusal counts
        for field in self.by:
            value = getattr(event, field)
            if not value:
                continue
            key = f"refused:{field}:{value}"
            count = self.store.add(key, member, event.at, self.window)
            if count >= self.threshold and self._should_fire(key, event.at):
                self._signal(
                    event,
                    "refusal_burst",
                    by=field,
                    count=str(count),
                    window=f"{self.window:g}",
                )


class TokenSharingDetector(_Detector):
    """``token_shared``: one ``jti`` validated from more than ``max_ips`` distinct IPs."""

    def __init__(
        self,
        emit: AuditSink,
        *,
        max_ips: int = 3,
        window: float = 300.0,
        store: WindowStore | None = None,
    ) -> None:
        super().__init__(emit, window, store)
        _positive("max_ips", max_ips, integer=True)
        self.max_ips = max_ips

    def __call__(self, event: AuditEvent) -> None:
        """Count the IP a token was validated from; signal past ``max_ips`` distinct ones."""
        if event.kind != "token.validated" or not event.jti or not event.ip:
            return
        key = f"jti:{event.issuer or ''}:{event.jti}"
        count = self.store.add(key, event.ip, event.at, self.window)
        if count > self.max_ips and self._should_fire(key, event.at):
            self._signal(event, "token_shared", distinct_ips=str(count), window=f"{self.window:g}")


class RefreshReuseDetector:
    """``refresh_reuse``: every ``refresh.reuse_detected`` event becomes an anomaly signal."""

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
    """

    def __init__(
        self,
        emit: AuditSink,
        *,
        keys: KeySet | KeyLookup | Any,
        margin: float = 3600.0,
    ) -> None:
        super().__init__(emit, margin, None)
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
