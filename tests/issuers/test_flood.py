"""Issuers set up on first use, against a real loopback JWKS server per tenant: a flood of
made-up tenants keeps memory and fetches bounded, failures are remembered, tenants in use stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.issuers.conftest import AUD, Run, tenant
from tests.support.jwks_server import JWKSServer
from tokensmith import KeySet, MemoryKeyStore, Signer
from tokensmith.errors import BackendUnavailable, InvalidIssuer, JWKSFetchError, UnknownKey
from tokensmith.issuers import MultiIssuerValidator
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


class Provider:
    """A multi-tenant identity provider on loopback: ``http://127.0.0.1:port/<tid>``."""

    def __init__(self, server: JWKSServer, clock: FakeClock) -> None:
        self.server = server
        self.clock = clock
        self.template = server.url("/{tid}")
        self.attacker = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)

    def issuer(self, tid: str) -> str:
        return self.template.replace("{tid}", tid)

    def add(self, tid: str) -> Signer:
        store, signer = tenant(self.clock, self.issuer(tid))
        self.server.serve_store(store, f"/{tid}/jwks.json")
        return signer

    def token(self, signer: Signer, tid: str) -> str:
        return signer.issue("u", audience=AUD, claims={"tid": tid})

    def forged(self, tid: str) -> str:
        """The attacker's key, any tenant of the provider's pattern."""
        signer = Signer(self.attacker, issuer=self.issuer(tid), clock=self.clock)
        return self.token(signer, tid)

    def fetches(self) -> int:
        return self.server.count


@pytest.fixture
def provider(server: JWKSServer, clock: FakeClock) -> Provider:
    return Provider(server, clock)


def router_for(provider: Provider, run: Run, **options: Any) -> MultiIssuerValidator:
    remote = RemoteJWKS if run.face == "validate" else AsyncRemoteJWKS

    def keys_for(issuer: str) -> Any:
        return remote(issuer + "/jwks.json", issuer=issuer, clock=provider.clock)

    return MultiIssuerValidator(
        templates=provider.template,
        keys_for=keys_for,
        audience=AUD,
        clock=provider.clock,
        **options,
    )


def test_each_tenant_is_verified_by_its_own_remote_keys(provider: Provider, run: Run) -> None:
    acme, globex = provider.add("acme"), provider.add("globex")
    router = router_for(provider, run)
    assert run(router, provider.token(acme, "acme")).claims["tid"] == "acme"
    assert run(router, provider.token(globex, "globex")).claims["tid"] == "globex"
    assert provider.fetches() == 2
    # acme's key, globex's issuer and tenant: only globex's keys are asked, and refuse it
    forged = Signer(acme._keys, issuer=provider.issuer("globex"), clock=provider.clock)  # noqa: SLF001
    run.refused(router, provider.token(forged, "globex"), UnknownKey)
    # a tenant id that would add a path segment never reaches the network
    run.refused(router, provider.forged("acme/../globex"), InvalidIssuer)
    run.refused(router, provider.forged("acme%2fx"), InvalidIssuer)
    assert router.issuers == (provider.issuer("acme"), provider.issuer("globex"))


def test_a_flood_of_made_up_tenants_starts_a_bounded_number_of_fetches(
    provider: Provider, run: Run
) -> None:
    acme = provider.add("acme")
    router = router_for(provider, run, max_issuers=4, new_issuers=5, new_issuers_window=60)
    assert run(router, provider.token(acme, "acme")).issuer == provider.issuer("acme")
    for i in range(4):  # within the budget: each made-up tenant's keys are asked for (404)
        run.refused(router, provider.forged(f"t{i}"), JWKSFetchError)
    for i in range(4, 300):  # past it: refused as an outage, nothing fetched
        run.refused(router, provider.forged(f"t{i}"), BackendUnavailable)
    assert provider.fetches() == 5  # acme, then four made-up tenants: the budget
    assert router.setups == 5
    assert router.issuers == (provider.issuer("acme"),)  # failures are not kept
    table = router._table  # noqa: SLF001 - the bounds themselves
    assert len(table._failed) <= 4  # noqa: SLF001
    assert len(table._created) <= 5  # noqa: SLF001
    # the tenant in use was never pushed out nor fetched again
    assert run(router, provider.token(acme, "acme")).claims["tid"] == "acme"
    assert provider.fetches() == 5
    # the budget is a sliding window
    provider.clock.advance(61)
    run.refused(router, provider.forged("later"), JWKSFetchError)
    assert provider.fetches() == 6


