"""The sans-I/O core of the remote key sets: the snapshot, the decisions, applying a response.

Nothing here waits, locks or talks to the network. :class:`Core` answers "what to do at
``now`` given this snapshot" (:meth:`Core.decide`) and "what the next snapshot is once a fetch
ended" (:meth:`Core.apply`); the faces in :mod:`tokensmith.jwks.remote` only do the waiting
(threads or asyncio) and the HTTP exchange. The options and their checks are
``tokensmith.jwks._remote_config``'s; reading a document's keys is
:mod:`tokensmith.jwks.document`'s.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal, cast

from .._http import HTTPResponse, header_int, json_body
from ..errors import (
    AlgorithmMismatch,
    AmbiguousKey,
    JWKSFetchError,
    TokensmithError,
    UnknownKey,
)
from ..keys import Key
from ..observability.audit import AuditEvent
from .document import DocumentError, SkippedKey, load_document, parse_jwks

if TYPE_CHECKING:  # annotations only
    from ._remote_config import Config

__all__ = [
    "Core",
    "Reason",
    "State",
    "as_fetch_error",
    "fetch_outcome",
    "log",
]

log: Final = logging.getLogger("tokensmith.remote")

_MAX_KID: Final = 256
_REFRESH_AHEAD: Final = 0.2  # background refresh at 80 % of the TTL
_MAX_DROPPED: Final = 1000  # withdrawn kids remembered (oldest forgotten first)
_NO_KEY: Final = "no key in the remote key set matches the token's kid"
Reason = Literal["initial", "expired", "unknown_kid", "background", "manual", "forced"]


class State:
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


class Core:
    """The policy, as pure functions of (snapshot, inputs, now): shared by both faces."""

    __slots__ = ("config",)

    def __init__(self, config: Config) -> None:
        self.config = config

    @staticmethod
    def initial() -> State:
        return State(
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

    def decide(self, st: State, kid: str | None, alg: str, now: float, seq: int) -> Key | Reason:
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

    def why_not_refetch(self, st: State, kid: str | None, now: float) -> str | None:
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
    def lookup(st: State, kid: str | None, alg: str) -> Key | None:
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

    def stale_key(self, st: State, kid: str | None, alg: str, now: float) -> Key | None:
        """While another caller refreshes an expired set: the cached key, if still allowed."""
        if st.by_kid is None or now >= st.stale_until:
            return None
        try:
            return self.lookup(st, kid, alg)
        except TokensmithError:
            return None

    def background_wait(self, st: State, now: float, poll: float) -> float | None:
        """``None`` when a background refresh is due now, else the seconds to wait before the
        next check (at most ``poll``)."""
        if st.by_kid is None or st.error is not None:
            due = st.retry_at
        else:
            due = max(st.fresh_until - st.ttl * _REFRESH_AHEAD, st.retry_at)
        if now >= due:
            return None
        return min(max(due - now, 0.001), poll)

    def _unavailable(self, st: State, why: str) -> JWKSFetchError:
        reason = st.error.reason if st.error is not None else "stale"
        last = f" (last error: {st.error.reason})" if st.error is not None else ""
        return JWKSFetchError(f"{why}: {self.config.host}{last}", reason=reason)

    # --- fetching ----------------------------------------------------------------------------

    @staticmethod
    def request_headers(st: State, reason: str) -> dict[str, str]:
        """Conditional (``If-None-Match``) unless the refresh is forced."""
        headers = {"Accept": "application/jwk-set+json, application/json"}
        if st.etag is not None and st.by_kid is not None and reason != "forced":
            headers["If-None-Match"] = st.etag
        return headers

    def apply(
        self,
        st: State,
        outcome: HTTPResponse | JWKSFetchError,
        now: float,
        reason: str,
        seq: int,
        kid: str | None = None,
    ) -> tuple[State, list[AuditEvent]]:
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

    def _tried(self, st: State, now: float, reason: str) -> tuple[tuple[str | None, float], ...]:
        """The unknown-kid refetches still inside the cooldown (none after a forced one)."""
        if reason == "forced":
            return ()
        since = now - self.config.cooldown
        return tuple(entry for entry in st.tried if entry[1] > since)

    def _applied(
        self,
        st: State,
        response: HTTPResponse,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> tuple[State, list[AuditEvent]]:
        if response.status == 304:
            return self._not_modified(st, response, now, reason, seq, kid, tried), []
        by_kid, skipped = self.parse(response)
        events: list[AuditEvent] = []
        if st.skipped != skipped:
            for skipped_kid, why in skipped:
                events.append(self._event("anomaly", now, "jwks_key_skipped", skipped_kid, why))
                log.warning(
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
        fresh = self._fresh(
            st,
            by_kid=by_kid,
            skipped=skipped,
            etag=response.headers.get("etag"),
            cache_control=response.headers.get("cache-control"),
            ttl=self.ttl(response.headers),
            now=now,
            tried=tried,
            seq=seq,
        )
        return fresh, events

    def _not_modified(
        self,
        st: State,
        response: HTTPResponse,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> State:
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
        st: State,
        exc: JWKSFetchError,
        now: float,
        reason: str,
        seq: int,
        kid: str | None,
        tried: tuple[tuple[str | None, float], ...],
    ) -> tuple[State, list[AuditEvent]]:
        if reason == "unknown_kid":
            tried += ((kid, now),)
        event = self._event("backend.failure", now, exc.code, None, exc.reason)
        log.warning("remote JWKS fetch from %s failed: %s", self.config.host, exc.reason)
        expired = now >= st.fresh_until
        failed = State(
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
        st: State,
        *,
        by_kid: dict[str, Key],
        skipped: tuple[tuple[str, str], ...],
        etag: str | None,
        cache_control: str | None,
        ttl: float,
        now: float,
        tried: tuple[tuple[str | None, float], ...],
        seq: int,
    ) -> State:
        counts: dict[str, int] = {}
        for key in by_kid.values():
            counts[key.alg] = counts.get(key.alg, 0) + 1
        by_alg = {k.alg: k for k in by_kid.values() if counts[k.alg] == 1}
        fresh_until = now + ttl
        return State(
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
        body = json_body(response, host, self.config.max_bytes, "the JWKS", JWKSFetchError)
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


def fetch_outcome(result: object) -> HTTPResponse | JWKSFetchError:
    """What a transport's return value means: the response, or a failed fetch."""
    if isinstance(result, HTTPResponse):
        return result
    return JWKSFetchError("the transport returned no HTTPResponse", reason="transport")


def as_fetch_error(exc: Exception) -> JWKSFetchError:
    """A transport's exception as a failed fetch (its own class and message are not kept: a
    custom transport's message may quote a URL with credentials or a response body)."""
    if isinstance(exc, JWKSFetchError):
        return exc
    return JWKSFetchError(f"the transport failed with {type(exc).__name__}", reason="transport")


def _shown(kid: str) -> str:
    """A kid as it may appear in a log line: a short repr, so it cannot inject lines."""
    return repr(kid[:64]) if kid else "<no kid>"


def _after_refetch(st: State) -> str:
    """How a refusal answered by a refetch reads: the refetch may have failed."""
    return " (the key set could not be refreshed)" if st.error is not None else ""


def _dropped(st: State, by_kid: Mapping[str, Key]) -> dict[str, None]:
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
