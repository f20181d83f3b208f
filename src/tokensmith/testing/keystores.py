"""The contract every key store must meet, as a test suite: rotation, publication before
signing, replicas (threads and processes) agreeing on one first key.

Subclass :class:`KeyStoreContract` in a test module and implement
:meth:`~KeyStoreContract.make_key_store`; pytest runs every ``test_*`` method against your
store (see docs/testing-backends.md).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..cache import ValidatedTokenCache
from ..errors import TokenError, UnknownKey
from ..keys import Key
from ..keyset import CLOCK_SKEW, RotationPolicy
from ..signer import Signer
from ..stores.base import KeyStore, trusted_settled_keyset
from ..validator import Validator
from .clock import FakeClock

__all__ = ["KeyStoreContract"]

_ISS = "https://issuer.test"


def _outcome(validator: Validator, token: str) -> object:
    """What a validator answers: the token's jti, or the refusal's class."""
    try:
        return validator.validate(token).jti
    except TokenError as exc:
        return type(exc)


def _lookup(find: Callable[[str, str], Key], kid: str, alg: str) -> object:
    """The key ``find`` returns for ``kid`` and ``alg``, or the refusal's class."""
    try:
        return find(kid, alg)
    except TokenError as exc:
        return type(exc)


def _key_ids(store: KeyStore) -> set[tuple[str, str]]:
    """The (kid, alg) of every key a store holds now: its ``keyset`` when it shows one, else
    its JWKS."""
    keyset = getattr(store, "keyset", None)
    if keyset is not None:
        return {(key.kid, key.alg) for key in keyset}
    return {(jwk["kid"], jwk["alg"]) for jwk in store.jwks()["keys"] if "alg" in jwk}


def _kids(store: KeyStore) -> set[str] | None:
    """Every kid a store holds: its ``keyset`` when it shows one, else its JWKS (which has
    no HMAC keys: ``None`` for those)."""
    keyset = getattr(store, "keyset", None)
    if keyset is not None:
        return {key.kid for key in keyset}
    kids = {jwk["kid"] for jwk in store.jwks()["keys"]}
    return kids or None


class _InterruptedClock(FakeClock):
    """A clock whose next read, once ``interrupt`` is set, first runs it and returns an
    earlier instant: the other replica acted between this one's clock read and its lock."""

    def __init__(self, now: float, *, earlier: float) -> None:
        super().__init__(now)
        self.earlier = earlier
        self.interrupt: Callable[[], object] | None = None

    def __call__(self) -> float:
        interrupt, self.interrupt = self.interrupt, None
        if interrupt is None:
            return super().__call__()
        interrupt()
        return self.earlier


class _ReplicaClock(FakeClock):
    """The real clock of a replica ``skew`` seconds behind. Once ``armed``, its next read waits
    at ``gate`` until every replica has read its clock, sleeps ``pause`` (the replica is
    descheduled before it takes the lock) and returns the time read before the wait."""

    def __init__(self, *, skew: float, pause: float, gate: Any) -> None:
        super().__init__(time.time() - skew)
        self.skew = skew
        self.pause = pause
        self.gate = gate
        self.armed = False

    def __call__(self) -> float:
        now = time.time() - self.skew
        if self.armed:
            self.armed = False
            with contextlib.suppress(threading.BrokenBarrierError):
                self.gate.wait(timeout=30)
            time.sleep(self.pause)
        return now


_REPLICA_SKEW = 0.025  # seconds each replica's clock is behind the previous one's
_REPLICA_PAUSE = 0.05  # ...and how much later it reaches the lock


def _replica_clock(index: int, gate: Any) -> _ReplicaClock:
    """Replica ``index``: the later it reaches the lock, the further its clock is behind."""
    return _ReplicaClock(skew=index * _REPLICA_SKEW, pause=index * _REPLICA_PAUSE, gate=gate)


def _sign_together(store: KeyStore, clock: _ReplicaClock, start: Any) -> str:
    """Wait for the other replicas, then ask for the signing key (the first one, if none)."""
    start.wait(timeout=60)
    clock.armed = True
    return store.signing_key().kid


def _sign_as_a_replica(  # pragma: no cover - runs in a child process
    factory: Callable[[FakeClock, RotationPolicy], KeyStore],
    policy: dict[str, Any],
    index: int,
    start: Any,
    gate: Any,
    results: Any,
) -> None:
    """One replica in its own process: open the store, sign together with the others."""
    try:
        clock = _replica_clock(index, gate)
        store = factory(clock, RotationPolicy(**policy))
        results.put((index, _sign_together(store, clock, start)))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((index, f"error: {type(exc).__name__}: {exc}"))


