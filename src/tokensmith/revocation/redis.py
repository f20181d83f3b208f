"""Revocation lists in Redis, shared by every validator process and machine (sync and asyncio).

:class:`RedisRevocationList` (``redis.Redis``) and :class:`AsyncRedisRevocationList`
(``redis.asyncio.Redis``) have the semantics of :class:`~tokensmith.MemoryRevocationList`:
entries keyed on ``(issuer, jti)``, subject and session watermarks that only move forward, and
expiries that only move later. Both are thin faces over one sans-I/O core
(``tokensmith.revocation._redis_core``: options, key names, the Lua script, argument checks, the
decision, audit events, the local cache and the subscription's state machine); they only make
the round trips, and the subscriber is a thread in one and a task in the other.

Key layout (``P`` is the prefix, ``b64(x)`` is unpadded base64url of the UTF-8 bytes)::

    P{i.b64(issuer)}:j:b64(jti)        "inf|<until>"          revoked token
    P{i.b64(issuer)}:s:b64(subject)    "<before>|<until>"     subject watermark
    P{i.b64(issuer)}:x:b64(session)    "<before>|<until>"     session watermark
    Prevocations                       pub/sub channel (one message per revocation)

Every key of one issuer shares the hash tag ``{i.…}``, so the single ``MGET`` of
:meth:`~RedisRevocationList.is_revoked` (one round trip) is legal on Redis Cluster. Base64url
never contains ``{``, ``}``, ``:`` or ``|``, and the prefix may not contain braces, so no issuer or
id can forge another key or move a key to another slot. Each key carries a TTL equal to the
remaining lifetime of the tokens it covers plus ``grace`` (and the expiry inside the value, read
with the injected clock), so the list never grows without bound.

Any Redis error or timeout raises :class:`~tokensmith.errors.BackendUnavailable` and emits an
audit event ``backend.failure`` (fail closed). ``fail_open=True`` makes ``is_revoked`` answer
"not revoked" instead and emits ``backend.fail_open``; writes always fail closed.

The opt-in local fast path (:class:`LocalCache`) keeps "not revoked" answers in process for at
most ``max_staleness`` seconds; every revocation publishes on the channel and every subscriber
drops its whole cache. While the subscription is down the cache is bypassed. See
``docs/redis.md``.

The faces are written by hand, not generated from one another (``unasync``): what they share is
in the core, and what is left is the I/O itself, whose sync and async forms differ in more than
``await`` (a thread and its stop event against a task and its cancellation, ``close`` against
``aclose``). ``tests/revocation/test_redis_revocation.py`` keeps the two public surfaces equal.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._redis import (
    aclose as _aclose,
)
from .._redis import (
    async_subscription_client,
    build_connected,
    connect_async,
    register,
    subscription_client,
)
from ..claims import VerifiedToken
from ..policy import DEFAULT_LEEWAY
from ._redis_core import (
    POLL,
    REVOKE_LUA,
    Answers,
    Core,
    LocalCache,
    RedisRevocationOptions,
    Subscriber,
    Write,
    cache_key,
    outages,
)

if TYPE_CHECKING:  # annotations only
    from typing import Self

    from typing_extensions import Unpack

__all__ = [
    "AsyncRedisRevocationList",
    "LocalCache",
    "RedisRevocationList",
    "RedisRevocationOptions",
]


class _Base:
    """What both faces hold: the core, the client, its script, the fast path's answers."""

    def __init__(self, client: Any, options: RedisRevocationOptions) -> None:
        self._core = core = Core(**options)
        self._client = client
        self._clock = core.clock
        self._answers = core.answers
        self._script = register(client, REVOKE_LUA)
        self._owns_client = False

    @property
    def cache_live(self) -> bool:
        """True while the local fast path is enabled and its subscription is confirmed."""
        return self._answers is not None and self._answers.entries is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(prefix={self._core.prefix!r}, "
            f"fail_open={self._core.fail_open}, local_cache={self._answers is not None})"
        )


# --- sync ------------------------------------------------------------------------------------


