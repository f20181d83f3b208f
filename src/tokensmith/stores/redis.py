"""A key set in Redis shared by several issuer replicas, private keys encrypted at rest.

Every replica reads the same stored :class:`~tokensmith.KeySet`, so every replica signs with the
same key at the same instant (rotation is data: :meth:`KeySet.maintain` publishes a successor
``publish_ahead`` before it signs). Exactly one replica writes a change:

1. it takes a lock (``SET NX PX lock_ttl``) and, in the same Lua script, ``INCR``\\ s a fence
   counter: the lock's value is ``<fence>:<random>``;
2. it re-reads the stored set, applies :meth:`KeySet.maintain` or :meth:`KeySet.rotate`, and
   writes with a Lua script that applies only if the lock still holds its value, the stored
   generation is the one it read, and no writer with a higher fence has written — a replica
   whose lock expired (a long GC pause) cannot overwrite a newer set;
3. it releases the lock (compare-and-delete).

Key layout (``P`` the prefix, one hash tag per prefix so the scripts work on Redis Cluster)::

    P{k.b64(P)}:keyset   JSON document: generation, policy, sealed keys
    P{k.b64(P)}:gen      generation counter (readers poll this one small key)
    P{k.b64(P)}:lock     "<fence>:<random>" with a TTL while a replica writes
    P{k.b64(P)}:fence    fence counter (INCR on every lock acquisition)
    P{k.b64(P)}:written  highest fence that wrote

Every key's JWK (private members included) is sealed with AES-256-GCM under a key derived
(HKDF-SHA256) from the user's 32-byte key-encryption key (KEK). The associated data binds the
format version, the prefix, the kid, the alg and the key's lifecycle times. On top of that the
whole document (generation, policy, the list of sealed keys) carries an HMAC-SHA256 under a
second derived key, bound to the prefix. An attacker with write access to Redis can therefore
neither read a key, nor inject, drop or reorder one, nor change when one signs, nor change the
generation or the policy: any such change fails authentication
(:class:`~tokensmith.errors.KeyStoreCorrupt`). A wrong KEK is
:class:`~tokensmith.errors.WrongPassphrase`. The document and its sealing are written and read
by the codec the file store shares (``stores/_manifest.py``, ``stores/_sealing.py``); this
module does the Redis I/O and the locking.

An authentic *older* document stored back (a rollback, to make a retired key sign again) is
authentic, so the MAC cannot catch it: each process remembers the highest generation it has
read or written and refuses a lower one (:class:`~tokensmith.errors.KeyStoreCorrupt`), an
emptied store included. A process that never saw the newer generation (one started after the
rollback) cannot tell; see ``docs/redis.md``.

Reads are cheap: the decoded set is cached; at most once per ``reload_interval`` seconds of the
injected clock a replica GETs the generation key and re-reads the document only if it changed.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from .._options import seconds
from .._redis import build_connected, check_prefix, encode_key_part, failures, require
from ..errors import BackendUnavailable, ConfigurationError, KeyStoreCorrupt, NoSigningKey
from ..keyset import KeySet, RotationPolicy, maintenance_due
from ._manifest import Manifest, decode_redis, encode_redis, lifecycles
from ._sealing import KekSealing
from ._shared import SharedKeyStore

__all__ = ["RedisKeyStore"]

_POLL: Final = 0.01  # seconds between lock attempts while another replica writes

_ACQUIRE_LUA: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
local token = fence .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
"""

_WRITE_LUA: Final = """
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
local gen = tonumber(redis.call('GET', KEYS[2]) or '0')
if gen ~= tonumber(ARGV[1]) then return -2 end
local written = tonumber(redis.call('GET', KEYS[4]) or '0')
if written > tonumber(ARGV[4]) then return -3 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[4], ARGV[4])
return redis.call('INCR', KEYS[2])
"""

_RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_Change = Callable[[KeySet, float], KeySet]


