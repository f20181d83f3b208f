"""Revocation lists in Redis, shared by every validator process and machine (sync and asyncio).

:class:`RedisRevocationList` (``redis.Redis``) and :class:`AsyncRedisRevocationList`
(``redis.asyncio.Redis``) have the semantics of :class:`~tokensmith.MemoryRevocationList`:
entries keyed on ``(issuer, jti)``, subject and session watermarks that only move forward, and
expiries that only move later. Both classes share one :class:`_Core` (key names, the Lua script,
argument checks, the decision, audit events and the local cache); only the I/O differs.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from .._options import flag, integer, seconds
from .._redis import (
    aclose as _aclose,
)
from .._redis import (
    async_subscription_client,
    build_connected,
    check_prefix,
    connect_async,
    encode_key_part,
    failures,
    require,
    subscription_client,
)
from ..claims import VerifiedToken
from ..errors import BackendUnavailable, ConfigurationError
from ..observability.audit import AuditEvent, AuditSink
from ..observability.audit import emit as emit_event
from ..policy import DEFAULT_LEEWAY, MAX_LEEWAY
from .base import check_entry, covered_by_watermark, watermark

__all__ = [
    "AsyncRedisRevocationList",
    "LocalCache",
    "RedisRevocationList",
]

_MAX_TTL_MS: Final = 10**15  # ~31 000 years: beyond that an entry is simply kept
_BACKOFF_MIN: Final = 0.05
_BACKOFF_MAX: Final = 1.0
_POLL: Final = 0.1  # how often the subscriber thread looks at its stop flag

# One revocation: merge with the stored entry (watermark only forward, expiry only later,
# unless the stored entry has already expired), set the TTL, publish the invalidation.
# Numbers are kept as the exact strings Python wrote (Lua's tostring would round them).
_REVOKE_LUA: Final = """
local function num(s)
  if s == 'inf' then return math.huge end
  if s == '-inf' then return -math.huge end
  return tonumber(s)
end
local mark, untl = ARGV[1], ARGV[2]
local now = num(ARGV[3])
local old = redis.call('GET', KEYS[1])
if old then
  local sep = string.find(old, '|', 1, true)
  if sep then
    local om, ou = string.sub(old, 1, sep - 1), string.sub(old, sep + 1)
    local omn, oun = num(om), num(ou)
    if omn and oun and oun > now then
      if omn > num(mark) then mark = om end
      if oun > num(untl) then untl = ou end
    end
  end
end
local ttl = math.ceil((num(untl) - now) * 1000)
if ttl > tonumber(ARGV[6]) then
  redis.call('SET', KEYS[1], mark .. '|' .. untl)
else
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[1], mark .. '|' .. untl, 'PX', ttl)
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""


@dataclass(frozen=True, slots=True)
class LocalCache:
    """Options of the opt-in in-process fast path for "not revoked" answers.

    * ``max_staleness`` — seconds an answer may be reused without asking Redis. Revocations
      normally reach every process within milliseconds through pub/sub; this bound holds even
      when a message is lost (the subscription is re-checked only through errors).
    * ``max_entries`` — the cache is emptied when it reaches this size (memory bound).
    """

    max_staleness: float = 1.0
    max_entries: int = 100_000

    def __post_init__(self) -> None:
        seconds("LocalCache.max_staleness", self.max_staleness, positive=True)
        integer("LocalCache.max_entries", self.max_entries, minimum=1)


_CacheKey = tuple[str | None, str | None, str | None, str | None, float | None]


class _Answers:
    """The "not revoked" answers of one process, and whether they may be trusted.

    ``entries`` is ``None`` while the invalidation subscription is not confirmed; every
    invalidation swaps in a new dict, so a lookup that began before it writes into a dict
    nobody reads any more (no lock on the hot path).
    """

    __slots__ = ("entries", "max_entries", "max_staleness")

    def __init__(self, options: LocalCache) -> None:
        self.max_staleness = float(options.max_staleness)
        self.max_entries = options.max_entries
        self.entries: dict[_CacheKey, float] | None = None

    def live(self) -> None:
        self.entries = {}

    def down(self) -> None:
        self.entries = None

    def invalidate(self) -> None:
        if self.entries is not None:
            self.entries = {}

    def store(self, entries: dict[_CacheKey, float], key: _CacheKey, now: float) -> None:
        if len(entries) >= self.max_entries:
            entries.clear()
        entries[key] = now


