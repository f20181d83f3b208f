"""The contract every :class:`~tokensmith.refresh.RefreshStore` must meet, as a test suite.

Exported as :class:`tokensmith.testing.RefreshStoreContract`: subclass it in a test module,
implement :meth:`~RefreshStoreContract.make_refresh_store`, and pytest runs every ``test_*``
method against your backend.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from ..confirmation import Confirmation
from ..errors import ConfigurationError
from ..refresh.base import RefreshFamily, RefreshStore, RotateOutcome, RotateResult
from .clock import FakeClock

__all__ = ["RefreshStoreContract"]

_DAY = 86400.0
_F = "fam-1"  # the family of most scenarios


def _h(name: str) -> str:
    """A stand-in token hash (stores only ever see 64-hex-character hashes)."""
    return hashlib.sha256(name.encode()).hexdigest()


def _family(
    clock: FakeClock,
    family_id: str = "fam-1",
    *,
    lifetime: float = 30 * _DAY,
    claims: dict[str, Any] | None = None,
    client_id: str | None = "client-1",
    confirmation: Confirmation | None = None,
) -> RefreshFamily:
    now = clock()
    return RefreshFamily(
        family_id=family_id,
        subject="user-1",
        audience=("api",),
        scopes=("read", "write"),
        client_id=client_id,
        created_at=now,
        expires_at=now + lifetime,
        claims=MappingProxyType(claims or {}),
        confirmation=confirmation,
    )


class RefreshStoreContract:
    """The behaviour every refresh-token store must have.

    Implement :meth:`make_refresh_store`. For the concurrency test, :meth:`another_handle` may
    return a second handle on the same backend (its own connection), as separate processes
    would have; by default the threads share one handle. ``threads`` sets how many race.
    """

    threads: int = 8

    def make_refresh_store(self, clock: FakeClock) -> RefreshStore:
        """Return a fresh, empty store (``clock`` is the time the test runs at)."""
        raise NotImplementedError

    def another_handle(self, store: RefreshStore, clock: FakeClock) -> RefreshStore:
        """A second handle on ``store``'s backend; default: ``store`` itself."""
        return store

    def _run(self, scenario: Callable[[RefreshStore, FakeClock], None]) -> None:
        clock = FakeClock()
        store = self.make_refresh_store(clock)
        try:
            scenario(store, clock)
        finally:
            _close(store)

    def test_unknown_token(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            assert store.find(_h("nothing"), family_id=_F) is None
            result = store.rotate(
                _h("nothing"), _h("new"), family_id=_F, now=clock(), expires_at=clock() + 60
            )
            assert result.outcome is RotateOutcome.UNKNOWN
            assert store.find(_h("new"), family_id=_F) is None

        self._run(scenario)

    def test_create_and_find(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            store.create_family(family, _h("t1"), expires_at=clock() + _DAY)
            record = store.find(_h("t1"), family_id=_F)
            assert record is not None
            assert record.family == family
            assert record.expires_at == clock() + _DAY
            assert not record.consumed
            assert not record.revoked
            assert record.outcome(clock()) is RotateOutcome.OK

        self._run(scenario)

    def test_family_round_trips(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            claims = {"tenant": "acmé", "roles": ["a", "b"], "n": 3, "nested": {"x": None}}
            family = _family(clock, "fam-rt", claims=claims, client_id=None)
            store.create_family(family, _h("t1"), expires_at=clock() + 60)
            record = store.find(_h("t1"), family_id="fam-rt")
            assert record is not None
            assert record.family == family
            assert dict(record.family.claims) == claims
            assert record.family.client_id is None

        self._run(scenario)

    def test_bound_family_round_trips(self) -> None:
        """A family bound to a DPoP key (RFC 9449 §5.8) keeps its binding through the store,
        for its first token and for successors."""

        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            bound = Confirmation(jkt="0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbW")
            family = _family(clock, "fam-bound", confirmation=bound)
            store.create_family(family, _h("t1"), expires_at=clock() + 60)
            record = store.find(_h("t1"), family_id="fam-bound")
            assert record is not None
            assert record.family == family
            assert record.family.confirmation == bound
            result = store.rotate(
                _h("t1"), _h("t2"), family_id="fam-bound", now=clock(), expires_at=clock() + 60
            )
            assert result.family is not None
            assert result.family.confirmation == bound
            successor = store.find(_h("t2"), family_id="fam-bound")
            assert successor is not None
            assert successor.family.confirmation == bound

        self._run(scenario)

    def test_rotate_consumes_and_stores_the_successor(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            store.create_family(family, _h("t1"), expires_at=clock() + _DAY)
            clock.advance(10)
            result = store.rotate(
                _h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert result == RotateResult(RotateOutcome.OK, family, clock() + _DAY)
            old, new = store.find(_h("t1"), family_id=_F), store.find(_h("t2"), family_id=_F)
            assert old is not None
            assert old.consumed
            assert new is not None
            assert not new.consumed
            assert new.family == family
            assert new.expires_at == clock() + _DAY
            clock.advance(10)
            third = store.rotate(
                _h("t2"), _h("t3"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert third.outcome is RotateOutcome.OK

        self._run(scenario)

    def test_reuse_revokes_the_family(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            store.create_family(family, _h("t1"), expires_at=clock() + _DAY)
            store.rotate(_h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + _DAY)
            reused = store.rotate(
                _h("t1"), _h("x"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert reused == RotateResult(RotateOutcome.REUSED, family)
            assert store.find(_h("x"), family_id=_F) is None
            successor = store.rotate(
                _h("t2"), _h("t3"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert successor.outcome is RotateOutcome.REVOKED
            record = store.find(_h("t2"), family_id=_F)
            assert record is not None
            assert record.revoked
            again = store.rotate(
                _h("t1"), _h("y"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert again.outcome is RotateOutcome.REVOKED

        self._run(scenario)

    def test_reuse_detected_even_after_the_token_expired(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            store.create_family(_family(clock), _h("t1"), expires_at=clock() + 60)
            store.rotate(_h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + 60)
            clock.advance(3600)  # t1 is long past its idle expiry; the family still lives
            reused = store.rotate(
                _h("t1"), _h("x"), family_id=_F, now=clock(), expires_at=clock() + 60
            )
            assert reused.outcome is RotateOutcome.REUSED

        self._run(scenario)

    def test_idle_expiry(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            store.create_family(family, _h("t1"), expires_at=clock() + 60)
            clock.advance(60)
            expired = store.rotate(
                _h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + 60
            )
            assert expired == RotateResult(RotateOutcome.EXPIRED, family)
            assert store.find(_h("t2"), family_id=_F) is None
            record = store.find(_h("t1"), family_id=_F)
            assert record is not None
            assert not record.consumed

        self._run(scenario)

    def test_successor_never_outlives_the_family(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock, lifetime=100)
            store.create_family(family, _h("t1"), expires_at=clock() + 500)
            first = store.find(_h("t1"), family_id=_F)
            assert first is not None
            assert first.expires_at == family.expires_at
            clock.advance(50)
            result = store.rotate(
                _h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + 500
            )
            assert result.outcome is RotateOutcome.OK
            assert result.expires_at == family.expires_at
            clock.advance(50)  # exactly at the absolute limit
            late = store.rotate(
                _h("t2"), _h("t3"), family_id=_F, now=clock(), expires_at=clock() + 500
            )
            assert late.outcome in {RotateOutcome.EXPIRED, RotateOutcome.UNKNOWN}

        self._run(scenario)

    def test_revoke_family(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            other = _family(clock, "fam-2")
            store.create_family(family, _h("t1"), expires_at=clock() + _DAY)
            store.create_family(other, _h("o1"), expires_at=clock() + _DAY)
            assert store.revoke_family("fam-1") == family
            assert store.revoke_family("fam-1") is None
            assert store.revoke_family("no-such-family") is None
            result = store.rotate(
                _h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + _DAY
            )
            assert result.outcome is RotateOutcome.REVOKED
            untouched = store.rotate(
                _h("o1"), _h("o2"), family_id="fam-2", now=clock(), expires_at=clock() + _DAY
            )
            assert untouched.outcome is RotateOutcome.OK

        self._run(scenario)

    def test_purge_forgets_only_dead_families(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            store.create_family(_family(clock, lifetime=100), _h("t1"), expires_at=clock() + 100)
            store.create_family(
                _family(clock, "fam-2", lifetime=_DAY), _h("o1"), expires_at=clock() + _DAY
            )
            assert store.purge(clock()) == 0
            clock.advance(100)
            gone = store.purge(clock())
            assert gone in {0, 1}  # 0: the backend expires entries by itself (TTLs)
            if gone:
                assert store.find(_h("t1"), family_id=_F) is None
            dead = store.rotate(
                _h("t1"), _h("t2"), family_id=_F, now=clock(), expires_at=clock() + 60
            )
            assert dead.outcome in {RotateOutcome.EXPIRED, RotateOutcome.UNKNOWN}
            live = store.find(_h("o1"), family_id="fam-2")
            assert live is not None
            assert live.outcome(clock()) is RotateOutcome.OK

        self._run(scenario)

    def test_bad_hashes_are_refused(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            for bad in ("", "rt_" + "a" * 40, "A" * 64, "g" * 64):
                for call in (
                    lambda bad=bad: store.find(bad, family_id=_F),
                    lambda bad=bad: store.rotate(
                        bad, _h("n"), family_id=_F, now=clock(), expires_at=clock()
                    ),
                    lambda bad=bad: store.rotate(
                        _h("n"), bad, family_id=_F, now=clock(), expires_at=clock()
                    ),
                    lambda bad=bad: store.create_family(
                        _family(clock, "fam-x"), bad, expires_at=clock() + 60
                    ),
                ):
                    try:
                        call()
                    except ConfigurationError:
                        continue
                    raise AssertionError("a malformed hash was accepted")

        self._run(scenario)

    def test_a_token_is_unknown_in_another_family(self) -> None:
        """A lookup names the family the token claims; a token of another family is unknown,
        and a rotation through the wrong family changes nothing."""

        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            store.create_family(_family(clock), _h("t1"), expires_at=clock() + _DAY)
            store.create_family(_family(clock, "fam-2"), _h("o1"), expires_at=clock() + _DAY)
            assert store.find(_h("t1"), family_id="fam-2") is None
            assert store.find(_h("t1"), family_id="no-such-family") is None
            wrong = store.rotate(
                _h("t1"), _h("t2"), family_id="fam-2", now=clock(), expires_at=clock() + 60
            )
            assert wrong.outcome is RotateOutcome.UNKNOWN
            assert store.find(_h("t2"), family_id="fam-2") is None
            record = store.find(_h("t1"), family_id=_F)
            assert record is not None
            assert not record.consumed
            assert not record.revoked

        self._run(scenario)

    def test_family_ids_are_checked_and_opaque(self) -> None:
        """Any non-empty string is a family id (braces, colons and non-ASCII included, as a
        key-value store must not let one name another's keys); anything else is refused."""

        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            odd = ["{fam-1}", "fam-1:t:x", "f\u00e9m \U0001f511", "a}b{c", "fam-1\x00"]
            for index, family_id in enumerate(odd):
                store.create_family(
                    _family(clock, family_id), _h(f"odd-{index}"), expires_at=clock() + 60
                )
            for index, family_id in enumerate(odd):
                record = store.find(_h(f"odd-{index}"), family_id=family_id)
                assert record is not None
                assert record.family.family_id == family_id
                assert store.find(_h(f"odd-{index}"), family_id=_F) is None
            for bad in ("", None, 5):
                for call in (
                    lambda bad=bad: store.find(_h("n"), family_id=bad),
                    lambda bad=bad: store.rotate(
                        _h("n"), _h("m"), family_id=bad, now=clock(), expires_at=clock()
                    ),
                ):
                    try:
                        call()
                    except ConfigurationError:
                        continue
                    raise AssertionError("a malformed family id was accepted")

        self._run(scenario)

    def test_concurrent_rotation_has_exactly_one_winner(self) -> None:
        def scenario(store: RefreshStore, clock: FakeClock) -> None:
            family = _family(clock)
            store.create_family(family, _h("t1"), expires_at=clock() + _DAY)
            handles = [store] + [self.another_handle(store, clock) for _ in range(self.threads - 1)]
            barrier = threading.Barrier(self.threads)
            results: list[RotateOutcome] = []
            errors: list[BaseException] = []

            def race(index: int) -> None:
                try:
                    barrier.wait(timeout=10)
                    result = handles[index].rotate(
                        _h("t1"),
                        _h(f"new-{index}"),
                        family_id=_F,
                        now=clock(),
                        expires_at=clock() + _DAY,
                    )
                    results.append(result.outcome)
                except BaseException as exc:  # reported below, in the test's thread
                    errors.append(exc)

            workers = [threading.Thread(target=race, args=(i,)) for i in range(self.threads)]
            try:
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join(timeout=30)
            finally:
                for handle in {id(h): h for h in handles[1:] if h is not store}.values():
                    _close(handle)
            assert not errors, errors
            assert results.count(RotateOutcome.OK) == 1, results
            # The first loser is reuse (and revokes the family); later ones find it revoked.
            assert results.count(RotateOutcome.REUSED) == 1, results
            assert results.count(RotateOutcome.REVOKED) == self.threads - 2, results
            record = store.find(_h("t1"), family_id=_F)
            assert record is not None
            assert record.revoked

        self._run(scenario)


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