def test_tenants_in_use_outlive_a_flood_of_real_but_unused_ones(
    provider: Provider, run: Run
) -> None:
    acme = provider.add("acme")
    for i in range(30):
        provider.add(f"r{i}")  # real tenants of the provider: the attacker owns some
    router = router_for(provider, run, max_issuers=3, new_issuers=1000)
    run(router, provider.token(acme, "acme"))
    for i in range(30):
        run.refused(router, provider.forged(f"r{i}"), UnknownKey)
        assert len(router.issuers) <= 3
    assert router.issuers[0] == provider.issuer("acme")
    fetched = provider.fetches()
    run(router, provider.token(acme, "acme"))
    assert provider.fetches() == fetched


def test_a_failed_tenant_is_not_fetched_again_until_the_retry_time(
    provider: Provider, server: JWKSServer, run: Run
) -> None:
    router = router_for(provider, run, retry_failed_after=30)
    late = Signer(
        MemoryKeyStore(KeySet.generate("ES256"), clock=provider.clock),
        issuer=provider.issuer("late"),
        clock=provider.clock,
    )
    token = provider.token(late, "late")
    run.refused(router, token, JWKSFetchError)  # 404: not published yet
    assert provider.fetches() == 1
    for _ in range(20):  # remembered: refused without a fetch
        run.refused(router, token, BackendUnavailable)
    assert provider.fetches() == 1
    server.serve_store(late._keys, "/late/jwks.json")  # noqa: SLF001 - published now
    provider.clock.advance(30)
    assert run(router, token).claims["tid"] == "late"
    assert provider.fetches() == 2


def test_a_tenant_in_use_is_kept_through_an_outage(
    provider: Provider, server: JWKSServer, run: Run
) -> None:
    acme = provider.add("acme")
    router = router_for(provider, run)
    run(router, provider.token(acme, "acme"))
    server.mode = "500"
    provider.clock.advance(10 * 86400)  # the cached set is far too old to use
    run.refused(router, provider.token(acme, "acme"), JWKSFetchError)
    assert router.issuers == (provider.issuer("acme"),)  # kept: it verified tokens before
    server.mode = "ok"
    provider.clock.advance(3600)  # past the remote key set's retry back-off
    assert run(router, provider.token(acme, "acme")).claims["tid"] == "acme"


def test_static_issuers_each_on_their_own_server(clock: FakeClock, run: Run) -> None:
    """Two issuers, two servers: a token claiming B makes only B's server answer."""
    remote = RemoteJWKS if run.face == "validate" else AsyncRemoteJWKS
    with JWKSServer() as server_a, JWKSServer() as server_b:
        a_iss, b_iss = server_a.url(""), server_b.url("")
        a_store, a = tenant(clock, a_iss)
        b_store, b = tenant(clock, b_iss)
        server_a.serve_store(a_store)
        server_b.serve_store(b_store)
        router = MultiIssuerValidator(
            {
                a_iss: remote(server_a.url(), issuer=a_iss, clock=clock),
                b_iss: remote(server_b.url(), issuer=b_iss, clock=clock),
            },
            audience=AUD,
            clock=clock,
        )
        assert run(router, b.issue("u", audience=AUD)).issuer == b_iss
        assert (server_a.count, server_b.count) == (0, 1)
        forged = Signer(a_store, issuer=b_iss, clock=clock).issue("admin", audience=AUD)
        run.refused(router, forged, UnknownKey)  # B's keys, refetched once for the unknown kid
        assert server_a.count == 0
        assert run(router, a.issue("u", audience=AUD)).issuer == a_iss
        assert server_a.count == 1


def test_memory_stays_flat_under_an_endless_flood(clock: FakeClock) -> None:
    """Thousands of made-up tenants that exist (their keys load): memory stops growing."""
    import gc
    import tracemalloc

    store, _signer = tenant(clock, "https://unused.example")
    attacker = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    template = "https://login.example.com/{tid}"
    router = MultiIssuerValidator(
        templates=template,
        keys_for=lambda issuer: store,
        audience=AUD,
        clock=clock,
        max_issuers=20,
        new_issuers=10**9,
    )

    def tokens(start: int, count: int) -> list[str]:
        return [
            Signer(attacker, issuer=template.replace("{tid}", f"t{n}"), clock=clock).issue(
                "x", audience=AUD, ttl=86400
            )
            for n in range(start, start + count)
        ]

    def flood(batch: list[str]) -> None:
        for token in batch:
            with pytest.raises(UnknownKey):
                router.validate(token)
            clock.advance(1)  # the budget's window (60 s) slides: it holds 60 set-up times

    flood(tokens(0, 300))  # warm: the table is full
    batch = tokens(300, 3000)  # made before measuring (the suite records every issued token)
    tracemalloc.start()  # (it sees only what is allocated from now on: measure twice)
    try:
        flood(batch[:1500])
        gc.collect()
        before = tracemalloc.take_snapshot()
        flood(batch[1500:])
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert router.setups == 3300
    assert len(router.issuers) <= 20
    assert grown < 16 * 1024, grown  # 1500 more kept validators would be megabytes