def _cache_key(token: VerifiedToken) -> _CacheKey:
    return (token.issuer, token.jti, token.subject, token.session_id, token.issued_at)


class _Malformed(Exception):
    """A stored value is not ours (treated like an outage: the decision is impossible)."""


class _Core:
    """Everything both classes share: names, checks, the decision, audit, the fast path."""

    def __init__(
        self,
        prefix: str,
        clock: Callable[[], float],
        grace: float,
        fail_open: bool,
        audit: AuditSink | None,
        local_cache: LocalCache | None,
    ) -> None:
        require()
        self.prefix = check_prefix(prefix)
        seconds("grace", grace, minimum=0)
        flag("fail_open", fail_open)
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be a callable taking an AuditEvent")
        if local_cache is not None and not isinstance(local_cache, LocalCache):
            raise ConfigurationError("local_cache must be a LocalCache")
        self.clock = clock
        self.grace = float(grace)
        self.fail_open = fail_open
        self.audit = audit
        self.channel = f"{self.prefix}revocations"
        self.answers = _Answers(local_cache) if local_cache is not None else None
        self._tags: dict[str, str] = {}

    # --- names ---------------------------------------------------------------------------------

    def tag(self, issuer: str) -> str:
        tags = self._tags
        found = tags.get(issuer)
        if found is None:
            found = f"{self.prefix}{{i.{encode_key_part(issuer)}}}:"
            if len(tags) < 1024:
                tags[issuer] = found
        return found

    def key(self, kind: str, issuer: str, value: str) -> str:
        return f"{self.tag(issuer)}{kind}:{encode_key_part(value)}"

    def lookup_keys(self, token: VerifiedToken) -> tuple[list[str], bool, bool, bool]:
        """The keys to MGET for ``token`` and which of jti / subject / session they are."""
        tag = self.tag(token.issuer or "")
        keys: list[str] = []
        jti, subject, sid = token.jti, token.subject, token.session_id
        if jti is not None:
            keys.append(f"{tag}j:{encode_key_part(jti)}")
        if subject is not None:
            keys.append(f"{tag}s:{encode_key_part(subject)}")
        if sid is not None:
            keys.append(f"{tag}x:{encode_key_part(sid)}")
        return keys, jti is not None, subject is not None, sid is not None

    # --- the decision --------------------------------------------------------------------------

    def decide(
        self,
        token: VerifiedToken,
        plan: tuple[list[str], bool, bool, bool],
        values: Sequence[object],
        now: float,
    ) -> bool:
        if len(values) != len(plan[0]):
            raise _Malformed("MGET answered the wrong number of values")
        position = 0
        if plan[1]:
            entry = _parse(values[0])
            position = 1
            if entry is not None and entry[1] > now:
                return True
        cutoff = -math.inf
        for present in (plan[2], plan[3]):
            if present:
                entry = _parse(values[position])
                position += 1
                if entry is not None and entry[1] > now:
                    cutoff = max(cutoff, entry[0])
        return cutoff > -math.inf and covered_by_watermark(token.issued_at, cutoff)

    # --- writes --------------------------------------------------------------------------------

    def write_args(
        self, kind: str, value: str, issuer: object, mark: float, expires_at: float
    ) -> tuple[str, list[str]] | None:
        """(key, script args) for one revocation, or ``None`` when it is already moot."""
        if not isinstance(issuer, str):
            raise ConfigurationError("issuer must be a string")
        now = self.clock()
        until = expires_at + self.grace
        if until <= now:
            return None  # every token it covers has already expired
        key = self.key(kind, issuer, value)
        args = [repr(float(mark)), repr(float(until)), repr(float(now))]
        return key, [*args, self.channel, key, str(_MAX_TTL_MS)]

    # --- failures ------------------------------------------------------------------------------

    def emit(
        self, kind: str, operation: str, exc: BaseException, token: VerifiedToken | None
    ) -> None:
        if self.audit is None:
            return
        emit_event(  # a failing sink must not turn a fail-open answer into an exception
            self.audit,
            AuditEvent(
                kind=kind,
                at=self.clock(),
                code=BackendUnavailable.code,
                jti=token.jti if token is not None else None,
                issuer=token.issuer if token is not None else None,
                detail={"backend": "redis", "operation": operation, "error": type(exc).__name__},
            ),
        )

    def read_failed(self, exc: BaseException, token: VerifiedToken) -> bool:
        """An ``is_revoked`` that could not be answered: fail closed, or open if configured."""
        if self.answers is not None:
            self.answers.invalidate()  # nothing learnt before an outage is reused after it
        if self.fail_open:
            self.emit("backend.fail_open", "is_revoked", exc, token)
            return False
        self.emit("backend.failure", "is_revoked", exc, token)
        raise BackendUnavailable(
            f"the Redis revocation list did not answer ({type(exc).__name__})"
        ) from exc

    def write_failed(self, exc: BaseException, operation: str) -> BackendUnavailable:
        self.emit("backend.failure", operation, exc, None)
        return BackendUnavailable(
            f"the Redis revocation list did not record the revocation ({type(exc).__name__})"
        )


