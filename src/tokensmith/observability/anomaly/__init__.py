"""Anomaly detectors fed by the audit stream; each is itself an audit sink.

Put them behind a :class:`~tokensmith.observability.Fanout` with your logging sink; each emits
``AuditEvent(kind="anomaly", detail={"signal": ...})`` to its own ``emit`` sink:

* :class:`RefusalBurstDetector` — ``refusal_burst``: at least ``threshold`` refusals from one
  client address (or for one subject) within ``window`` seconds;
* :class:`TokenSharingDetector` — ``token_shared``: one ``jti`` validated from more than
  ``max_ips`` distinct client addresses within ``window`` seconds (a stolen or shared token);
* :class:`RefreshReuseDetector` — ``refresh_reuse``: forwards ``refresh.reuse_detected``;
* :class:`RetiredKeyDetector` — ``retired_key_near_expiry``: a token signed by a *retired* key
  validated within ``margin`` seconds of that key's ``not_after`` (a replica that missed the
  rotation, or tokens minted with a lingering key, will soon fail).

Addresses are counted by :func:`~tokensmith.web.ratelimit.client_key`: every spelling of one
address is one client, and an IPv6 ``/64`` is one client (``ipv6_prefix=``).

Time is the event's ``at`` (so a :class:`~tokensmith.testing.FakeClock` drives everything).
Windows live in a :class:`WindowStore`: :class:`MemoryWindows` (one process) or
:class:`RedisWindows` (a sorted set per key with a TTL, shared by every process). A signal
fires once per key and window: after firing it stays quiet until ``window`` seconds passed.

**asyncio.** :class:`MemoryWindows` and the detectors over it never block. :class:`RedisWindows`
does network I/O: in an asyncio service use :class:`AsyncRedisWindows` with
:class:`AsyncRefusalBurstDetector` / :class:`AsyncTokenSharingDetector` (delivered by an
:class:`~tokensmith.observability.AsyncQueueSink`), or keep the sync detectors behind a
:class:`~tokensmith.observability.QueueSink`, whose thread does the waiting.
"""

import typing as _typing

from ..._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .base import AsyncWindowStore as AsyncWindowStore
    from .base import WindowStore as WindowStore
    from .detectors import AsyncRefusalBurstDetector as AsyncRefusalBurstDetector
    from .detectors import AsyncTokenSharingDetector as AsyncTokenSharingDetector
    from .detectors import RefreshReuseDetector as RefreshReuseDetector
    from .detectors import RefusalBurstDetector as RefusalBurstDetector
    from .detectors import RetiredKeyDetector as RetiredKeyDetector
    from .detectors import TokenSharingDetector as TokenSharingDetector
    from .memory import MemoryWindows as MemoryWindows
    from .redis import AsyncRedisWindows as AsyncRedisWindows
    from .redis import RedisWindows as RedisWindows
    from .redis import RedisWindowsOptions as RedisWindowsOptions

_LAZY = {
    "AsyncWindowStore": ".base",
    "WindowStore": ".base",
    "AsyncRefusalBurstDetector": ".detectors",
    "AsyncTokenSharingDetector": ".detectors",
    "RefreshReuseDetector": ".detectors",
    "RefusalBurstDetector": ".detectors",
    "RetiredKeyDetector": ".detectors",
    "TokenSharingDetector": ".detectors",
    "MemoryWindows": ".memory",
    "AsyncRedisWindows": ".redis",
    "RedisWindows": ".redis",
    "RedisWindowsOptions": ".redis",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