class RedisKeyStore(SharedKeyStore):
    """A :class:`~tokensmith.KeyStore` whose key set lives in Redis, shared by replicas.

    :param client: a ``redis.Redis`` client (``decode_responses`` either way).
    :param policy: the rotation policy; every replica must use the same one.
    :param kek: 32 random bytes (from a secret manager): encrypts every key at rest.
    :param prefix: put in front of every key (one key set per prefix).
    :param lock_ttl: seconds a writer's lock lives (longer than generating one key).
    :param reload_interval: at most one generation check per this many seconds.
    :param lock_wait: real seconds to wait for another replica's lock when this one has no
        key to sign with (or :meth:`rotate` is called) before raising
        :class:`~tokensmith.errors.BackendUnavailable`.

    Redis errors raise :class:`~tokensmith.errors.BackendUnavailable`, except that a replica
    that already holds a key set keeps signing and verifying with it (rotation is data, so a
    replica a few seconds behind still agrees with the others).
    """

    def __init__(
        self,
        client: Any,
        *,
        policy: RotationPolicy,
        kek: bytes,
        prefix: str = "tokensmith:",
        clock: Callable[[], float] = time.time,
        lock_ttl: float = 10.0,
        reload_interval: float = 1.0,
        lock_wait: float = 15.0,
    ) -> None:
        require()
        if not isinstance(policy, RotationPolicy):
            raise ConfigurationError("policy must be a RotationPolicy")
        if not isinstance(kek, bytes | bytearray) or len(kek) != 32:
            raise ConfigurationError("kek must be exactly 32 bytes (e.g. secrets.token_bytes(32))")
        seconds("lock_ttl", lock_ttl, minimum=0.001)
        seconds("reload_interval", reload_interval, minimum=0)
        seconds("lock_wait", lock_wait, minimum=0)
        self._prefix = check_prefix(prefix)
        tag = f"{self._prefix}{{k.{encode_key_part(self._prefix)}}}:"
        self._names = [f"{tag}{part}" for part in ("keyset", "gen", "lock", "fence", "written")]
        self._sealing = KekSealing(bytes(kek), self._prefix)
        self._client = client
        self._policy = policy
        self._clock = clock
        self._lock_ttl_ms = max(1, int(lock_ttl * 1000))
        self._interval = float(reload_interval)
        self._lock_wait = float(lock_wait)
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._write_script = client.register_script(_WRITE_LUA)
        self._release = client.register_script(_RELEASE_LUA)
        self._lock = threading.RLock()
        self._keyset = KeySet()
        self._generation = 0
        self._highest = 0  # the highest generation this process has read or written
        self._due = -math.inf
        self._check_at = -math.inf
        self._forced_at = -math.inf
        with self._lock:
            self._reload(clock())

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        policy: RotationPolicy,
        kek: bytes,
        cluster: bool = False,
        **options: Any,
    ) -> RedisKeyStore:
        """Connect with tokensmith's Redis timeouts (0.5 s, one immediate retry), so a reload
        while Redis is down costs half a second, not seconds of redis-py's default retries;
        ``cluster=True`` makes a ``RedisCluster`` client. :meth:`close` closes it."""
        return build_connected(
            url, cluster, lambda client: cls(client, policy=policy, kek=kek, **options)
        )

    def close(self) -> None:
        """Close the Redis client."""
        self._client.close()

    # --- public API ----------------------------------------------------------------------------

    @property
    def policy(self) -> RotationPolicy:
        """The rotation policy this replica applies."""
        return self._policy

    @property
    def generation(self) -> int:
        """How many times the stored set has been written (as last read by this replica)."""
        return self._generation

    def rotate(self) -> KeySet:
        """Start a rotation now (see :meth:`KeySet.rotate`); returns the new key set.

        Runs under the shared lock on the freshest stored set, so replicas rotating at once
        publish exactly one successor.
        """
        with self._lock:
            self._change(
                lambda current, at: current.rotate(self._policy, at), self._clock(), wait=True
            )
            return self._keyset

    def __repr__(self) -> str:
        return (
            f"RedisKeyStore(prefix={self._prefix!r}, {self._keyset!r}, "
            f"generation={self._generation})"
        )

    # --- freshness -----------------------------------------------------------------------------

    def _recheck_unknown_kid(self, now: float) -> bool:
        """One generation check per 50 ms; an outage here is BackendUnavailable."""
        if now < self._forced_at + 0.05:
            return False
        self._forced_at = now
        with self._lock:
            self._reload(now)
        return True

    def _fresh(self, now: float) -> None:
        if now < self._check_at and now < self._due:
            return
        with self._lock:
            if now >= self._check_at:
                self._check_at = now + self._interval
                self._guarded(lambda: self._reload(now), now)
            if now >= self._due:
                can_sign = self._can_sign(now)
                self._guarded(
                    lambda: self._change(
                        lambda current, at: current.maintain(self._policy, at),
                        now,
                        wait=not can_sign,
                    ),
                    now,
                )

    def _guarded(self, action: Callable[[], None], now: float) -> None:
        """Run ``action``; on an outage keep the cached set if it can still sign."""
        try:
            action()
        except BackendUnavailable:
            if not self._can_sign(now):
                raise
            self._due = max(self._due, now + max(self._interval, 0.001))

    def _can_sign(self, now: float) -> bool:
        try:
            self._keyset.signing_key(now)
        except NoSigningKey:
            return False
        return True

    def _reload(self, now: float) -> None:
        """GET the generation; re-read and decrypt the document only if it changed."""
        client = self._client
        try:
            raw_gen = client.get(self._names[1])
        except failures() as exc:
            raise _unavailable(exc) from exc
        generation = _parse_generation(raw_gen, self._names[1])
        if generation == self._generation:
            return
        self._refuse_rollback(generation)
        try:
            raw_gen, document = client.mget([self._names[1], self._names[0]])
        except failures() as exc:
            raise _unavailable(exc) from exc
        generation = _parse_generation(raw_gen, self._names[1])
        self._refuse_rollback(generation)
        if document is None:  # the counter said there was one a moment ago
            raise KeyStoreCorrupt(f"the Redis key {self._names[0]} has disappeared")
        opened = self._open(document)
        if opened.generation != generation:  # both are written by one atomic script
            raise self._corrupt("does not match its generation counter")
        self._install(opened.keyset, generation, now)

    def _refuse_rollback(self, generation: int) -> None:
        """An authentic older generation stored back must not bring retired keys back."""
        if generation < self._highest:
            raise KeyStoreCorrupt(
                f"the key set in Redis ({self._names[0]}) went back to generation {generation} "
                f"after this process had read generation {self._highest}: an older copy was "
                "stored back (rollback) or the set was deleted"
            )

    def _install(self, keyset: KeySet, generation: int, now: float) -> None:
        self._keyset = keyset
        self._generation = generation
        self._highest = max(self._highest, generation)
        self._due = maintenance_due(keyset, self._policy, now)

    # --- writing -------------------------------------------------------------------------------

    def _change(self, change: _Change, now: float, *, wait: bool) -> None:
        """Apply ``change`` under the shared lock, if it changes anything.

        ``change`` gets the clock read again under the lock: a replica that read it first but
        locked second must judge the set another replica just wrote by the time it sees it, not
        by an earlier instant (it would find a successor or a first key not yet due, and add
        its own).
        """
        deadline = time.monotonic() + self._lock_wait
        while True:
            token = self._try_lock()
            if token is None:
                if not wait:
                    self._due = now + max(self._interval, 0.001)  # someone else is on it
                    return
                if time.monotonic() >= deadline:
                    raise BackendUnavailable("another replica holds the key-set lock too long")
                time.sleep(_POLL)
                self._reload(now)
                continue
            try:
                now = max(now, self._clock())
                self._reload(now)
                current = self._keyset
                updated = change(current, now)
                if lifecycles(updated) == lifecycles(current):
                    return
                document = self._seal(updated, self._generation + 1)
                fence = token.partition(":")[0]
                try:
                    result = int(
                        self._write_script(
                            keys=[*self._names[:3], self._names[4]],
                            args=[str(self._generation), document, token, fence],
                        )
                    )
                except failures() as exc:
                    raise _unavailable(exc) from exc
                if result > 0:
                    self._install(updated, result, now)
                    return
                # the lock expired (or a newer fence wrote): start over on fresh data
                if time.monotonic() >= deadline:
                    raise BackendUnavailable("the key-set lock kept expiring before the write")
            finally:
                self._unlock(token)

    def _try_lock(self) -> str | None:
        owner = secrets.token_urlsafe(16)
        try:
            token = self._acquire(
                keys=[self._names[2], self._names[3]], args=[owner, str(self._lock_ttl_ms)]
            )
        except failures() as exc:
            raise _unavailable(exc) from exc
        if token is None:
            return None
        return token.decode("ascii") if isinstance(token, bytes) else str(token)

    def _unlock(self, token: str) -> None:
        with contextlib.suppress(*failures()):  # the lock expires by itself
            self._release(keys=[self._names[2]], args=[token])

    # --- the stored document (see stores/_manifest.py) ------------------------------------------

    def _seal(self, keyset: KeySet, generation: int) -> str:
        return encode_redis(keyset, self._policy, generation, self._sealing)

    def _open(self, raw: bytes | str) -> Manifest:
        return decode_redis(raw, self._sealing, f"the Redis key {self._names[0]}")

    def _corrupt(self, why: str) -> KeyStoreCorrupt:
        return KeyStoreCorrupt(f"the Redis key {self._names[0]} {why}")


def _unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(f"the Redis key store did not answer ({type(exc).__name__})")


def _parse_generation(raw: object, name: str) -> int:
    if raw is None:
        return 0
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        value = int(text)
    except (ValueError, UnicodeDecodeError):
        raise KeyStoreCorrupt(f"the Redis key {name} is not a generation counter") from None
    if value < 0:
        raise KeyStoreCorrupt(f"the Redis key {name} is not a generation counter")
    return value