def _parse(raw: object) -> tuple[float, float] | None:
    if raw is None:
        return None
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
        if not isinstance(text, str):
            raise _Malformed("not a string")
        mark, _, until = text.partition("|")
        parsed = float(mark), float(until)
    except (ValueError, UnicodeDecodeError):
        raise _Malformed("an entry is not a tokensmith revocation") from None
    if math.isnan(parsed[0]) or math.isnan(parsed[1]):
        raise _Malformed("an entry is not a tokensmith revocation")
    return parsed


def _failures() -> tuple[type[Exception], ...]:
    """What a Redis call of this module may raise for an outage (see ``_redis.failures``)."""
    return (*failures(), _Malformed)


# --- sync ------------------------------------------------------------------------------------


class RedisRevocationList:
    """A revocation list in Redis for every validator of a deployment (``redis.Redis``).

    :param client: a ``redis.Redis`` (or ``RedisCluster``) client; give it short timeouts
        (see :meth:`from_url`), since every validation waits for it.
    :param prefix: put in front of every key and the channel (multi-tenant Redis).
    :param grace: seconds an entry outlives the tokens it covers (validators' leeway).
    :param fail_open: answer "not revoked" when Redis fails (audited); default fail closed.
    :param audit: receives ``backend.failure`` / ``backend.fail_open`` events.
    :param local_cache: enable the in-process fast path (:class:`LocalCache`); starts a
        subscriber thread, stopped by :meth:`close`.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:",
        clock: Callable[[], float] = time.time,
        grace: float = MAX_LEEWAY,
        fail_open: bool = False,
        audit: AuditSink | None = None,
        local_cache: LocalCache | None = None,
    ) -> None:
        self._core = core = _Core(prefix, clock, grace, fail_open, audit, local_cache)
        self._client = client
        self._clock = clock
        self._answers = core.answers
        self._script = client.register_script(_REVOKE_LUA)
        self._owns_client = False
        self._subscriber: _SubscriberThread | None = None
        if core.answers is not None:
            self._subscriber = _SubscriberThread(client, core.channel, core.answers)
            self._subscriber.start()

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, **options: Any) -> RedisRevocationList:
        """Connect with validation-friendly timeouts (0.5 s, one immediate retry).

        ``cluster=True`` makes a ``RedisCluster`` client (``url`` names any node). The client
        is closed by :meth:`close`. ``options`` are this class's keyword arguments.
        """
        instance = build_connected(url, cluster, lambda client: cls(client, **options))
        instance._owns_client = True
        return instance

    @property
    def cache_live(self) -> bool:
        """True while the local fast path is enabled and its subscription is confirmed."""
        return self._answers is not None and self._answers.entries is not None

    def is_revoked(self, token: VerifiedToken) -> bool:
        """True when revoked by jti, subject or session: one ``MGET`` (or a warm cache hit)."""
        answers = self._answers
        if answers is not None:
            entries = answers.entries
            if entries is not None:
                key = _cache_key(token)
                now = self._clock()
                seen = entries.get(key)
                if seen is not None and 0.0 <= now - seen < answers.max_staleness:
                    return False
                revoked = self._ask(token, now)
                if not revoked:
                    answers.store(entries, key, now)
                return revoked
        return self._ask(token, self._clock())

    def _ask(self, token: VerifiedToken, now: float) -> bool:
        core = self._core
        plan = core.lookup_keys(token)
        if not plan[0]:
            return False
        try:
            values = self._client.mget(plan[0])
            return core.decide(token, plan, values, now)
        except _failures() as exc:
            return core.read_failed(exc, token)

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)``; the key lives until ``expires_at + grace``."""
        check_entry("jti", jti, expires_at)
        self._write("j", jti, issuer, math.inf, expires_at, "revoke")

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
        check_entry("subject", subject, expires_at)
        mark = watermark(before, skew)
        self._write("s", subject, issuer, mark, expires_at, "revoke_subject")

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
        check_entry("session_id", session_id, expires_at)
        mark = watermark(before, skew)
        self._write("x", session_id, issuer, mark, expires_at, "revoke_session")

    def _write(
        self, kind: str, value: str, issuer: str, mark: float, expires_at: float, operation: str
    ) -> None:
        core = self._core
        planned = core.write_args(kind, value, issuer, mark, expires_at)
        if planned is None:
            return
        try:
            self._script(keys=[planned[0]], args=planned[1])
        except _failures() as exc:
            raise core.write_failed(exc, operation) from exc
        if self._answers is not None:
            self._answers.invalidate()  # our own process sees it even before the message

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

    def __enter__(self) -> RedisRevocationList:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RedisRevocationList(prefix={self._core.prefix!r}, "
            f"fail_open={self._core.fail_open}, local_cache={self._answers is not None})"
        )


