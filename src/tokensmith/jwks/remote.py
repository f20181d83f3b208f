"""A key source fed by an issuer's published JWKS: cached, rate-limited, resilient.

Two thin faces, :class:`RemoteJWKS` (threads) and :class:`AsyncRemoteJWKS` (asyncio), over one
sans-I/O core (``tokensmith.jwks._remote_core``: the snapshot, every decision and how a response
is applied), one set of options (``tokensmith.jwks._remote_config``: :class:`RemoteJWKSOptions`,
their defaults and checks) and one JWKS parser (:mod:`tokensmith.jwks.document`). The faces
only wait (a lock or a shared task), fetch (a :class:`Transport` or an :class:`AsyncTransport`)
and swap the snapshot.

The steady state costs a clock read, one comparison and one dict lookup: the cache is an
immutable snapshot swapped by reference, so the hot path takes no lock. Everything else
(expiry, an unknown ``kid``, an outage) goes through the slow path, where fetches are
single-flight. Rules, all documented in ``docs/remote-jwks.md``:

* TTL from ``Cache-Control: max-age`` (minus ``Age``; ASCII digits only), clamped to
  ``[min_ttl, max_ttl]``; refreshes are conditional (``If-None-Match``), a 304 extends the
  current set under the stored lifetime policy unless it carries its own (RFC 9111 §4.3.4).
* An unknown ``kid`` refetches, at most ``cooldown_burst`` fruitless times per ``cooldown``
  window; a refetch that finds new keys costs nothing, withdrawn kids, unusable ones and kids
  refetched for within the window cost no request, and a fetch that began after the lookup
  answers every lookup waiting on it (so N concurrent unknown kids cost one request).
* Stale-if-error: when a refresh fails, the last good set keeps serving up to ``max_stale``
  seconds past its expiry, and a kid it lacks is :class:`~tokensmith.errors.UnknownKey` (401;
  keys are published ahead). Without a usable set (the very first fetch failed, or beyond
  ``max_stale``) lookups raise :class:`~tokensmith.errors.JWKSFetchError`, a
  :class:`~tokensmith.errors.BackendUnavailable` (503).
* Anything going wrong while a response is applied is a failed fetch, never another exception;
  the background refresh never stops. ``refresh(force=True)`` fetches now, unconditionally.
* Keys are read by the one JWKS parser (``tokensmith.jwks.document``): unusable ones (no ``alg`` and
  no ``default_algorithms`` entry, not for verifying, private or symmetric material, weak,
  malformed, duplicate kid) are skipped and reported, never fatal.

Why the faces are written by hand rather than generated (httpcore's ``unasync``): the two
differ in more than ``await``. The sync face makes concurrent lookups wait on a lock (trying it
first, so an expired set keeps serving while another thread refreshes); the async face shares
one shielded task, so a lookup cancelled by its client never cancels the fetch others wait on;
it also runs a blocking :class:`Transport` in a worker thread; the background refresh is a
thread in one and a task in the other. A token-for-token translation would need sync and async
primitives with one interface for all of that, which would be more code than the faces are.
What both share sits in the core, and ``tests/jwks/test_remote_faces.py`` keeps the two public
surfaces identical.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Final

from .._http import (
    ACCEPTED_CONTENT_TYPES,
    AsyncTransport,
    HTTPResponse,
    StdlibTransport,
    Transport,
    afetch,
    any_transport,
    blocking_transport,
)
from .._options import flag
from ..errors import JWKSFetchError
from ..keys import Key
from ..observability.audit import emit
from ._remote_config import Config, RemoteJWKSOptions
from ._remote_core import Core, Reason, State, as_fetch_error, fetch_outcome, log

if TYPE_CHECKING:  # annotations only
    from typing import Self

    from typing_extensions import Unpack

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "AsyncRemoteJWKS",
    "AsyncTransport",
    "HTTPResponse",
    "RemoteJWKS",
    "RemoteJWKSOptions",
    "StdlibTransport",
    "Transport",
]

_BACKGROUND_POLL = 1.0  # real seconds between background checks at most
_BACKGROUND_BACKOFF = 1.0  # real seconds before the background refresh tries again after a bug
_FAILED: Final = "remote JWKS %s: background refresh failed"


class _RemoteBase:
    """What both faces share: the core, the snapshot, audit emission, read-only views."""

    __slots__ = ("_clock", "_core", "_seq", "_state")

    def __init__(self, config: Config) -> None:
        self._core = Core(config)
        self._clock = config.clock
        self._state = Core.initial()
        self._seq: Iterator[int] = itertools.count()

    @property
    def url(self) -> str:
        """The JWKS URL."""
        return self._core.config.url

    @property
    def issuer(self) -> str | None:
        """The pinned issuer: a :class:`~tokensmith.Validator` accepts only this ``iss``."""
        return self._core.config.issuer

    @property
    def kids(self) -> frozenset[str]:
        """The kids of the cached key set (empty before the first successful fetch)."""
        return frozenset(self._state.by_kid or ())

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        """``(kid, reason)`` for every key of the last document that could not be used."""
        return self._state.skipped

    @property
    def fresh_until(self) -> float:
        """When the cached set expires (``-inf`` before the first fetch)."""
        return self._state.fresh_until

    @property
    def last_error(self) -> JWKSFetchError | None:
        """Why the last fetch failed, or ``None`` if it succeeded."""
        return self._state.error

    def _request(self, st: State, reason: str) -> tuple[str, dict[str, str], float, int]:
        """The arguments of ``transport.fetch`` for a fetch from ``st`` for ``reason``."""
        config = self._core.config
        return config.url, Core.request_headers(st, reason), config.timeout, config.max_bytes

    def _install(
        self,
        st: State,
        outcome: HTTPResponse | JWKSFetchError,
        reason: str,
        seq: int,
        kid: str | None,
    ) -> None:
        new, events = self._core.apply(st, outcome, self._clock(), reason, seq, kid)
        self._state = new
        audit = self._core.config.audit
        for event in events:
            emit(audit, event)  # a broken sink must not break key lookups

    def __repr__(self) -> str:
        c = self._core.config
        return f"{type(self).__name__}(host={c.host!r}, issuer={c.issuer!r}, kids={len(self.kids)})"


class RemoteJWKS(_RemoteBase):
    """A :class:`~tokensmith.KeySource` reading an issuer's JWKS over HTTPS (sync face).

    :param url: the JWKS URL; https only (plain http for loopback addresses only).
    :param issuer: pin this key set to one issuer: a :class:`~tokensmith.Validator` built on it
        accepts only tokens whose ``iss`` is exactly this value.
    :param transport: a :class:`~tokensmith.jwks.Transport` (default: the standard library).
    :param options: :class:`~tokensmith.jwks.RemoteJWKSOptions` (cache lifetimes, refetch
        budget, stale-if-error, limits, ``clock``, ``audit``); with ``background_refresh=True``
        a daemon thread refreshes before expiry: call :meth:`close`.
    """

    __slots__ = ("_forced_seq", "_lock", "_stop", "_thread", "_transport")

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None = None,
        transport: Transport | None = None,
        **options: Unpack[RemoteJWKSOptions],
    ) -> None:
        super().__init__(Config(url, issuer, **options))
        self._transport = blocking_transport(transport)
        self._lock = threading.Lock()
        self._forced_seq = -1  # when the last forced fetch began
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._core.config.background_refresh:
            self._thread = threading.Thread(
                target=self._background, name="tokensmith-jwks-refresh", daemon=True
            )
            self._thread.start()

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (:class:`~tokensmith.KeySource`)."""
        st = self._state
        if self._clock() < st.check_at:
            key = st.by_kid.get(kid) if kid is not None else st.by_alg.get(alg)  # type: ignore[union-attr]
            if key is not None and key.alg == alg:
                return key
        return self._slow(kid, alg)

    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        """:meth:`verification_key` from the cached set, or ``None`` when it would fetch or
        wait for a fetch (see :class:`~tokensmith.stores.NonBlockingKeySource`): an unknown
        ``kid`` that may be refetched, an expired set no other thread is refreshing, no set."""
        st = self._state
        now = self._clock()
        if now < st.check_at:
            key = st.by_kid.get(kid) if kid is not None else st.by_alg.get(alg)  # type: ignore[union-attr]
            if key is not None and key.alg == alg:
                return key
        action = self._core.decide(st, kid, alg, now, sys.maxsize)  # no fetch answered it yet
        if action == "expired" and self._lock.locked():  # refreshing: serve it, as _slow does
            return self._core.stale_key(st, kid, alg, now)
        return action if isinstance(action, Key) else None  # a reason to fetch: ask in a thread

    def _slow(self, kid: str | None, alg: str) -> Key:
        """Single flight on the lock; while another thread refreshes an expired set, a key it
        still holds is served instead of waiting."""
        seq = next(self._seq)
        core = self._core
        while True:
            st = self._state
            now = self._clock()
            action = core.decide(st, kid, alg, now, seq)
            if isinstance(action, Key):
                return action
            if not self._lock.acquire(blocking=False):
                if action == "expired":
                    key = core.stale_key(st, kid, alg, now)
                    if key is not None:
                        return key
                self._lock.acquire()
            try:
                if self._state is st:
                    self._fetch(st, action, kid)
                else:  # joined a fetch in flight during this lookup: its answer is ours
                    seq = min(seq, self._state.started - 1)
            finally:
                self._lock.release()

    def _fetch(self, st: State, reason: Reason, kid: str | None = None) -> None:
        """One HTTP exchange and the snapshot it yields; the caller holds the lock."""
        seq = next(self._seq)
        outcome: HTTPResponse | JWKSFetchError
        try:
            outcome = fetch_outcome(self._transport.fetch(*self._request(st, reason)))
        except Exception as exc:
            outcome = as_fetch_error(exc)
        self._install(st, outcome, reason, seq, kid)

    def refresh(self, *, force: bool = False) -> None:
        """Fetch now (e.g. at start-up, to fail fast); raises if the fetch failed.

        ``force=True`` is for incident response (a key was removed from the issuer's set and
        must stop verifying now, not when the cache expires): an unconditional request (no
        ``If-None-Match``) that starts after this call, whatever ``min_ttl`` and the cache
        say, and that forgets the unknown-kid refetch budget. Concurrent forced refreshes
        share one request: a caller that finds a forced fetch begun after its own call
        takes that fetch's answer.
        """
        forced = flag("force", force)
        called = next(self._seq)
        with self._lock:
            if not (forced and self._forced_seq > called):
                self._fetch(self._state, "forced" if forced else "manual")
                if forced:
                    self._forced_seq = self._state.started
            error = self._state.error
        if error is not None:
            raise error

    def _background(self) -> None:
        """Refresh before expiry until :meth:`close`; nothing that goes wrong ends the loop."""
        while True:
            try:
                wait = self._background_step()
            except Exception:  # a bug or a broken clock: log it and try again later
                log.exception(_FAILED, self._core.config.host)
                wait = _BACKGROUND_BACKOFF
            if self._stop.wait(wait):
                return

    def _background_step(self) -> float:
        """Refresh if due; the seconds to wait before the next check."""
        st = self._state
        wait = self._core.background_wait(st, self._clock(), _BACKGROUND_POLL)
        if wait is not None:
            return wait
        with self._lock:
            if self._state is st:
                self._fetch(st, "background")
        return 0.0

    def close(self) -> None:
        """Stop the background refresh thread (if any) and wait for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncRemoteJWKS(_RemoteBase):
    """The asyncio face of :class:`RemoteJWKS` (an :class:`~tokensmith.AsyncKeySource`).

    Same options and rules. ``transport`` may be an :class:`~tokensmith.jwks.AsyncTransport`
    or a blocking :class:`~tokensmith.jwks.Transport` (the default), which then runs in a
    worker thread. Concurrent lookups needing a fetch share one task. Use it from one event
    loop; with ``background_refresh=True`` a task refreshes before expiry (started on first use
    or by ``async with``); stop it with :meth:`aclose`.
    """

    __slots__ = (
        "_background_enabled",
        "_forced",
        "_forced_started",
        "_inflight",
        "_task",
        "_transport",
    )

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None = None,
        transport: AsyncTransport | Transport | None = None,
        **options: Unpack[RemoteJWKSOptions],
    ) -> None:
        super().__init__(Config(url, issuer, **options))
        self._transport = any_transport(transport)
        self._inflight: asyncio.Task[None] | None = None
        self._forced: asyncio.Task[None] | None = None  # the last forced fetch
        self._forced_started = -1  # when it began
        self._task: asyncio.Task[None] | None = None
        self._background_enabled = self._core.config.background_refresh

    async def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (:class:`~tokensmith.AsyncKeySource`)."""
        st = self._state
        if self._clock() < st.check_at:
            key = st.by_kid.get(kid) if kid is not None else st.by_alg.get(alg)  # type: ignore[union-attr]
            if key is not None and key.alg == alg:
                return key
        return await self._slow(kid, alg)

    async def _slow(self, kid: str | None, alg: str) -> Key:
        """Single flight on one shielded task (a cancelled lookup never cancels the fetch
        others wait on); while it refreshes an expired set, a key it holds is served."""
        if self._background_enabled and self._task is None:
            self._start_background()
        seq = next(self._seq)
        core = self._core
        while True:
            st = self._state
            now = self._clock()
            action = core.decide(st, kid, alg, now, seq)
            if isinstance(action, Key):
                return action
            task = self._inflight
            if task is not None and not task.done():
                if action == "expired":
                    key = core.stale_key(st, kid, alg, now)
                    if key is not None:
                        return key
                await asyncio.shield(task)  # joined a fetch in flight: its answer is ours
                seq = min(seq, self._state.started - 1)
            elif self._state is st:
                task = self._inflight = asyncio.get_running_loop().create_task(
                    self._fetch(st, action, kid)
                )
                await asyncio.shield(task)
            else:
                seq = min(seq, self._state.started - 1)

    async def _fetch(self, st: State, reason: Reason, kid: str | None = None) -> None:
        """One HTTP exchange and the snapshot it yields; run as the shared task."""
        seq = next(self._seq)
        if reason == "forced":
            self._forced_started = seq
        outcome: HTTPResponse | JWKSFetchError
        try:
            outcome = fetch_outcome(await afetch(self._transport, *self._request(st, reason)))
        except Exception as exc:
            outcome = as_fetch_error(exc)
        self._install(st, outcome, reason, seq, kid)

    async def _refresh_once(self, reason: Reason) -> None:
        task = self._inflight
        if task is None or task.done():
            task = self._inflight = asyncio.get_running_loop().create_task(
                self._fetch(self._state, reason)
            )
        await asyncio.shield(task)

    async def refresh(self, *, force: bool = False) -> None:
        """Fetch now (e.g. at start-up, to fail fast); raises if the fetch failed.

        ``force=True``: as :meth:`RemoteJWKS.refresh` — an unconditional fetch that starts
        after this call (a fetch already in flight is awaited, then a new one is made),
        shared by every concurrent forced refresh, whatever ``min_ttl`` and the cache say.
        """
        if flag("force", force):
            await self._force()
        else:
            await self._refresh_once("manual")
        error = self._state.error
        if error is not None:
            raise error

    async def _force(self) -> None:
        called = next(self._seq)
        while True:
            forced = self._forced
            if forced is not None and self._forced_started > called:  # not begun before: ours
                await asyncio.shield(forced)
                return
            task = self._inflight
            if task is not None and not task.done():  # it may predate the incident: wait
                await asyncio.shield(task)
                continue
            self._forced_started = sys.maxsize  # until it begins (see _fetch)
            task = self._inflight = self._forced = asyncio.get_running_loop().create_task(
                self._fetch(self._state, "forced")
            )
            await asyncio.shield(task)
            return

    def _start_background(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._background())

    async def _background(self) -> None:
        """Refresh before expiry until :meth:`aclose`; nothing that goes wrong ends the loop."""
        while True:
            try:
                wait = await self._background_step()
            except Exception:  # a bug or a broken clock: log it and try again later
                log.exception(_FAILED, self._core.config.host)
                wait = _BACKGROUND_BACKOFF
            await asyncio.sleep(wait)

    async def _background_step(self) -> float:
        """Refresh if due; the seconds to wait before the next check."""
        wait = self._core.background_wait(self._state, self._clock(), _BACKGROUND_POLL)
        if wait is not None:
            return wait
        await self._refresh_once("background")
        return 0.0

    async def aclose(self) -> None:
        """Cancel the background task and any fetch in flight."""
        self._background_enabled = False
        for task in (self._task, self._inflight):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        self._inflight = None
        self._forced = None

    async def __aenter__(self) -> Self:
        if self._background_enabled and self._task is None:
            self._start_background()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
