"""The contract every :class:`~tokensmith.replay.JtiReplayStore` must meet, as a test suite.

Exported as :class:`tokensmith.testing.JtiReplayStoreContract`: subclass it in a test module,
implement :meth:`~JtiReplayStoreContract.make_replay_store`, and pytest runs every ``test_*``
method against your store. tokensmith runs it against the memory, SQLite and Redis stores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..errors import ConfigurationError
from ..replay.base import JtiReplayStore
from .clock import FakeClock

__all__ = ["JtiReplayStoreContract"]

_ISS = "https://client.example"


class JtiReplayStoreContract:
    """The behaviour every replay store must have.

    Implement :meth:`make_replay_store`: each test gets a fresh, empty backend, and within a
    test every store the factory makes uses that same backend. Set ``shared = True`` when two
    such stores share their entries (a file, a server): the suite then checks that a spent
    ``jti`` stays spent for a store opened later, which is what refuses a replay after the
    process restarts. Set ``clock_expiry = False`` when the backend forgets entries on its own
    clock (Redis key TTLs) rather than the injected one. ``threads`` sets how many race.
    """

    shared: bool = False
    clock_expiry: bool = True
    threads: int = 8

    def make_replay_store(self, clock: FakeClock) -> JtiReplayStore:
        """Return a store on this test's backend that reads time from ``clock``."""
        raise NotImplementedError

    def _run(self, scenario: Callable[[JtiReplayStore, FakeClock], None]) -> None:
        clock = FakeClock()
        store = self.make_replay_store(clock)
        try:
            scenario(store, clock)
        finally:
            _close(store)

    def test_the_first_use_wins_and_every_replay_is_refused(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            expires = clock() + 60
            assert store.use(_ISS, "j-1", expires_at=expires) is True
            for _ in range(3):
                assert store.use(_ISS, "j-1", expires_at=expires) is False
            assert store.use(_ISS, "j-2", expires_at=expires) is True

        self._run(scenario)

    def test_pairs_are_scoped_to_the_issuer(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            expires = clock() + 60
            assert store.use("client-a", "j", expires_at=expires)
            assert store.use("client-b", "j", expires_at=expires)
            assert store.use("a", "b:c", expires_at=expires)  # no separator confusion
            assert store.use("a:b", "c", expires_at=expires)
            assert store.use("a\x00b", "c", expires_at=expires)
            assert not store.use("client-a", "j", expires_at=expires)

        self._run(scenario)

    def test_spent_until_the_assertion_expires(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            assert store.use(_ISS, "j", expires_at=clock() + 300)
            clock.advance(299)
            assert not store.use(_ISS, "j", expires_at=clock() + 300)

        self._run(scenario)

    def test_an_expired_entry_is_forgotten(self) -> None:
        if not self.clock_expiry:
            return

        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            assert store.use(_ISS, "j", expires_at=clock() + 60)
            clock.advance(61)
            assert store.use(_ISS, "j", expires_at=clock() + 60)
            assert not store.use(_ISS, "j", expires_at=clock() + 60)

        self._run(scenario)

    def test_an_expiry_in_the_past_still_spends(self) -> None:
        """The validator's leeway may accept an assertion whose ``exp`` just passed."""

        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            assert store.use(_ISS, "late", expires_at=clock() - 20)
            assert not store.use(_ISS, "late", expires_at=clock() - 20)

        self._run(scenario)

    def test_any_text_is_a_jti(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            expires = clock() + 60
            for jti in ("é", "\ud800", "x" * 4096, "a b\nc", "{}", "*", "%s"):
                assert store.use(_ISS, jti, expires_at=expires), jti
                assert not store.use(_ISS, jti, expires_at=expires), jti

        self._run(scenario)

    def test_concurrent_uses_have_exactly_one_winner(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            handles = [
                self.make_replay_store(clock) if self.shared else store for _ in range(self.threads)
            ]
            barrier = threading.Barrier(self.threads)
            results: list[bool] = []
            lock = threading.Lock()

            def spend(handle: JtiReplayStore) -> None:
                barrier.wait()
                won = handle.use(_ISS, "raced", expires_at=clock() + 60)
                with lock:
                    results.append(won)

            workers = [threading.Thread(target=spend, args=(h,)) for h in handles]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(30)
            for handle in handles:
                if handle is not store:
                    _close(handle)
            assert sorted(results) == [False] * (self.threads - 1) + [True]

        self._run(scenario)

    def test_a_restart_does_not_forget(self) -> None:
        """A store opened after the first one closed (a restarted process) refuses the replay."""
        if not self.shared:
            return

        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            assert store.use(_ISS, "before-restart", expires_at=clock() + 120)
            _close(store)
            clock.advance(30)
            restarted = self.make_replay_store(clock)
            try:
                assert not restarted.use(_ISS, "before-restart", expires_at=clock() + 90)
                assert restarted.use(_ISS, "after-restart", expires_at=clock() + 90)
            finally:
                _close(restarted)

        self._run(scenario)

    def test_bad_arguments_are_configuration_errors(self) -> None:
        def scenario(store: JtiReplayStore, clock: FakeClock) -> None:
            now = clock()
            bad: list[tuple[object, object, object]] = [
                ("", "j", now),
                (_ISS, "", now),
                (None, "j", now),
                (_ISS, 5, now),
                (_ISS, "j", float("nan")),
                (_ISS, "j", float("inf")),
                (_ISS, "j", True),
                (_ISS, "j", "soon"),
            ]
            for issuer, jti, expires_at in bad:
                try:
                    store.use(issuer, jti, expires_at=expires_at)  # type: ignore[arg-type]
                except ConfigurationError:
                    continue
                raise AssertionError(f"accepted {(issuer, jti, expires_at)!r}")

        self._run(scenario)


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
