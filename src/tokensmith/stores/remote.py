"""A key source fed by an issuer's published JWKS: cached, rate-limited, resilient.

One pure core (:class:`_Core`: what to do at ``now`` given the current snapshot, and what the
next snapshot is once a fetch ended) and two thin faces: :class:`RemoteJWKS` (threads) and
:class:`AsyncRemoteJWKS` (asyncio). The faces only differ in how they wait for a fetch.

The steady state costs a clock read, one comparison and one dict lookup: the cache is an
immutable snapshot swapped by reference, so the hot path takes no lock. Everything else
(expiry, an unknown ``kid``, an outage) goes through the slow path, where fetches are
single-flight. Rules, all documented in ``docs/remote-jwks.md``:

* TTL from ``Cache-Control: max-age`` (minus ``Age``), clamped to ``[min_ttl, max_ttl]``;
  refreshes are conditional (``If-None-Match``), a 304 extends the current set.
* An unknown ``kid`` refetches, at most ``cooldown_burst`` fruitless times per ``cooldown``
  window; a refetch that finds new keys costs nothing, and a fetch that began after the lookup
  answers every lookup waiting on it (so N concurrent unknown kids cost one request).
* Stale-if-error: when a refresh fails, the last good set keeps serving up to ``max_stale``
  seconds past its expiry; after that (or when the very first fetch fails) lookups raise
  :class:`~tokensmith.errors.JWKSFetchError`, a :class:`~tokensmith.errors.BackendUnavailable`.
* Keys that cannot be used (no ``alg`` and no ``default_algorithms`` entry, ``use`` other than
  ``sig``, private or symmetric material, weak, malformed) are skipped and reported, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Literal, cast

from .._json import StrictJSONError
from .._json import loads as strict_json
from ..audit import AuditEvent, AuditSink, emit
from ..errors import (
    AlgorithmMismatch,
    AmbiguousKey,
    ConfigurationError,
    JWKSFetchError,
    KeyMaterialError,
    TokensmithError,
    UnknownKey,
)
from ..keys import ASYMMETRIC_ALGORITHMS, Key
from ._http import AsyncTransport, HTTPResponse, StdlibTransport, Transport, check_url

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "AsyncRemoteJWKS",
    "AsyncTransport",
    "HTTPResponse",
    "RemoteJWKS",
    "StdlibTransport",
    "Transport",
]

ACCEPTED_CONTENT_TYPES: Final = frozenset({"application/json", "application/jwk-set+json"})
"""Media types a JWKS response may carry (parameters such as ``charset`` are ignored)."""

_log = logging.getLogger("tokensmith.remote")

_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KTY_FAMILIES: Final = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("Ed",)}
_MAX_KID: Final = 256
_REFRESH_AHEAD: Final = 0.2  # background refresh at 80 % of the TTL
_BACKGROUND_POLL = 1.0  # real seconds between background checks at most
_Reason = Literal["initial", "expired", "unknown_kid", "background", "manual"]


def _number(name: str, value: object, *, minimum: float, maximum: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a finite number")
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name} must be between {minimum:g} and {maximum:g}")
    return float(value)


def _shown(kid: str) -> str:
    """A kid as it may appear in a log line: a short repr, so it cannot inject lines."""
    return repr(kid[:64]) if kid else "<no kid>"


class _Config:
    """The checked options of a remote key source; immutable after construction."""

    __slots__ = (
        "algorithms",
        "audit",
        "burst",
        "cooldown",
        "default_algorithms",
        "default_ttl",
        "host",
        "issuer",
        "max_bytes",
        "max_keys",
        "max_stale",
        "max_ttl",
        "min_ttl",
        "retry_interval",
        "timeout",
        "url",
    )

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None,
        min_ttl: float,
        max_ttl: float,
        default_ttl: float,
        cooldown: float,
        cooldown_burst: int,
        max_stale: float,
        retry_interval: float,
        timeout: float,
        max_bytes: int,
        max_keys: int,
        algorithms: Iterable[str] | None,
        default_algorithms: Mapping[str, str] | None,
        audit: AuditSink | None,
    ) -> None:
        parts = check_url(url)
        self.url = url
        self.host = parts.hostname or ""
        if issuer is not None and (not isinstance(issuer, str) or not issuer):
            raise ConfigurationError("issuer must be a non-empty string (or None)")
        self.issuer = issuer
        self.min_ttl = _number("min_ttl", min_ttl, minimum=0.001)
        self.max_ttl = _number("max_ttl", max_ttl, minimum=self.min_ttl)
        self.default_ttl = min(
            max(_number("default_ttl", default_ttl, minimum=0), self.min_ttl), self.max_ttl
        )
        self.cooldown = _number("cooldown", cooldown, minimum=0.001)
        if isinstance(cooldown_burst, bool) or not isinstance(cooldown_burst, int):
            raise ConfigurationError("cooldown_burst must be an int")
        if not 1 <= cooldown_burst <= 10:
            raise ConfigurationError("cooldown_burst must be between 1 and 10")
        self.burst = cooldown_burst
        self.max_stale = _number("max_stale", max_stale, minimum=0)
        self.retry_interval = _number("retry_interval", retry_interval, minimum=0.001)
        self.timeout = _number("timeout", timeout, minimum=0.001, maximum=120)
        self.max_bytes = int(_number("max_bytes", max_bytes, minimum=64, maximum=16 << 20))
        self.max_keys = int(_number("max_keys", max_keys, minimum=1, maximum=10_000))
        algs: frozenset[str] | None = None
        if algorithms is not None:
            if isinstance(algorithms, str) or not isinstance(algorithms, Iterable):
                raise ConfigurationError("algorithms must be a collection of algorithm names")
            algs = frozenset(algorithms)
            if not algs or not algs <= ASYMMETRIC_ALGORITHMS:
                raise ConfigurationError("algorithms may only name public-key algorithms")
        self.algorithms = algs
        mapping: dict[str, str] = {}
        for kty, alg in (default_algorithms or {}).items():
            families = _KTY_FAMILIES.get(kty) if isinstance(kty, str) else None
            if families is None or not isinstance(alg, str) or alg[:2] not in families:
                raise ConfigurationError(
                    "default_algorithms maps a kty ('RSA', 'EC', 'OKP') to an algorithm of it"
                )
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise ConfigurationError("default_algorithms may only name supported algorithms")
            mapping[kty] = alg
        self.default_algorithms = mapping
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be callable")
        self.audit = audit


class _State:
    """One immutable snapshot of the cache; the faces swap it by reference."""

    __slots__ = (
        "by_alg",
        "by_kid",
        "check_at",
        "error",
        "etag",
        "fresh_until",
        "generation",
        "misses",
        "retry_at",
        "skipped",
        "stale_until",
        "started",
        "ttl",
    )

    def __init__(
        self,
        *,
        by_kid: dict[str, Key] | None,
        by_alg: dict[str, Key],
        check_at: float,
        fresh_until: float,
        stale_until: float,
        retry_at: float,
        ttl: float,
        etag: str | None,
        error: JWKSFetchError | None,
        misses: tuple[float, ...],
        skipped: tuple[tuple[str, str], ...],
        generation: int,
        started: int,
    ) -> None:
        self.by_kid = by_kid  # None: no good set yet
        self.by_alg = by_alg  # alg -> the only key for it (for tokens without kid)
        self.check_at = check_at  # the hot path serves from the set while now < check_at
        self.fresh_until = fresh_until
        self.stale_until = stale_until
        self.retry_at = retry_at  # no fetch before this (after a failure)
        self.ttl = ttl
        self.etag = etag
        self.error = error  # the last attempt's failure, None after a success
        self.misses = misses  # instants of fruitless unknown-kid refetches
        self.skipped = skipped
        self.generation = generation
        self.started = started  # sequence number at which the fetch behind this state began


class _Core:
    """The policy, as pure functions of (snapshot, inputs, now): shared by both faces."""

    __slots__ = ("config",)

    def __init__(self, config: _Config) -> None:
        self.config = config

    @staticmethod
    def initial() -> _State:
        return _State(
            by_kid=None,
            by_alg={},
            check_at=-math.inf,
            fresh_until=-math.inf,
            stale_until=-math.inf,
            retry_at=-math.inf,
            ttl=0.0,
            etag=None,
            error=None,
            misses=(),
            skipped=(),
            generation=0,
            started=-1,
        )

    # --- deciding ----------------------------------------------------------------------------

    def decide(self, st: _State, kid: str | None, alg: str, now: float, seq: int) -> Key | _Reason:
        """A key, a reason to fetch, or a refusal (raised) for this lookup at ``now``.

        ``seq`` orders the lookup against fetches: a fetch whose ``started`` is later (or that
        was in flight while the lookup waited) already answered it, so the lookup never asks
        for another one.
        """
        answered = st.started > seq
        if st.by_kid is None:
            if not answered and now >= st.retry_at:
                return "initial"
            raise self._unavailable(st, "no key set could be fetched yet")
        if now >= st.fresh_until:
            if not answered and now >= st.retry_at:
                return "expired"
            if now >= st.stale_until:
                raise self._unavailable(st, "the cached key set is older than max_stale")
        key = self.lookup(st, kid, alg)
        if key is not None:
            return key
        if answered:
            if st.error is not None:
                raise self._unavailable(st, "the key set could not be refreshed")
            raise UnknownKey("no key in the remote key set matches the token's kid")
        if st.error is not None and now < st.retry_at:
            raise self._unavailable(st, "the key set could not be refreshed")
        if self.budget_left(st, now):
            return "unknown_kid"
        raise UnknownKey("no key in the remote key set matches the token's kid (refetch cooldown)")

    @staticmethod
    def lookup(st: _State, kid: str | None, alg: str) -> Key | None:
        by_kid = cast(dict[str, Key], st.by_kid)
        if kid is not None:
            key = by_kid.get(kid)
            if key is None:
                return None
            if key.alg != alg:
                raise AlgorithmMismatch("the token's kid names a key bound to another alg")
            return key
        key = st.by_alg.get(alg)
        if key is None and any(k.alg == alg for k in by_kid.values()):
            raise AmbiguousKey("the token has no kid and several keys could verify it")
        return key

    def stale_key(self, st: _State, kid: str | None, alg: str, now: float) -> Key | None:
        """While another caller refreshes an expired set: the cached key, if still allowed."""
        if st.by_kid is None or now >= st.stale_until:
            return None
        try:
            return self.lookup(st, kid, alg)
        except TokensmithError:
            return None

    def budget_left(self, st: _State, now: float) -> bool:
        since = now - self.config.cooldown
        return sum(1 for t in st.misses if t > since) < self.config.burst

    def background_due(self, st: _State, now: float) -> float:
        """The instant at which a background refresh should run next."""
        if st.by_kid is None or st.error is not None:
            return st.retry_at
        return max(st.fresh_until - st.ttl * _REFRESH_AHEAD, st.retry_at)

    def _unavailable(self, st: _State, why: str) -> JWKSFetchError:
        reason = st.error.reason if st.error is not None else "stale"
        last = f" (last error: {st.error.reason})" if st.error is not None else ""
        return JWKSFetchError(f"{why}: {self.config.host}{last}", reason=reason)

    # --- fetching ----------------------------------------------------------------------------

    @staticmethod
    def request_headers(st: _State) -> dict[str, str]:
        headers = {"Accept": "application/jwk-set+json, application/json"}
        if st.etag is not None and st.by_kid is not None:
            headers["If-None-Match"] = st.etag
        return headers

    def apply(
        self, st: _State, outcome: HTTPResponse | JWKSFetchError, now: float, reason: str, seq: int
    ) -> tuple[_State, list[AuditEvent]]:
        """The snapshot after a fetch that began at ``seq`` and ended at ``now``."""
        events: list[AuditEvent] = []
        misses = tuple(t for t in st.misses if t > now - self.config.cooldown)
        try:
            if isinstance(outcome, JWKSFetchError):
                raise outcome
            response = outcome
            if response.status == 304:
                if st.by_kid is None or st.etag is None:
                    raise JWKSFetchError("unexpected 304 Not Modified", reason="not_modified")
                ttl = self.ttl(response.headers)
                if reason == "unknown_kid":
                    misses += (now,)
                return self._fresh(st, st.by_kid, st.skipped, st.etag, ttl, now, misses, seq), []
            by_kid, skipped = self.parse(response)
        except JWKSFetchError as exc:
            if reason == "unknown_kid":
                misses += (now,)
            events.append(self._event("backend.failure", now, exc.code, None, exc.reason))
            _log.warning("remote JWKS fetch from %s failed: %s", self.config.host, exc.reason)
            expired = now >= st.fresh_until
            return (
                _State(
                    by_kid=st.by_kid,
                    by_alg=st.by_alg,
                    check_at=(
                        min(now + self.config.retry_interval, st.stale_until)
                        if expired
                        else st.check_at
                    ),
                    fresh_until=st.fresh_until,
                    stale_until=st.stale_until,
                    retry_at=now + self.config.retry_interval,
                    ttl=st.ttl,
                    etag=st.etag,
                    error=exc,
                    misses=misses,
                    skipped=st.skipped,
                    generation=st.generation + 1,
                    started=seq,
                ),
                events,
            )
        if st.skipped != skipped:
            for kid, why in skipped:
                events.append(self._event("anomaly", now, "jwks_key_skipped", kid, why))
                _log.warning(
                    "remote JWKS %s: skipped key %s: %s", self.config.host, _shown(kid), why
                )
        new = set(by_kid) - set(st.by_kid or ())
        if st.by_kid is not None and new:
            for kid in sorted(new):
                events.append(self._event("key.rotated", now, None, kid, "published"))
        if reason == "unknown_kid" and not new:
            misses += (now,)
        etag = response.headers.get("etag")
        ttl = self.ttl(response.headers)
        return self._fresh(st, by_kid, skipped, etag, ttl, now, misses, seq), events

    def _fresh(
        self,
        st: _State,
        by_kid: dict[str, Key],
        skipped: tuple[tuple[str, str], ...],
        etag: str | None,
        ttl: float,
        now: float,
        misses: tuple[float, ...],
        seq: int,
    ) -> _State:
        counts: dict[str, int] = {}
        for key in by_kid.values():
            counts[key.alg] = counts.get(key.alg, 0) + 1
        by_alg = {k.alg: k for k in by_kid.values() if counts[k.alg] == 1}
        fresh_until = now + ttl
        return _State(
            by_kid=by_kid,
            by_alg=by_alg,
            check_at=fresh_until,
            fresh_until=fresh_until,
            stale_until=fresh_until + self.config.max_stale,
            retry_at=-math.inf,
            ttl=ttl,
            etag=etag if etag and len(etag) <= 256 and etag.isprintable() else None,
            error=None,
            misses=misses,
            skipped=skipped,
            generation=st.generation + 1,
            started=seq,
        )

    def ttl(self, headers: Mapping[str, str]) -> float:
        """Seconds to cache: ``max-age`` minus ``Age``, clamped to ``[min_ttl, max_ttl]``."""
        config = self.config
        value: float | None = None
        for directive in headers.get("cache-control", "").lower().split(","):
            name, _, arg = directive.strip().partition("=")
            if name in ("no-cache", "no-store"):
                value = 0.0
                break
            if name == "max-age" and value is None:
                arg = arg.strip().strip('"')
                value = float(arg) if arg.isdigit() and len(arg) < 12 else 0.0
        if value is None:
            return config.default_ttl
        age = headers.get("age", "").strip()
        if age.isdigit() and len(age) < 12:
            value -= float(age)
        return min(max(value, config.min_ttl), config.max_ttl)

    def parse(self, response: HTTPResponse) -> tuple[dict[str, Key], tuple[tuple[str, str], ...]]:
        """Check status, size, content type and shape; load every usable key."""
        host = self.config.host
        status = response.status
        if 300 <= status < 400:
            raise JWKSFetchError(f"{host} answered a redirect; not followed", reason="redirect")
        if status != 200:
            raise JWKSFetchError(f"{host} answered HTTP {int(status)}", reason="http_status")
        body = response.body
        if len(body) > self.config.max_bytes:
            raise JWKSFetchError(f"the JWKS from {host} exceeds max_bytes", reason="too_large")
        media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media not in ACCEPTED_CONTENT_TYPES:
            raise JWKSFetchError(
                f"the JWKS from {host} is not JSON (content type)", reason="content_type"
            )
        document = _strict_json(body, host)
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise JWKSFetchError(f"the JWKS from {host} has no 'keys' list", reason="invalid_shape")
        if len(entries) > self.config.max_keys:
            raise JWKSFetchError(
                f"the JWKS from {host} has more than max_keys keys", reason="invalid_shape"
            )
        loaded: list[Key] = []
        skipped: list[tuple[str, str]] = []
        for entry in entries:
            result = self.load(entry)
            if isinstance(result, Key):
                loaded.append(result)
            else:
                raw_kid = entry.get("kid") if isinstance(entry, dict) else None
                skipped.append((raw_kid if isinstance(raw_kid, str) else "", result))
        counts: dict[str, int] = {}
        for key in loaded:
            counts[key.kid] = counts.get(key.kid, 0) + 1
        by_kid: dict[str, Key] = {}
        for key in loaded:
            if counts[key.kid] > 1:
                skipped.append((key.kid, "duplicate kid"))
            else:
                by_kid[key.kid] = key
        if not by_kid:
            raise JWKSFetchError(f"the JWKS from {host} has no usable key", reason="no_usable_keys")
        return by_kid, tuple(skipped)

    def load(self, entry: object) -> Key | str:
        """A verification key from one JWK, or why it was skipped (never key material)."""
        if not isinstance(entry, dict):
            return "not a JSON object"
        kid = entry.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > _MAX_KID):
            return "invalid kid"
        kty = entry.get("kty")
        if kty == "oct" or not _PRIVATE_MEMBERS.isdisjoint(entry):
            return "private or symmetric key material in a public key set"
        use = entry.get("use")
        if use is not None and use != "sig":
            return "use is not 'sig'"
        alg = entry.get("alg")
        if alg is None:
            alg = self.config.default_algorithms.get(kty) if isinstance(kty, str) else None
            if alg is None:
                return "no 'alg' (configure default_algorithms to accept such keys)"
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            return "unsupported alg"
        allowed = self.config.algorithms
        if allowed is not None and alg not in allowed:
            return "alg not allowed"
        try:
            key = Key.from_jwk(entry, alg=alg)
        except KeyMaterialError as exc:
            return f"unusable key ({exc.code})"
        if key.is_private:  # pragma: no cover - excluded above; defence in depth
            return "private key material in a public key set"
        return key

    def _event(
        self, kind: str, now: float, code: str | None, kid: str | None, reason: str
    ) -> AuditEvent:
        return AuditEvent(
            kind=kind,
            at=now,
            code=code,
            issuer=self.config.issuer,
            kid=kid[:_MAX_KID] if kid else None,
            detail={"host": self.config.host, "reason": reason},
        )


def _strict_json(body: bytes, host: str) -> Any:
    try:
        return strict_json(body)
    except StrictJSONError as exc:
        raise JWKSFetchError(
            f"the JWKS from {host} is not strict JSON: {exc}", reason="invalid_json"
        ) from None


def _as_fetch_error(exc: Exception) -> JWKSFetchError:
    if isinstance(exc, JWKSFetchError):
        return exc
    return JWKSFetchError(f"the transport failed with {type(exc).__name__}", reason="transport")


class _RemoteBase:
    """What both faces share: options, core, snapshot, audit emission, read-only views."""

    __slots__ = ("_clock", "_core", "_seq", "_state")

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None,
        min_ttl: float,
        max_ttl: float,
        default_ttl: float,
        cooldown: float,
        cooldown_burst: int,
        max_stale: float,
        retry_interval: float,
        timeout: float,
        max_bytes: int,
        max_keys: int,
        algorithms: Iterable[str] | None,
        default_algorithms: Mapping[str, str] | None,
        audit: AuditSink | None,
        clock: Callable[[], float],
    ) -> None:
        if not callable(clock):
            raise ConfigurationError("clock must be callable")
        self._core = _Core(
            _Config(
                url,
                issuer=issuer,
                min_ttl=min_ttl,
                max_ttl=max_ttl,
                default_ttl=default_ttl,
                cooldown=cooldown,
                cooldown_burst=cooldown_burst,
                max_stale=max_stale,
                retry_interval=retry_interval,
                timeout=timeout,
                max_bytes=max_bytes,
                max_keys=max_keys,
                algorithms=algorithms,
                default_algorithms=default_algorithms,
                audit=audit,
            )
        )
        self._clock = clock
        self._state = _Core.initial()
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

    def _install(
        self, st: _State, outcome: HTTPResponse | JWKSFetchError, reason: str, seq: int
    ) -> None:
        new, events = self._core.apply(st, outcome, self._clock(), reason, seq)
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
    :param min_ttl: / :param max_ttl: bounds for the cache lifetime taken from ``max-age``.
    :param default_ttl: cache lifetime when the response has no ``Cache-Control``.
    :param cooldown: / :param cooldown_burst: at most ``cooldown_burst`` fruitless refetches
        for unknown kids per ``cooldown`` seconds.
    :param max_stale: seconds past expiry the last good set keeps serving during an outage.
    :param retry_interval: seconds between attempts after a failed fetch.
    :param timeout: seconds for the whole HTTP exchange; :param max_bytes: body size cap.
    :param algorithms: accept only keys bound to these algorithms (default: any public-key one).
    :param default_algorithms: ``{kty: alg}`` for JWKs without ``alg`` (else they are skipped;
        tokensmith never guesses an algorithm).
    :param transport: a :class:`~tokensmith.stores.Transport` (default: the standard library).
    :param background_refresh: refresh in a daemon thread before expiry; call :meth:`close`.
    :param audit: receives ``backend.failure``, ``key.rotated`` and skipped-key ``anomaly``
        events.
    """

    __slots__ = ("_lock", "_stop", "_thread", "_transport")

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None = None,
        min_ttl: float = 60.0,
        max_ttl: float = 3600.0,
        default_ttl: float = 300.0,
        cooldown: float = 30.0,
        cooldown_burst: int = 2,
        max_stale: float = 3600.0,
        retry_interval: float = 2.0,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        max_keys: int = 100,
        algorithms: Iterable[str] | None = None,
        default_algorithms: Mapping[str, str] | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        background_refresh: bool = False,
        audit: AuditSink | None = None,
    ) -> None:
        super().__init__(
            url,
            issuer=issuer,
            min_ttl=min_ttl,
            max_ttl=max_ttl,
            default_ttl=default_ttl,
            cooldown=cooldown,
            cooldown_burst=cooldown_burst,
            max_stale=max_stale,
            retry_interval=retry_interval,
            timeout=timeout,
            max_bytes=max_bytes,
            max_keys=max_keys,
            algorithms=algorithms,
            default_algorithms=default_algorithms,
            audit=audit,
            clock=clock,
        )
        if transport is None:
            transport = StdlibTransport()
        elif not callable(getattr(transport, "fetch", None)) or inspect.iscoroutinefunction(
            transport.fetch
        ):
            raise ConfigurationError("transport must have a blocking fetch(); use AsyncRemoteJWKS")
        self._transport = transport
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if _flag(background_refresh):
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

    def _slow(self, kid: str | None, alg: str) -> Key:
        seq = next(self._seq)
        core = self._core
        while True:
            st = self._state
            now = self._clock()
            action = core.decide(st, kid, alg, now, seq)
            if isinstance(action, Key):
                return action
            if not self._lock.acquire(blocking=False):
                if action == "expired":  # someone is refreshing: serve the cached key meanwhile
                    key = core.stale_key(st, kid, alg, now)
                    if key is not None:
                        return key
                self._lock.acquire()
            try:
                if self._state is st:
                    self._fetch(st, action)
                else:  # joined a fetch in flight during this lookup: its answer is ours
                    seq = min(seq, self._state.started - 1)
            finally:
                self._lock.release()

    def _fetch(self, st: _State, reason: str) -> None:
        """One HTTP exchange and the snapshot it yields; the caller holds the lock."""
        seq = next(self._seq)
        config = self._core.config
        outcome: HTTPResponse | JWKSFetchError
        try:
            outcome = self._transport.fetch(
                config.url, _Core.request_headers(st), config.timeout, config.max_bytes
            )
            if not isinstance(outcome, HTTPResponse):
                outcome = JWKSFetchError(
                    "the transport returned no HTTPResponse", reason="transport"
                )
        except Exception as exc:
            outcome = _as_fetch_error(exc)
        self._install(st, outcome, reason, seq)

    def refresh(self) -> None:
        """Fetch now (e.g. at start-up, to fail fast); raises if this fetch failed."""
        with self._lock:
            self._fetch(self._state, "manual")
            error = self._state.error
        if error is not None:
            raise error

    def _background(self) -> None:
        while True:
            st = self._state
            now = self._clock()
            due = self._core.background_due(st, now)
            if now >= due:
                with self._lock:
                    if self._state is st:
                        self._fetch(st, "background")
                continue
            if self._stop.wait(min(max(due - now, 0.001), _BACKGROUND_POLL)):
                return

    def close(self) -> None:
        """Stop the background refresh thread (if any) and wait for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None

    def __enter__(self) -> RemoteJWKS:
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

    Same options and rules. ``transport`` may be an :class:`~tokensmith.stores.AsyncTransport`
    or a blocking :class:`~tokensmith.stores.Transport` (the default), which then runs in a
    worker thread. Concurrent lookups needing a fetch share one task. Use it from one event
    loop; with ``background_refresh=True`` a task refreshes before expiry (started on first use
    or by ``async with``); stop it with :meth:`aclose`.
    """

    __slots__ = ("_background_enabled", "_inflight", "_task", "_transport")

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None = None,
        min_ttl: float = 60.0,
        max_ttl: float = 3600.0,
        default_ttl: float = 300.0,
        cooldown: float = 30.0,
        cooldown_burst: int = 2,
        max_stale: float = 3600.0,
        retry_interval: float = 2.0,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        max_keys: int = 100,
        algorithms: Iterable[str] | None = None,
        default_algorithms: Mapping[str, str] | None = None,
        transport: AsyncTransport | Transport | None = None,
        clock: Callable[[], float] = time.time,
        background_refresh: bool = False,
        audit: AuditSink | None = None,
    ) -> None:
        super().__init__(
            url,
            issuer=issuer,
            min_ttl=min_ttl,
            max_ttl=max_ttl,
            default_ttl=default_ttl,
            cooldown=cooldown,
            cooldown_burst=cooldown_burst,
            max_stale=max_stale,
            retry_interval=retry_interval,
            timeout=timeout,
            max_bytes=max_bytes,
            max_keys=max_keys,
            algorithms=algorithms,
            default_algorithms=default_algorithms,
            audit=audit,
            clock=clock,
        )
        if transport is None:
            transport = StdlibTransport()
        elif not callable(getattr(transport, "fetch", None)):
            raise ConfigurationError("transport must have a fetch() method")
        self._transport: AsyncTransport | Transport = transport
        self._inflight: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._background_enabled = _flag(background_refresh)

    async def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (:class:`~tokensmith.AsyncKeySource`)."""
        st = self._state
        if self._clock() < st.check_at:
            key = st.by_kid.get(kid) if kid is not None else st.by_alg.get(alg)  # type: ignore[union-attr]
            if key is not None and key.alg == alg:
                return key
        return await self._slow(kid, alg)

    async def _slow(self, kid: str | None, alg: str) -> Key:
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
                    self._fetch(st, action)
                )
                await asyncio.shield(task)
            else:
                seq = min(seq, self._state.started - 1)

    async def _fetch(self, st: _State, reason: str) -> None:
        seq = next(self._seq)
        config = self._core.config
        transport = self._transport
        outcome: HTTPResponse | JWKSFetchError
        try:
            url, headers = config.url, _Core.request_headers(st)
            result: object
            if inspect.iscoroutinefunction(transport.fetch):
                result = await cast(AsyncTransport, transport).fetch(
                    url, headers, config.timeout, config.max_bytes
                )
            else:
                result = await asyncio.to_thread(
                    cast(Transport, transport).fetch,
                    url,
                    headers,
                    config.timeout,
                    config.max_bytes,
                )
            outcome = (
                result
                if isinstance(result, HTTPResponse)
                else JWKSFetchError("the transport returned no HTTPResponse", reason="transport")
            )
        except Exception as exc:
            outcome = _as_fetch_error(exc)
        self._install(st, outcome, reason, seq)

    async def _refresh_once(self, reason: str) -> None:
        task = self._inflight
        if task is None or task.done():
            task = self._inflight = asyncio.get_running_loop().create_task(
                self._fetch(self._state, reason)
            )
        await asyncio.shield(task)

    async def refresh(self) -> None:
        """Fetch now (e.g. at start-up, to fail fast); raises if the fetch failed."""
        await self._refresh_once("manual")
        error = self._state.error
        if error is not None:
            raise error

    def _start_background(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._background())

    async def _background(self) -> None:
        while True:
            st = self._state
            now = self._clock()
            due = self._core.background_due(st, now)
            if now >= due:
                await self._refresh_once("background")
                continue
            await asyncio.sleep(min(max(due - now, 0.001), _BACKGROUND_POLL))

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

    async def __aenter__(self) -> AsyncRemoteJWKS:
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


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError("background_refresh must be True or False")
    return value