class _SubscriberThread:
    """Listens on the channel; every message empties the cache; errors take it down."""

    def __init__(self, client: Any, channel: str, answers: _Answers) -> None:
        self._client = client
        self._channel = channel
        self._answers = answers
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
        backoff = _BACKOFF_MIN
        try:
            while not self._stopping.is_set():
                if self._listen():
                    backoff = _BACKOFF_MIN
                self._answers.down()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
        finally:
            self._answers.down()

    def _listen(self) -> bool:
        """One subscription, until an error or stop; whether it was ever confirmed.

        The subscription has a private client without retries (the user's client may back off
        for seconds; an outage must take the cache down at once), made anew on every attempt:
        on a cluster it talks to a random node, so a dead node is left behind.
        """
        confirmed = False
        private = None
        pubsub = None
        try:
            private = subscription_client(self._client)
            pubsub = (private if private is not None else self._client).pubsub()
            pubsub.subscribe(self._channel)
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=_POLL)
                if message is None:
                    continue
                kind = message.get("type")
                if kind in ("subscribe", b"subscribe"):
                    self._answers.live()  # (re)subscribed: forget what was missed
                    confirmed = True
                elif kind in ("message", b"message"):
                    self._answers.invalidate()
        except Exception:  # any failure takes the cache down
            self._answers.down()
        finally:
            for resource in (pubsub, private):
                if resource is not None:
                    with contextlib.suppress(Exception):
                        resource.close()
        return confirmed


# --- asyncio ---------------------------------------------------------------------------------


