"""The sans-I/O core of the Redis revocation lists: everything but the round trips.

:class:`Core` holds the options (:class:`RedisRevocationOptions`, their defaults and checks),
the key layout, the Lua script and its arguments, the decision over the values one ``MGET``
returned, the audit events and what an outage means; :class:`Answers` is the local fast path's
cache; :class:`Subscriber` is the invalidation subscription's state machine (what each message
or failure does to the cache, and how long to wait before subscribing again). The faces in
:mod:`tokensmith.revocation.redis` only talk to Redis, with ``redis.Redis`` or
``redis.asyncio``, from a thread or a task.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple, TypedDict

from .._options import flag, integer, known, seconds
from .._redis import check_prefix, encode_key_part, failures, require
from ..claims import VerifiedToken
from ..errors import BackendUnavailable, ConfigurationError
from ..observability.audit import AuditEvent, AuditSink
from ..observability.audit import emit as emit_event
from ..policy import MAX_LEEWAY
from .base import check_entry, covered_by_watermark, watermark

if TYPE_CHECKING:  # annotations only
    from typing_extensions import Unpack

__all__ = [
    "POLL",
    "REVOKE_LUA",
    "Answers",
    "Core",
    "LocalCache",
    "Lookup",
    "RedisRevocationOptions",
    "Subscriber",
    "Write",
    "cache_key",
    "outages",
]

POLL: Final = 0.1
"""Seconds a subscriber waits for a message before it looks at its stop flag again."""
_MAX_TTL_MS: Final = 10**15  # ~31 000 years: beyond that an entry is simply kept
_BACKOFF_MIN: Final = 0.05
_BACKOFF_MAX: Final = 1.0

# One revocation: merge with the stored entry (watermark only forward, expiry only later,
# unless the stored entry has already expired), set the TTL, publish the invalidation.
# Numbers are kept as the exact strings Python wrote (Lua's tostring would round them).
REVOKE_LUA: Final = """
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


class RedisRevocationOptions(TypedDict, total=False):
    """The options of :class:`~tokensmith.revocation.redis.RedisRevocationList`, its asyncio
    twin and their ``from_url``; all optional, the same for both faces.

    A type checker refuses a misspelled option at the call site; at run time an unknown name is
    a :class:`~tokensmith.errors.ConfigurationError`.
    """

    prefix: str
    """Put in front of every key and the channel (multi-tenant Redis); default
    ``"tokensmith:"``, no ``{`` or ``}``."""
    clock: Callable[[], float]
    """Seconds since the epoch; default :func:`time.time`."""
    grace: float
    """Seconds an entry outlives the tokens it covers (validators' leeway); default 300."""
    fail_open: bool
    """Answer "not revoked" when Redis fails (audited); default False: fail closed."""
    audit: AuditSink | None
    """Receives ``backend.failure`` / ``backend.fail_open`` events."""
    local_cache: LocalCache | None
    """Enable the in-process fast path (:class:`LocalCache`); default off."""


_DEFAULTS: Final[RedisRevocationOptions] = {
    "prefix": "tokensmith:",
    "clock": time.time,
    "grace": MAX_LEEWAY,
    "fail_open": False,
    "audit": None,
    "local_cache": None,
}

CacheKey = tuple[str | None, str | None, str | None, str | None, float | None]


def cache_key(token: VerifiedToken) -> CacheKey:
    """What a "not revoked" answer is valid for: the ids it was looked up by, and ``iat``."""
    return (token.issuer, token.jti, token.subject, token.session_id, token.issued_at)


class Answers:
    """The "not revoked" answers of one process, and whether they may be trusted.

    ``entries`` is ``None`` while the invalidation subscription is not confirmed; every
    invalidation swaps in a new dict, so a lookup that began before it writes into a dict
    nobody reads any more (no lock on the hot path).
    """

    __slots__ = ("entries", "max_entries", "max_staleness")

    def __init__(self, options: LocalCache) -> None:
        self.max_staleness = float(options.max_staleness)
        self.max_entries = options.max_entries
        self.entries: dict[CacheKey, float] | None = None

    def live(self) -> None:
        self.entries = {}

    def down(self) -> None:
        self.entries = None

    def invalidate(self) -> None:
        if self.entries is not None:
            self.entries = {}

    def store(self, entries: dict[CacheKey, float], key: CacheKey, now: float) -> None:
        if len(entries) >= self.max_entries:
            entries.clear()
        entries[key] = now


class Subscriber:
    """The invalidation subscription, as a state machine both faces drive.

    A face (thread or task) loops: :meth:`attempt`, subscribe, hand every message (or ``None``
    after a quiet poll) to :meth:`received`, call :meth:`failed` on any error, and wait
    :meth:`ended` seconds before the next attempt. The cache is trusted only between a
    confirmed subscription and its end: a message missed while unsubscribed cannot be told
    apart from no message, so every (re)subscription starts from an empty cache.
    """

    __slots__ = ("_backoff", "answers", "confirmed")

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.confirmed = False
        self._backoff = _BACKOFF_MIN

    def attempt(self) -> None:
        """A new subscription begins (not confirmed yet)."""
        self.confirmed = False

    def received(self, message: Mapping[str, object] | None) -> None:
        """Our ``subscribe`` confirmed: the cache goes live, empty; a revocation: emptied."""
        if message is None:
            return
        kind = message.get("type")
        if kind in ("subscribe", b"subscribe"):
            self.answers.live()
            self.confirmed = True
        elif kind in ("message", b"message"):
            self.answers.invalidate()

    def failed(self) -> None:
        """Any failure of the subscription takes the cache down at once."""
        self.answers.down()

    def ended(self) -> float:
        """The subscription ended: the cache is down; the seconds to wait before the next
        attempt (doubling from 0.05 to 1, back to 0.05 after a confirmed subscription)."""
        self.answers.down()
        if self.confirmed:
            self._backoff = _BACKOFF_MIN
        wait = self._backoff
        self._backoff = min(self._backoff * 2, _BACKOFF_MAX)
        return wait


