"""Remote JWKS: what an unknown kid costs, forcing a refresh, and outages under load.

* The unknown-kid refetch budget is not spent on kids seen in an earlier document (withdrawn
  keys), kids left out of the current one, or kids already refetched for within the cooldown.
* ``refresh(force=True)`` reaches the issuer now, unconditionally, single-flight.
* With a usable key set in hand, an unknown kid is a token refusal (``UnknownKey``, 401) even
  while the JWKS endpoint answers 503; ``JWKSFetchError`` (503) only without a usable set.
  Proved under concurrency, through ``validate()`` on threads and ``avalidate()`` on tasks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.jwks_server import JWKSServer
from tokensmith import (
    ConfigurationError,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    UnknownKey,
    ValidatedTokenCache,
    Validator,
)
from tokensmith.errors import JWKSFetchError
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.testing import FakeClock

ISS = "https://auth.example.test"
AUD = "orders-api"
PATH = "/jwks.json"


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


def serve(server: JWKSServer, *keys: Key, max_age: int = 300) -> None:
    server.serve_json(
        PATH,
        {"keys": [k.to_jwk() for k in keys]},
        headers={"Cache-Control": f"max-age={max_age}"},
    )


def unknown(remote: RemoteJWKS, kid: str) -> UnknownKey:
    with pytest.raises(UnknownKey) as info:
        remote.verification_key(kid, "ES256")
    assert type(info.value) is UnknownKey
    return info.value


# --- the unknown-kid refetch budget -------------------------------------------------------------


def test_a_withdrawn_kid_never_spends_the_budget(server: JWKSServer) -> None:
    """A stale token retried against a key the issuer dropped must not lock out a new key."""
    a, old = Key.generate("ES256", kid="a"), Key.generate("ES256", kid="old")
    serve(server, a, old, max_age=60)
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2, cooldown=30, cooldown_burst=2)
    remote.refresh()
    serve(server, a, max_age=60)
    clock.advance(60)
    remote.verification_key("a", "ES256")  # the expiry refresh: "old" is gone
    assert server.requests_to(PATH) == 2
    for _ in range(5):
        assert "withdrew" in unknown(remote, "old").message
    assert server.requests_to(PATH) == 2  # no request for a withdrawn kid
    serve(server, a, Key.generate("ES256", kid="new"), max_age=60)
    assert remote.verification_key("new", "ES256").kid == "new"  # never refused
    assert server.requests_to(PATH) == 3


def test_a_kid_refetched_for_is_not_refetched_again_within_the_cooldown(
    server: JWKSServer,
) -> None:
    serve(server, Key.generate("ES256", kid="a"))
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2, cooldown=30, cooldown_burst=2)
    remote.refresh()
    unknown(remote, "x")
    for _ in range(5):  # the same token retried
        assert "already refetched for" in unknown(remote, "x").message
    assert server.requests_to(PATH) == 2
    serve(server, Key.generate("ES256", kid="a"), Key.generate("ES256", kid="new"))
    assert remote.verification_key("new", "ES256").kid == "new"  # the budget had room
    assert server.requests_to(PATH) == 3
    clock.advance(31)  # the cooldown moved on: x may be asked about once more
    unknown(remote, "x")
    assert server.requests_to(PATH) == 4


def test_different_unknown_kids_still_spend_the_budget(server: JWKSServer) -> None:
    serve(server, Key.generate("ES256", kid="a"))
    remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2, cooldown_burst=2)
    remote.refresh()
    for i in range(10):
        unknown(remote, f"garbage-{i}")
    assert server.requests_to(PATH) == 1 + 2
    assert "refetch cooldown" in unknown(remote, "garbage-x").message


def test_a_kid_the_issuer_publishes_in_an_unusable_form_is_not_refetched(
    server: JWKSServer,
) -> None:
    enc = {**Key.generate("RS256", kid="enc").to_jwk(), "use": "enc"}
    server.serve_json(PATH, {"keys": [Key.generate("ES256", kid="a").to_jwk(), enc]})
    remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
    remote.refresh()
    assert "cannot use" in unknown(remote, "enc").message
    assert server.requests_to(PATH) == 1


def test_withdrawn_kids_are_remembered_within_a_bound(
    server: JWKSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokensmith.jwks._remote_core as core_module

    monkeypatch.setattr(core_module, "_MAX_DROPPED", 3)
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2, min_ttl=1)
    for i in range(6):
        serve(server, Key.generate("ES256", kid=f"k{i}"))
        remote.refresh()
    assert list(remote._state.dropped) == ["k2", "k3", "k4"]
    serve(server, Key.generate("ES256", kid="k3"))  # published again: no longer withdrawn
    remote.refresh()
    assert list(remote._state.dropped) == ["k2", "k4", "k5"]


# --- forcing a refresh -----------------------------------------------------------------------------


def test_force_reaches_the_issuer_now_unconditionally(server: JWKSServer) -> None:
    store = MemoryKeyStore(KeySet.generate("ES256"))
    compromised = store.signing_key()
    server.serve_store(store, max_age=4)  # the issuer says 4 s; min_ttl keeps 60
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2)
    cache = ValidatedTokenCache()
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=clock, cache=cache)
    token = Signer(store, issuer=ISS, clock=clock).issue("u", audience=AUD)
    assert validator.validate(token)
    assert validator.validate(token) and cache.hits == 1
    successor = Key.generate("ES256")
    store.replace(store.keyset.add(successor).remove(compromised.kid))  # the emergency removal
    clock.advance(30)
    assert validator.validate(token)  # within min_ttl: still served from the cache
    remote.refresh(force=True)
    assert "if-none-match" not in server.request_headers[-1]
    with pytest.raises(UnknownKey):
        validator.validate(token)  # a cached validation is re-confirmed with the key source
    assert successor.kid in remote.kids


def test_force_forgets_the_spent_budget(server: JWKSServer) -> None:
    serve(server, Key.generate("ES256", kid="a"))
    remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2, cooldown_burst=1)
    remote.refresh()
    unknown(remote, "garbage")
    serve(server, Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b"))
    remote.refresh(force=True)
    assert remote.verification_key("b", "ES256").kid == "b"
    serve(server, Key.generate("ES256", kid="a"), Key.generate("ES256", kid="c"))
    assert remote.verification_key("c", "ES256").kid == "c"  # the budget is whole again


def test_concurrent_forced_refreshes_share_requests(server: JWKSServer) -> None:
    serve(server, Key.generate("ES256", kid="a"))
    remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
    remote.refresh()
    server.mode = "slow"
    server.delay = 0.3
    barrier = threading.Barrier(8)

    def force() -> None:
        barrier.wait()
        remote.refresh(force=True)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(force) for _ in range(8)]:
            future.result()
    assert 1 + 1 <= server.requests_to(PATH) <= 1 + 2  # one, or one begun after a late call


def test_async_force_is_single_flight_and_starts_after_the_call(server: JWKSServer) -> None:
    serve(server, Key.generate("ES256", kid="a"))

    async def main() -> None:
        async with AsyncRemoteJWKS(server.url(), clock=FakeClock(), timeout=2) as remote:
            await remote.refresh()
            server.mode = "slow"
            server.delay = 0.3
            await asyncio.gather(*(remote.refresh(force=True) for _ in range(8)))
            assert server.requests_to(PATH) == 2
            assert "if-none-match" not in server.request_headers[-1]
            # a fetch in flight when force is asked may predate the incident: one more follows
            ordinary = asyncio.ensure_future(remote.refresh())
            await asyncio.sleep(0.05)
            serve(server, Key.generate("ES256", kid="b"))
            await remote.refresh(force=True)
            await ordinary
            assert server.requests_to(PATH) == 4
            assert remote.kids == {"b"}

    asyncio.run(main())


def test_force_must_be_a_bool(server: JWKSServer) -> None:
    remote = RemoteJWKS(server.url(), clock=FakeClock())
    with pytest.raises(ConfigurationError):
        remote.refresh(force=1)  # type: ignore[arg-type]

    async def main() -> None:
        with pytest.raises(ConfigurationError):
            await AsyncRemoteJWKS(server.url()).refresh(force="yes")  # type: ignore[arg-type]

    asyncio.run(main())


# --- a JWKS outage never turns forged tokens into 503s -------------------------------------------


class _Scenario:
    """An issuer behind the loopback server, genuine tokens, and forged ones with unknown kids."""

    def __init__(self, server: JWKSServer) -> None:
        self.server = server
        self.clock = FakeClock()
        self.store = MemoryKeyStore(KeySet.generate("ES256"), clock=self.clock)
        server.serve_store(self.store, max_age=300)
        signer = Signer(self.store, issuer=ISS, clock=self.clock)
        self.genuine = [signer.issue(f"user-{i}", audience=AUD) for i in range(4)]
        self.forged = []
        for i in range(12):  # a foreign key for each: kids the issuer never published
            foreign = MemoryKeyStore(KeySet.generate("ES256"), clock=self.clock)
            forger = Signer(foreign, issuer=ISS, clock=self.clock)
            self.forged.append(forger.issue(f"admin-{i}", audience=AUD))

    def outcomes(self, validate: Any, rounds: int = 4) -> list[tuple[bool, Any]]:
        """``(genuine, result)`` for every token, ``rounds`` times over, from 16 threads."""
        work = [(True, t) for t in self.genuine] + [(False, t) for t in self.forged]
        work *= rounds

        def run(item: tuple[bool, str]) -> tuple[bool, Any]:
            try:
                return item[0], validate(item[1])
            except Exception as exc:
                return item[0], exc

        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(run, work))


def _check(outcomes: list[tuple[bool, Any]], refusal: type[Exception]) -> None:
    for genuine, result in outcomes:
        if genuine and refusal is UnknownKey:
            assert not isinstance(result, Exception), result
        else:
            assert type(result) is refusal, result


@pytest.mark.parametrize("mode", ["503", "500", "slow"])
def test_threads_during_an_outage_get_401_for_unknown_kids_while_a_set_is_usable(
    server: JWKSServer, mode: str
) -> None:
    world = _Scenario(server)
    # a hanging endpoint must time out, a healthy one must not, even on a loaded machine
    timeout = 1.0 if mode == "slow" else 2.0
    remote = RemoteJWKS(
        server.url(), clock=world.clock, timeout=timeout, retry_interval=2, max_stale=600
    )
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=world.clock)
    validator.validate(world.genuine[0])  # the set is in hand
    server.mode = mode
    server.delay = 2.5
    _check(world.outcomes(validator.validate), UnknownKey)  # fresh
    world.clock.advance(301)  # expired: stale within max_stale, the refresh fails
    _check(world.outcomes(validator.validate), UnknownKey)
    world.clock.advance(2)  # retry_interval passed: more failing attempts, same answers
    _check(world.outcomes(validator.validate), UnknownKey)
    world.clock.advance(600)  # beyond max_stale: no usable set, now it is 503 for everyone
    _check(world.outcomes(validator.validate), JWKSFetchError)
    server.mode = "ok"
    world.clock.advance(2)
    _check(world.outcomes(validator.validate), UnknownKey)  # recovered


def test_threads_on_a_cold_start_during_an_outage_get_503(server: JWKSServer) -> None:
    world = _Scenario(server)
    server.mode = "503"
    remote = RemoteJWKS(server.url(), clock=world.clock, timeout=2)
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=world.clock)
    _check(world.outcomes(validator.validate), JWKSFetchError)  # no set to judge against


def test_tasks_during_an_outage_get_401_for_unknown_kids_while_a_set_is_usable(
    server: JWKSServer,
) -> None:
    world = _Scenario(server)

    async def outcomes(validator: Validator) -> list[tuple[bool, Any]]:
        work = ([(True, t) for t in world.genuine] + [(False, t) for t in world.forged]) * 4

        async def run(item: tuple[bool, str]) -> tuple[bool, Any]:
            try:
                return item[0], await validator.avalidate(item[1])
            except Exception as exc:
                return item[0], exc

        return list(await asyncio.gather(*(run(item) for item in work)))

    async def main() -> None:
        async with AsyncRemoteJWKS(
            server.url(), clock=world.clock, timeout=2, retry_interval=2, max_stale=600
        ) as remote:
            validator = Validator(remote, issuer=ISS, audience=AUD, clock=world.clock)
            await validator.avalidate(world.genuine[0])
            server.mode = "503"
            _check(await outcomes(validator), UnknownKey)
            world.clock.advance(301)
            _check(await outcomes(validator), UnknownKey)
            world.clock.advance(2)
            _check(await outcomes(validator), UnknownKey)
            world.clock.advance(600)
            _check(await outcomes(validator), JWKSFetchError)
        async with AsyncRemoteJWKS(server.url(), clock=world.clock, timeout=2) as cold:
            validator = Validator(cold, issuer=ISS, audience=AUD, clock=world.clock)
            _check(await outcomes(validator), JWKSFetchError)

    asyncio.run(main())