class KeyStoreContract:
    """The behaviour every :class:`~tokensmith.KeyStore` must have.

    Implement :meth:`make_key_store`; it receives the clock and a rotation policy the store
    must apply by itself as the clock advances.
    Set ``shared = True`` when two stores made by the factory share one backend; return a
    picklable factory from :meth:`key_store_factory` to also run replicas in other processes.
    """

    shared: bool = False
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256")

    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
        """Return a store (empty or pre-filled) that reads time from ``clock``."""
        raise NotImplementedError

    def key_store_factory(self) -> Callable[[FakeClock, RotationPolicy], KeyStore] | None:
        """A picklable callable ``factory(clock, policy)`` that opens a store on the backend
        :meth:`make_key_store` uses, in another process; ``None`` skips those scenarios."""
        return None

    def _pair(self, store: KeyStore, clock: FakeClock) -> tuple[Signer, Validator]:
        signer = Signer(store, issuer=_ISS, ttl=600, clock=clock)
        validator = Validator(store, issuer=_ISS, audience="api", clock=clock)
        return signer, validator

    def test_signing_key_is_private_and_verifiable(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        key = store.signing_key()
        assert key.can_sign
        found = store.verification_key(key.kid, key.alg)
        assert found.kid == key.kid
        assert found.alg == key.alg

    def test_unknown_kid_and_wrong_alg_are_refused(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        key = store.signing_key()
        other = "HS256" if key.alg != "HS256" else "ES256"
        try:
            store.verification_key(key.kid, other)
        except UnknownKey:
            pass
        else:
            raise AssertionError("a key was returned for another alg")
        try:
            store.verification_key("no-such-kid", key.alg)
        except UnknownKey:
            pass
        else:
            raise AssertionError("an unknown kid was accepted")

    def test_jwks_has_no_private_members(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        signing = store.signing_key()
        document = store.jwks()
        assert isinstance(document.get("keys"), list)
        for jwk in document["keys"]:
            assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk)
        if not signing.is_symmetric:
            assert signing.kid in {jwk["kid"] for jwk in document["keys"]}

    def test_round_trip(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        signer, validator = self._pair(store, clock)
        token = signer.issue("user-1", audience="api")
        assert validator.validate(token).subject == "user-1"

    def test_rotation_never_refuses_a_live_token(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        signer, validator = self._pair(store, clock)
        live: list[tuple[str, float]] = []
        kids = set()
        for _ in range(int(4 * self.policy.rotate_every // 300)):
            issued = signer.issue_token("user-1", audience="api")
            kids.add(issued.key_id)
            live.append((issued.token, issued.expires_at))
            live = [(t, exp) for t, exp in live if exp > clock() + 1]
            for token, _exp in live:
                validator.validate(token)
            clock.advance(300)
        assert len(kids) >= 3, "the store did not rotate"

    def test_a_validated_token_cache_answers_as_the_store(self) -> None:
        """Through rotation, a validator with a :class:`~tokensmith.cache.ValidatedTokenCache`
        answers exactly like one without; a store offering ``settled_keyset`` keeps its promise
        (``verification_key`` answers from that very set: see
        :class:`~tokensmith.stores.SettledKeySource`)."""
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        signer, plain = self._pair(store, clock)
        cached = Validator(
            store, issuer=_ISS, audience="api", clock=clock, cache=ValidatedTokenCache()
        )
        settled = trusted_settled_keyset(store, clock)
        tokens: list[str] = []
        for _ in range(int(4 * self.policy.rotate_every // 300)):
            tokens.append(signer.issue("user-1", audience="api", ttl=900))
            for token in tokens[-4:]:
                assert _outcome(cached, token) == _outcome(plain, token)
            keyset = None if settled is None else settled(clock())
            if keyset is not None:  # then every lookup now answers from that very set
                held = functools.partial(keyset.verification_key, now=clock())
                for kid, alg in _key_ids(store) | {(key.kid, key.alg) for key in keyset}:
                    assert _lookup(store.verification_key, kid, alg) is _lookup(held, kid, alg), (
                        "verification_key did not answer from the settled key set"
                    )
            clock.advance(300)

    def test_published_before_signing(self) -> None:
        clock = FakeClock()
        store = self.make_key_store(clock, self.policy)
        first = store.signing_key().kid
        published: dict[str, float] = {}
        signers: set[str] = set()
        for _ in range(int(3 * self.policy.rotate_every // 60)):
            now = clock()
            for jwk in store.jwks()["keys"]:
                published.setdefault(jwk["kid"], now)
            signing = store.signing_key()
            kid = signing.kid
            signers.add(kid)
            if kid != first and not signing.is_symmetric:  # HMAC keys are never in a JWKS
                assert kid in published, "a key signed before it was published"
                assert now - published[kid] >= self.policy.publish_ahead - 60
            clock.advance(60)
        assert len(signers) >= 3, "the store did not rotate"

    def test_replicas_rotating_at_once_publish_one_successor(self) -> None:
        """Replica B reads the clock, replica A rotates a moment later, then B takes the lock:
        B must see A's successor as already due and add none of its own (stores without a
        ``rotate()`` method skip this)."""
        if not self.shared:
            return
        start = FakeClock()()
        first = self.make_key_store(FakeClock(start + 1), self.policy)
        first.signing_key()
        second_clock = _InterruptedClock(start + 2, earlier=start)
        second = self.make_key_store(second_clock, self.policy)
        second.signing_key()
        rotate_first = getattr(first, "rotate", None)
        rotate_second = getattr(second, "rotate", None)
        if not callable(rotate_first) or not callable(rotate_second):
            return
        second_clock.interrupt = rotate_first  # A's rotation runs inside B's first clock read
        rotate_second()
        later = self.make_key_store(FakeClock(start + 2), self.policy)
        kids = _kids(later)
        if kids is None:
            return  # HMAC keys are in no JWKS, and this store shows no key set
        assert len(kids) == 2, "two replicas rotating at once published two successors"
        assert _kids(first) == kids

    def test_instances_sharing_a_backend_agree(self) -> None:
        if not self.shared:
            return
        clock = FakeClock()
        first = self.make_key_store(clock, self.policy)
        second = self.make_key_store(clock, self.policy)
        for _ in range(10):
            assert first.signing_key().kid == second.signing_key().kid
            clock.advance(self.policy.rotate_every / 4)

    # --- the first key, made by replicas starting together (issue 14 item 12) ---------------

    def _one_first_key(self, kids: list[str]) -> None:
        assert len(set(kids)) == 1, f"replicas sign with {len(set(kids))} different first keys"
        stored = _kids(self.make_key_store(FakeClock(time.time()), self.policy))
        assert stored is None or stored == set(kids), f"{len(stored)} first keys were published"

    def test_first_key_is_shared_by_replicas_whose_clocks_differ(self) -> None:
        """A replica whose clock is behind the first key's creator (by 50 ms, or by almost the
        documented bound ``keyset.CLOCK_SKEW``) signs with that key; it adds none of its own."""
        if not self.shared:
            return
        start = FakeClock()()
        creator = self.make_key_store(FakeClock(start), self.policy)
        behind = [
            self.make_key_store(FakeClock(start - skew), self.policy)
            for skew in (0.05, CLOCK_SKEW - 0.5)
        ]
        kids = [creator.signing_key().kid] + [store.signing_key().kid for store in behind]
        assert len(set(kids)) == 1, "a replica whose clock is behind made its own first key"
        stored = _kids(self.make_key_store(FakeClock(start), self.policy))
        assert stored is None or stored == set(kids), "two first keys were published"

    def test_first_key_race_between_threads(self) -> None:
        """Eight replicas in threads read their clocks (each 25 ms behind the previous one)
        together, then reach the lock one after another, the most-behind last."""
        if not self.shared:
            return
        count = 8
        gate, start = threading.Barrier(count), threading.Barrier(count)
        clocks = [_replica_clock(i, gate) for i in range(count)]
        stores = [self.make_key_store(clock, self.policy) for clock in clocks]
        with ThreadPoolExecutor(max_workers=count) as pool:  # one thread per replica
            kids = list(pool.map(_sign_together, stores, clocks, [start] * count))
        self._one_first_key(kids)

    def test_first_key_race_between_processes(self) -> None:
        """Three replicas in their own processes, clocks 0, 25 and 50 ms behind, start on an
        empty store at once (needs :meth:`key_store_factory`)."""
        factory = self.key_store_factory()
        if not self.shared or factory is None:
            return
        import multiprocessing  # noqa: PLC0415 - only for this scenario

        context = multiprocessing.get_context("spawn")  # no fork of a threaded test process
        count = 3
        start, gate, results = context.Barrier(count), context.Barrier(count), context.Queue()
        policy = {name: getattr(self.policy, name) for name in RotationPolicy._fields}
        children = [
            context.Process(
                target=_sign_as_a_replica, args=(factory, policy, i, start, gate, results)
            )
            for i in range(count)
        ]
        for child in children:
            child.start()
        try:
            answers = dict(results.get(timeout=120) for _ in children)
        finally:
            for child in children:
                child.join(timeout=30)
                if child.is_alive():  # pragma: no cover - a child that hangs
                    child.kill()
                    child.join()
            results.close()
            results.join_thread()
        kids = [answers[i] for i in range(count)]
        assert not [kid for kid in kids if kid.startswith("error: ")], kids
        self._one_first_key(kids)