class _Malformed(Exception):
    """A stored value is not ours (treated like an outage: the decision is impossible)."""


def outages() -> tuple[type[Exception], ...]:
    """What a Redis call of the revocation lists may raise for an outage (see
    ``_redis.failures``), and a stored value that is not ours."""
    return (*failures(), _Malformed)


class Lookup(NamedTuple):
    """The keys one ``MGET`` reads for a token, and which of jti / subject / session they are."""

    keys: list[str]
    jti: bool
    subject: bool
    session: bool


class Write(NamedTuple):
    """One revocation: the key, the script's arguments, the operation's name for audit."""

    key: str
    args: list[str]
    operation: str


class Core:
    """Everything both faces share: options, names, the decision, writes, audit, failures."""

    __slots__ = ("_tags", "answers", "audit", "channel", "clock", "fail_open", "grace", "prefix")

    def __init__(self, **options: Unpack[RedisRevocationOptions]) -> None:
        require()
        known("Redis revocation list", options, _DEFAULTS.keys())
        given: RedisRevocationOptions = {**_DEFAULTS, **options}
        self.prefix = check_prefix(given["prefix"])
        self.clock = given["clock"]
        if not callable(self.clock):
            raise ConfigurationError("clock must be callable")
        self.grace = seconds("grace", given["grace"], minimum=0)
        self.fail_open = flag("fail_open", given["fail_open"])
        self.audit = given["audit"]
        if self.audit is not None and not callable(self.audit):
            raise ConfigurationError("audit must be a callable taking an AuditEvent")
        local_cache = given["local_cache"]
        if local_cache is not None and not isinstance(local_cache, LocalCache):
            raise ConfigurationError("local_cache must be a LocalCache")
        self.channel = f"{self.prefix}revocations"
        self.answers = Answers(local_cache) if local_cache is not None else None
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

    def lookup(self, token: VerifiedToken) -> Lookup:
        """The keys to ``MGET`` for ``token`` (none for a token without ids: no round trip)."""
        tag = self.tag(token.issuer or "")
        keys: list[str] = []
        jti, subject, sid = token.jti, token.subject, token.session_id
        if jti is not None:
            keys.append(f"{tag}j:{encode_key_part(jti)}")
        if subject is not None:
            keys.append(f"{tag}s:{encode_key_part(subject)}")
        if sid is not None:
            keys.append(f"{tag}x:{encode_key_part(sid)}")
        return Lookup(keys, jti is not None, subject is not None, sid is not None)

    # --- the decision --------------------------------------------------------------------------

    def decide(
        self, token: VerifiedToken, plan: Lookup, values: Sequence[object], now: float
    ) -> bool:
        """Whether the values ``MGET`` answered for ``plan`` revoke ``token`` at ``now``."""
        if len(values) != len(plan.keys):
            raise _Malformed("MGET answered the wrong number of values")
        position = 0
        if plan.jti:
            entry = _parse(values[0])
            position = 1
            if entry is not None and entry[1] > now:
                return True
        cutoff = -math.inf
        for present in (plan.subject, plan.session):
            if present:
                entry = _parse(values[position])
                position += 1
                if entry is not None and entry[1] > now:
                    cutoff = max(cutoff, entry[0])
        return cutoff > -math.inf and covered_by_watermark(token.issued_at, cutoff)

    # --- writes --------------------------------------------------------------------------------

    def revoke(self, jti: str, issuer: str, expires_at: float) -> Write | None:
        """The write revoking one token by ``(issuer, jti)``."""
        check_entry("jti", jti, expires_at)
        return self._write("j", jti, issuer, math.inf, expires_at, "revoke")

    def revoke_subject(
        self, subject: str, issuer: str, before: float, expires_at: float, skew: float
    ) -> Write | None:
        """The write moving the subject's watermark to ``before + skew``."""
        check_entry("subject", subject, expires_at)
        mark = watermark(before, skew)
        return self._write("s", subject, issuer, mark, expires_at, "revoke_subject")

    def revoke_session(
        self, session_id: str, issuer: str, before: float, expires_at: float, skew: float
    ) -> Write | None:
        """The write moving the session's watermark to ``before + skew``."""
        check_entry("session_id", session_id, expires_at)
        mark = watermark(before, skew)
        return self._write("x", session_id, issuer, mark, expires_at, "revoke_session")

    def _write(
        self, kind: str, value: str, issuer: object, mark: float, expires_at: float, operation: str
    ) -> Write | None:
        """One revocation's key and script arguments, or ``None`` when it is already moot."""
        if not isinstance(issuer, str):
            raise ConfigurationError("issuer must be a string")
        now = self.clock()
        until = expires_at + self.grace
        if until <= now:
            return None  # every token it covers has already expired
        key = self.key(kind, issuer, value)
        args = [repr(float(mark)), repr(float(until)), repr(float(now))]
        return Write(key, [*args, self.channel, key, str(_MAX_TTL_MS)], operation)

    def written(self) -> None:
        """After a write: our own process sees it at once, even before the message."""
        if self.answers is not None:
            self.answers.invalidate()

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