class RedisRevocationList(_Base):
    """A revocation list in Redis for every validator of a deployment (``redis.Redis``).

    :param client: a ``redis.Redis`` (or ``RedisCluster``) client; give it short timeouts
        (see :meth:`from_url`), since every validation waits for it.
    :param options: :class:`RedisRevocationOptions`: ``prefix``, ``clock``, ``grace``,
        ``fail_open``, ``audit``, and ``local_cache`` (enables the in-process fast path; starts
        a subscriber thread, stopped by :meth:`close`).
    """

    def __init__(self, client: Any, **options: Unpack[RedisRevocationOptions]) -> None:
        super().__init__(client, options)
        self._subscriber: _SubscriberThread | None = None
        if self._answers is not None:
            self._subscriber = _SubscriberThread(client, self._core.channel, self._answers)
            self._subscriber.start()

    @classmethod
    def from_url(
        cls, url: str, *, cluster: bool = False, **options: Unpack[RedisRevocationOptions]
    ) -> Self:
        """Connect with validation-friendly timeouts (0.5 s, one immediate retry).

        ``cluster=True`` makes a ``RedisCluster`` client (``url`` names any node). The client
        is closed by :meth:`close`. ``options`` are this class's keyword arguments.
        """
        instance = build_connected(url, cluster, lambda client: cls(client, **options))
        instance._owns_client = True
        return instance

    def is_revoked(self, token: VerifiedToken) -> bool:
        """True when revoked by jti, subject or session: one ``MGET`` (or a warm cache hit)."""
        answers = self._answers
        if answers is not None:
            entries = answers.entries
            if entries is not None:
                key = cache_key(token)
                now = self._clock()
                seen = entries.get(key)
                if seen is not None and 0.0 <= now - seen < answers.max_staleness:
                    return False
                revoked = self._ask(token, now)
                if not revoked:
                    answers.store(entries, key, now)
                return revoked
        return self._ask(token, self._clock())

    def is_revoked_nowait(self, token: VerifiedToken) -> bool | None:
        """ "Not revoked" from a warm local cache; ``None`` when :meth:`is_revoked` would ask
        Redis (see :class:`~tokensmith.revocation.NonBlockingRevocationList`)."""
        answers = self._answers
        entries = None if answers is None else answers.entries
        if entries is None:
            return None
        seen = entries.get(cache_key(token))
        if seen is not None and 0.0 <= self._clock() - seen < answers.max_staleness:  # type: ignore[union-attr]
            return False
        return None

    def _ask(self, token: VerifiedToken, now: float) -> bool:
        core = self._core
        plan = core.lookup(token)
        if not plan.keys:
            return False
        try:
            return core.decide(token, plan, self._client.mget(plan.keys), now)
        except outages() as exc:
            return core.read_failed(exc, token)

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)``; the key lives until ``expires_at + grace``."""
        self._write(self._core.revoke(jti, issuer, expires_at))

    def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew`` (forward
        only)."""
        self._write(self._core.revoke_subject(subject, issuer, before, expires_at, skew))

    def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of the session (issued at or before ``before + skew``)."""
        self._write(self._core.revoke_session(session_id, issuer, before, expires_at, skew))

    def _write(self, write: Write | None) -> None:
        if write is None:
            return
        try:
            self._script(keys=[write.key], args=write.args)
        except outages() as exc:
            raise self._core.write_failed(exc, write.operation) from exc
        self._core.written()

    def close(self) -> None:
        """Stop the subscriber thread (and close the client if :meth:`from_url` made it)."""
        if self._subscriber is not None:
            self._subscriber.stop()
            self._subscriber = None
        if self._answers is not None:
            self._answers.down()
        if self._owns_client:
            self._owns_client = False
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _SubscriberThread:
    """Drives the :class:`~tokensmith.revocation._redis_core.Subscriber` from a thread."""

    def __init__(self, client: Any, channel: str, answers: Answers) -> None:
        self._client = client
        self._channel = channel
        self._machine = Subscriber(answers)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="tokensmith-revocation-subscriber", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._listen()
                self._stopping.wait(self._machine.ended())
        finally:
            self._machine.failed()

    def _listen(self) -> None:
        """One subscription, until an error or stop.

        The subscription has a private client without retries (the user's client may back off
        for seconds; an outage must take the cache down at once), made anew on every attempt:
        on a cluster it talks to a random node, so a dead node is left behind.
        """
        machine = self._machine
        machine.attempt()
        private = pubsub = None
        try:
            private = subscription_client(self._client)
            pubsub = (private if private is not None else self._client).pubsub()
            pubsub.subscribe(self._channel)
            while not self._stopping.is_set():
                machine.received(pubsub.get_message(timeout=POLL))
        except Exception:  # any failure takes the cache down
            machine.failed()
        finally:
            for resource in (pubsub, private):
                if resource is not None:
                    with contextlib.suppress(Exception):
                        resource.close()


# --- asyncio ---------------------------------------------------------------------------------


class AsyncRedisRevocationList(_Base):
    """The asyncio twin of :class:`RedisRevocationList` over ``redis.asyncio``.

    Same options and behaviour; the fast path's subscriber is a task started by the first
    ``is_revoked`` (it needs the running loop) or :meth:`start`, and stopped by :meth:`aclose`.
    """

    def __init__(self, client: Any, **options: Unpack[RedisRevocationOptions]) -> None:
        super().__init__(client, options)
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()  # a flag only: redis-py may swallow a cancel
        self._closed = False

    @classmethod
    def from_url(
        cls, url: str, *, cluster: bool = False, **options: Unpack[RedisRevocationOptions]
    ) -> Self:
        """Connect with validation-friendly timeouts; :meth:`aclose` closes the client."""
        client = connect_async(url, cluster=cluster)
        instance = cls(client, **options)  # an unused asyncio client holds no connection
        instance._owns_client = True
        return instance

    def start(self) -> None:
        """Start the fast path's subscriber now (else the first ``is_revoked`` does)."""
        if self._answers is not None and self._task is None and not self._closed:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(
                self._subscribe(Subscriber(self._answers)),
                name="tokensmith-revocation-subscriber",
            )

    async def is_revoked(self, token: VerifiedToken) -> bool:
        """True when revoked by jti, subject or session: one ``MGET`` (or a warm cache hit)."""
        answers = self._answers
        if answers is not None:
            if self._task is None:
                self.start()
            entries = answers.entries
            if entries is not None:
                key = cache_key(token)
                now = self._clock()
                seen = entries.get(key)
                if seen is not None and 0.0 <= now - seen < answers.max_staleness:
                    return False
                revoked = await self._ask(token, now)
                if not revoked:
                    answers.store(entries, key, now)
                return revoked
        return await self._ask(token, self._clock())

    async def _ask(self, token: VerifiedToken, now: float) -> bool:
        core = self._core
        plan = core.lookup(token)
        if not plan.keys:
            return False
        try:
            return core.decide(token, plan, await self._client.mget(plan.keys), now)
        except outages() as exc:
            return core.read_failed(exc, token)

    async def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)``; the key lives until ``expires_at + grace``."""
        await self._write(self._core.revoke(jti, issuer, expires_at))

    async def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew`` (forward
        only)."""
        await self._write(self._core.revoke_subject(subject, issuer, before, expires_at, skew))

    async def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of the session (issued at or before ``before + skew``)."""
        await self._write(self._core.revoke_session(session_id, issuer, before, expires_at, skew))

    async def _write(self, write: Write | None) -> None:
        if write is None:
            return
        try:
            await self._script(keys=[write.key], args=write.args)
        except outages() as exc:
            raise self._core.write_failed(exc, write.operation) from exc
        self._core.written()

    async def aclose(self) -> None:
        """Stop the subscriber task (and close the client if :meth:`from_url` made it)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            task.cancel()
            await asyncio.wait({task}, timeout=5)
        if self._answers is not None:
            self._answers.down()
        if self._owns_client:
            self._owns_client = False
            await _aclose(self._client)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _subscribe(self, machine: Subscriber) -> None:
        """Drives the subscription's state machine from a task (as :class:`_SubscriberThread`)."""
        try:
            while not self._stopping.is_set():
                await self._listen(machine)
                await asyncio.sleep(machine.ended())
        finally:
            machine.failed()

    async def _listen(self, machine: Subscriber) -> None:
        """One subscription (see :meth:`_SubscriberThread._listen`)."""
        machine.attempt()
        private = pubsub = None
        try:
            private = await async_subscription_client(self._client)
            pubsub = (private if private is not None else self._client).pubsub()
            await pubsub.subscribe(self._core.channel)
            while not self._stopping.is_set():
                machine.received(await pubsub.get_message(timeout=POLL))
        except Exception:  # any failure takes the cache down
            machine.failed()
        finally:
            for resource in (pubsub, private):
                if resource is not None:
                    with contextlib.suppress(Exception):
                        await _aclose(resource)