class AsyncRedisRevocationList:
    """The asyncio twin of :class:`RedisRevocationList` over ``redis.asyncio``.

    Same arguments and behaviour; the fast path's subscriber is a task started by the first
    ``is_revoked`` (it needs the running loop) and stopped by :meth:`aclose`.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "tokensmith:",
        clock: Callable[[], float] = time.time,
        grace: float = MAX_LEEWAY,
        fail_open: bool = False,
        audit: AuditSink | None = None,
        local_cache: LocalCache | None = None,
    ) -> None:
        self._core = core = _Core(prefix, clock, grace, fail_open, audit, local_cache)
        self._client = client
        self._clock = clock
        self._answers = core.answers
        self._script = client.register_script(_REVOKE_LUA)
        self._owns_client = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()  # a flag only: redis-py may swallow a cancel
        self._closed = False

    @classmethod
    def from_url(
        cls, url: str, *, cluster: bool = False, **options: Any
    ) -> AsyncRedisRevocationList:
        """Connect with validation-friendly timeouts; :meth:`aclose` closes the client."""
        client = connect_async(url, cluster=cluster)
        instance = cls(client, **options)  # an unused asyncio client holds no connection
        instance._owns_client = True
        return instance

    @property
    def cache_live(self) -> bool:
        """True while the local fast path is enabled and its subscription is confirmed."""
        return self._answers is not None and self._answers.entries is not None

    def start(self) -> None:
        """Start the fast path's subscriber now (else the first ``is_revoked`` does)."""
        if self._answers is not None and self._task is None and not self._closed:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(
                _subscribe(self._client, self._core.channel, self._answers, self._stopping),
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
                key = _cache_key(token)
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
        plan = core.lookup_keys(token)
        if not plan[0]:
            return False
        try:
            values = await self._client.mget(plan[0])
            return core.decide(token, plan, values, now)
        except _failures() as exc:
            return core.read_failed(exc, token)

    async def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token by ``(issuer, jti)``; the key lives until ``expires_at + grace``."""
        check_entry("jti", jti, expires_at)
        await self._write("j", jti, issuer, math.inf, expires_at, "revoke")

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
        check_entry("subject", subject, expires_at)
        mark = watermark(before, skew)
        await self._write("s", subject, issuer, mark, expires_at, "revoke_subject")

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
        check_entry("session_id", session_id, expires_at)
        mark = watermark(before, skew)
        await self._write("x", session_id, issuer, mark, expires_at, "revoke_session")

    async def _write(
        self, kind: str, value: str, issuer: str, mark: float, expires_at: float, operation: str
    ) -> None:
        core = self._core
        planned = core.write_args(kind, value, issuer, mark, expires_at)
        if planned is None:
            return
        try:
            await self._script(keys=[planned[0]], args=planned[1])
        except _failures() as exc:
            raise core.write_failed(exc, operation) from exc
        if self._answers is not None:
            self._answers.invalidate()

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

    async def __aenter__(self) -> AsyncRedisRevocationList:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncRedisRevocationList(prefix={self._core.prefix!r}, "
            f"fail_open={self._core.fail_open}, local_cache={self._answers is not None})"
        )


async def _subscribe(
    client: Any, channel: str, answers: _Answers, stopping: threading.Event
) -> None:
    """The asyncio subscriber: same rules as :class:`_SubscriberThread`."""
    backoff = _BACKOFF_MIN
    try:
        while not stopping.is_set():
            if await _listen(client, channel, answers, stopping):
                backoff = _BACKOFF_MIN
            answers.down()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX)
    finally:
        answers.down()


async def _listen(client: Any, channel: str, answers: _Answers, stopping: threading.Event) -> bool:
    """One subscription (see :meth:`_SubscriberThread._listen`)."""
    confirmed = False
    private = None
    pubsub = None
    try:
        private = await async_subscription_client(client)
        pubsub = (private if private is not None else client).pubsub()
        await pubsub.subscribe(channel)
        while not stopping.is_set():
            message = await pubsub.get_message(timeout=_POLL)
            if message is None:
                continue
            kind = message.get("type")
            if kind in ("subscribe", b"subscribe"):
                answers.live()
                confirmed = True
            elif kind in ("message", b"message"):
                answers.invalidate()
    except asyncio.CancelledError:
        raise
    except Exception:  # any failure takes the cache down
        answers.down()
    finally:
        for resource in (pubsub, private):
            if resource is not None:
                with contextlib.suppress(Exception):
                    await _aclose(resource)
    return confirmed
