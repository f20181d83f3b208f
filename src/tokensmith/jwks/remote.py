"""A key source fed by an issuer's published JWKS: cached, rate-limited, resilient.

One pure core (:class:`_Core`: what to do at ``now`` given the current snapshot, and what the
next snapshot is once a fetch ended) and two thin faces: :class:`RemoteJWKS` (threads) and
:class:`AsyncRemoteJWKS` (asyncio). The faces only differ in how they wait for a fetch.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Final, Literal, cast

from .._http import (
    AsyncTransport,
    HTTPResponse,
    StdlibTransport,
    Transport,
    check_url,
    header_int,
)
from .._options import flag, integer, number, seconds
from ..errors import (
    AlgorithmMismatch,
    AmbiguousKey,
    ConfigurationError,
    JWKSFetchError,
    TokensmithError,
    UnknownKey,
)
from ..keys import Key
from ..observability.audit import AuditEvent, AuditSink, emit
from .document import DocumentError, JWKSRules, SkippedKey, load_document, parse_jwks

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

_MAX_KID: Final = 256
_REFRESH_AHEAD: Final = 0.2  # background refresh at 80 % of the TTL
_BACKGROUND_POLL = 1.0  # real seconds between background checks at most
_BACKGROUND_BACKOFF = 1.0  # real seconds before the background refresh tries again after a bug
_MAX_DROPPED: Final = 1000  # withdrawn kids remembered (oldest forgotten first)
_NO_KEY: Final = "no key in the remote key set matches the token's kid"
_Reason = Literal["initial", "expired", "unknown_kid", "background", "manual", "forced"]


def _shown(kid: str) -> str:
    """A kid as it may appear in a log line: a short repr, so it cannot inject lines."""
    return repr(kid[:64]) if kid else "<no kid>"


class _Config:
    """The checked options of a remote key source; immutable after construction."""

    __slots__ = (
        "audit",
        "burst",
        "cooldown",
        "default_ttl",
        "host",
        "issuer",
        "max_bytes",
        "max_stale",
        "max_ttl",
        "min_ttl",
        "retry_interval",
        "rules",
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
        self.min_ttl = seconds("min_ttl", min_ttl, minimum=0.001)
        self.max_ttl = seconds("max_ttl", max_ttl, minimum=self.min_ttl)
        self.default_ttl = min(
            max(seconds("default_ttl", default_ttl, minimum=0), self.min_ttl), self.max_ttl
        )
        self.cooldown = seconds("cooldown", cooldown, minimum=0.001)
        self.burst = integer("cooldown_burst", cooldown_burst, minimum=1, maximum=10)
        self.max_stale = seconds("max_stale", max_stale, minimum=0)
        self.retry_interval = seconds("retry_interval", retry_interval, minimum=0.001)
        self.timeout = seconds("timeout", timeout, minimum=0.001, maximum=120)
        self.max_bytes = int(
            number("max_bytes", max_bytes, unit="bytes", minimum=64, maximum=16 << 20)
        )
        self.rules = JWKSRules(
            algorithms=algorithms,
            default_algorithms=default_algorithms,
            max_keys=int(number("max_keys", max_keys, unit="keys", minimum=1, maximum=10_000)),
        )
        if audit is not None and not callable(audit):
            raise ConfigurationError("audit must be callable")
        self.audit = audit


class _State:
    """One immutable snapshot of the cache; the faces swap it by reference."""

    __slots__ = (
        "by_alg",
        "by_kid",
        "cache_control",
        "check_at",
        "dropped",
        "error",
        "etag",
        "fresh_until",
        "generation",
        "retry_at",
        "skipped",
        "stale_until",
        "started",
        "tried",
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
        cache_control: str | None,
        error: JWKSFetchError | None,
        tried: tuple[tuple[str | None, float], ...],
        dropped: dict[str, None],
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
        self.cache_control = cache_control  # the stored response's, for 304s without one
        self.error = error  # the last attempt's failure, None after a success
        self.tried = tried  # (kid, instant) of fruitless unknown-kid refetches
        self.dropped = dropped  # kids of earlier documents the issuer no longer publishes
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
            cache_control=None,
            error=None,
            tried=(),
            dropped={},
            skipped=(),
            generation=0,
            started=-1,
        )

    # --- deciding ----------------------------------------------------------------------------

    def decide(self, st: _State, kid: str | None, alg: str, now: float, seq: int) -> Key | _Reason:
        """A key, a reason to fetch, or a refusal (raised) for this lookup at ``now``.

        ``seq`` orders the lookup against fetches: a fetch whose ``started`` is later (or that
        was in flight while the lookup waited) already answered it, so the lookup never asks
        for another one. Once a usable set is in hand (fresh, or stale within ``max_stale``),
        an unknown kid is a token refusal (:class:`~tokensmith.errors.UnknownKey`, 401) even
        when the refetch failed: keys are published ahead, so a genuine key was seen before
        the outage. Only without a usable set is the answer
        :class:`~tokensmith.errors.JWKSFetchError` (503).
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
            raise UnknownKey(f"{_NO_KEY}{_after_refetch(st)}")
        why_not = self.why_not_refetch(st, kid, now)
        if why_not is not None:
            raise UnknownKey(f"{_NO_KEY} ({why_not})")
        return "unknown_kid"

    def why_not_refetch(self, st: _State, kid: str | None, now: float) -> str | None:
        """Why an unknown kid is refused without asking the issuer, or ``None`` to ask."""
        if st.error is not None and now < st.retry_at:
            return "the key set could not be refreshed"
        if kid is not None and kid in st.dropped:
            return "the issuer withdrew that key"
        if kid is not None and any(kid == skipped for skipped, _ in st.skipped):
            return "the issuer publishes that key in a form tokensmith cannot use"
        since = now - self.config.cooldown
        recent = [tried for tried, at in st.tried if at > since]
        if kid in recent:
            return "already refetched for within the cooldown"
        if len(recent) >= self.config.burst:
            return "refetch cooldown"
        return None

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
    def request_headers(st: _State, reason: str) -> dict[str, str]:
        """Conditional (``If-None-Match``) unless the refresh is forced."""
        headers = {"Accept": "application/jwk-set+json, application/json"}
        if st.etag is not None and st.by_kid is not None and reason != "forced":
            headers["If-None-Match"] = st.etag
        return headers

    def apply(
        self,
        st: _State,
        outcome: HTTPResponse | JWKSFetchError,
        now: float,
        reason: str,
        seq: int,
        kid: str | None = None,
    ) -> tuple[_State, list[AuditEvent]]:
        """The snapshot after a fetch that began at ``seq`` and ended at ``now``.

        ``kid`` is the unknown kid that asked for the fetch (reason ``unknown_kid``). Whatever
        the response holds, the outcome is a new snapshot: an exception while applying it is
        a failed fetch (:class:`~tokensmith.errors.JWKSFetchError`, reason
        ``invalid_response``), never an error escaping to a lookup or the background refresh.
        """
        tried = self._tried(st, now, reason)
        try:
            if isinstance(outcome, JWKSFetchError):
                raise outcome
            return self._applied(st, outcome, now, reason, seq, kid, tried)
        except JWKSFetchError as exc:
            return self._failed(st, exc, now, reason, seq, kid, tried)
        except Exception as exc:  # a response no rule foresaw: still only a failed fetch
            error = JWKSFetchError(
                f"the response from {self.config.host} could not be used ({type(exc).__name__})",
                reason="invalid_response",
            )
            return self._failed(st, error, now, reason, seq, kid, tried)

    def _tried(self, st: _State, now: float, reason: str) -> tuple[tuple[str | None, float], ...]:
        """The unknown-kid refetches still inside the cooldown (none after a forced one)."""
        if reason == "forced":
            return ()
        since = now - self.config.cooldown
        return tuple(entry for entry in st.tried if entry[1] > since)

    def _applied(
        self,
        st: _State,
        response: HTTPResponse,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> tuple[_State, list[AuditEvent]]:
        if response.status == 304:
            return self._not_modified(st, response, now, reason, seq, kid, tried), []
        by_kid, skipped = self.parse(response)
        events: list[AuditEvent] = []
        if st.skipped != skipped:
            for skipped_kid, why in skipped:
                events.append(self._event("anomaly", now, "jwks_key_skipped", skipped_kid, why))
                _log.warning(
                    "remote JWKS %s: skipped key %s: %s",
                    self.config.host,
                    _shown(skipped_kid),
                    why,
                )
        new = set(by_kid) - set(st.by_kid or ())
        if st.by_kid is not None and new:
            for new_kid in sorted(new):
                events.append(self._event("key.rotated", now, None, new_kid, "published"))
        if reason == "unknown_kid" and not new:
            tried += ((kid, now),)
        cache_control = response.headers.get("cache-control")
        fresh = self._fresh(
            st,
            by_kid=by_kid,
            skipped=skipped,
            etag=response.headers.get("etag"),
            cache_control=cache_control,
            ttl=self.ttl(response.headers),
            now=now,
            tried=tried,
            seq=seq,
        )
        return fresh, events

    def _not_modified(
        self,
        st: _State,
        response: HTTPResponse,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> _State:
        """RFC 9111 §4.3.4: the 304 updates the stored response's headers it carries; those
        it lacks (typically ``Cache-Control``) keep the stored values, so the lifetime policy
        survives revalidation. ``Age`` describes the 304 itself, never the stored response."""
        if st.by_kid is None or st.etag is None or reason == "forced":
            raise JWKSFetchError("unexpected 304 Not Modified", reason="not_modified")
        if reason == "unknown_kid":
            tried += ((kid, now),)
        headers = response.headers
        cache_control = headers.get("cache-control", st.cache_control)
        merged = {"age": headers.get("age", "")}
        if cache_control is not None:
            merged["cache-control"] = cache_control
        return self._fresh(
            st,
            by_kid=st.by_kid,
            skipped=st.skipped,
            etag=headers.get("etag") or st.etag,
            cache_control=cache_control,
            ttl=self.ttl(merged),
            now=now,
            tried=tried,
            seq=seq,
        )

    def _failed(
        self,
        st: _State,
        exc: JWKSFetchError,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> tuple[_State, list[AuditEvent]]:
        if reason == "unknown_kid":
            tried += ((kid, now),)
        event = self._event("backend.failure", now, exc.code, None, exc.reason)
        _log.warning("remote JWKS fetch from %s failed: %s", self.config.host, exc.reason)
        expired = now >= st.fresh_until
        failed = _State(
            by_kid=st.by_kid,
            by_alg=st.by_alg,
            check_at=(
                min(now + self.config.retry_interval, st.stale_until) if expired else st.check_at
            ),
            fresh_until=st.fresh_until,
            stale_until=st.stale_until,
            retry_at=now + self.config.retry_interval,
            ttl=st.ttl,
            etag=st.etag,
            cache_control=st.cache_control,
            error=exc,
            tried=tried,
            dropped=st.dropped,
            skipped=st.skipped,
            generation=st.generation + 1,
            started=seq,
        )
        return failed, [event]

    def _fresh(
        self,
        st: _State,
        *,
        by_kid: dict[str, Key],
        skipped: tuple[tuple[str, str], ...],
        etag: str | None,
        cache_control: str | None,
        ttl: float,
        now: float,
        tried: tuple[tuple[str | None, float], ...],
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
            cache_control=cache_control,
            error=None,
            tried=tried,
            dropped=_dropped(st, by_kid),
            skipped=skipped,
            generation=st.generation + 1,
            started=seq,
        )

    def ttl(self, headers: Mapping[str, str]) -> float:
        """Seconds to cache: ``max-age`` minus ``Age``, clamped to ``[min_ttl, max_ttl]``.

        Only ASCII digits make a number: ``"²".isdigit()`` and ``"٣".isdigit()`` are True in
        Python. A ``max-age`` that is not a number makes the response stale (RFC 9111 §4.2.1:
        ``min_ttl``); an ``Age`` that is not one is ignored.
        """
        config = self.config
        value: float | None = None
        for directive in headers.get("cache-control", "").lower().split(","):
            name, _, arg = directive.strip().partition("=")
            if name in ("no-cache", "no-store"):
                value = 0.0
                break
            if name == "max-age" and value is None:
                seconds = header_int(arg.strip().strip('"'))
                value = 0.0 if seconds is None else float(seconds)
        if value is None:
            return config.default_ttl
        age = header_int(headers.get("age", "").strip())
        if age is not None:
            value -= age
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
        try:
            keys, skipped = parse_jwks(load_document(body), self.config.rules, strict=False)
        except DocumentError as exc:
            raise JWKSFetchError(f"the JWKS from {host} {exc.message}", reason=exc.reason) from None
        return keys, tuple(_skip_report(refusal) for refusal in skipped)

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


def _after_refetch(st: _State) -> str:
    """How a refusal answered by a refetch reads: the refetch may have failed."""
    return " (the key set could not be refreshed)" if st.error is not None else ""


def _dropped(st: _State, by_kid: Mapping[str, Key]) -> dict[str, None]:
    """Kids published before and absent from ``by_kid`` (a kid published again is not)."""
    dropped = {kid: None for kid in st.dropped if kid not in by_kid}
    for kid in st.by_kid or ():
        if kid not in by_kid:
            dropped.pop(kid, None)
            dropped[kid] = None  # the most recently withdrawn last
    while len(dropped) > _MAX_DROPPED:
        del dropped[next(iter(dropped))]
    return dropped


def _skip_report(refusal: SkippedKey) -> tuple[str, str]:
    """``(kid, reason)`` as :attr:`RemoteJWKS.skipped` lists it (``""`` for no kid)."""
    return (refusal.kid or "", refusal.reason)


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
        self,
        st: _State,
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

    __slots__ = ("_forced_seq", "_lock", "_stop", "_thread", "_transport")

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
        self._forced_seq = -1  # when the last forced fetch began
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if flag("background_refresh", background_refresh):
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
                    self._fetch(st, action, kid)
                else:  # joined a fetch in flight during this lookup: its answer is ours
                    seq = min(seq, self._state.started - 1)
            finally:
                self._lock.release()

    def _fetch(self, st: _State, reason: str, kid: str | None = None) -> None:
        """One HTTP exchange and the snapshot it yields; the caller holds the lock."""
        seq = next(self._seq)
        config = self._core.config
        outcome: HTTPResponse | JWKSFetchError
        try:
            outcome = self._transport.fetch(
                config.url, _Core.request_headers(st, reason), config.timeout, config.max_bytes
            )
            if not isinstance(outcome, HTTPResponse):
                outcome = JWKSFetchError(
                    "the transport returned no HTTPResponse", reason="transport"
                )
        except Exception as exc:
            outcome = _as_fetch_error(exc)
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
                _log.exception("remote JWKS %s: background refresh failed", self._core.config.host)
                wait = _BACKGROUND_BACKOFF
            if self._stop.wait(wait):
                return

    def _background_step(self) -> float:
        """Refresh if due; the seconds to wait before the next check."""
        st = self._state
        now = self._clock()
        due = self._core.background_due(st, now)
        if now >= due:
            with self._lock:
                if self._state is st:
                    self._fetch(st, "background")
            return 0.0
        return min(max(due - now, 0.001), _BACKGROUND_POLL)

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
        self._forced: asyncio.Task[None] | None = None  # the last forced fetch
        self._forced_started = -1  # when it began
        self._task: asyncio.Task[None] | None = None
        self._background_enabled = flag("background_refresh", background_refresh)

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
                    self._fetch(st, action, kid)
                )
                await asyncio.shield(task)
            else:
                seq = min(seq, self._state.started - 1)

    async def _fetch(self, st: _State, reason: str, kid: str | None = None) -> None:
        seq = next(self._seq)
        if reason == "forced":
            self._forced_started = seq
        config = self._core.config
        transport = self._transport
        outcome: HTTPResponse | JWKSFetchError
        try:
            url, headers = config.url, _Core.request_headers(st, reason)
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
        self._install(st, outcome, reason, seq, kid)

    async def _refresh_once(self, reason: str) -> None:
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
                _log.exception("remote JWKS %s: background refresh failed", self._core.config.host)
                wait = _BACKGROUND_BACKOFF
            await asyncio.sleep(wait)

    async def _background_step(self) -> float:
        """Refresh if due; the seconds to wait before the next check."""
        st = self._state
        now = self._clock()
        due = self._core.background_due(st, now)
        if now >= due:
            await self._refresh_once("background")
            return 0.0
        return min(max(due - now, 0.001), _BACKGROUND_POLL)

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
