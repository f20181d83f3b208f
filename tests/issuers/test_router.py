"""MultiIssuerValidator: one issuer's key never vouches for another, every refusal exact."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.issuers.conftest import AUD, A, B, Run, tenant
from tests.support.forge import compact, forge, segment, signed, signed_raw, unb64
from tokensmith import (
    UNCHECKED,
    ConfigurationError,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
    VerifiedToken,
)
from tokensmith.errors import (
    AlgorithmNotAllowed,
    BackendUnavailable,
    DiscoveryError,
    InsufficientScope,
    InvalidAudience,
    InvalidClaim,
    InvalidConfirmation,
    InvalidIssuer,
    InvalidJSON,
    InvalidSignature,
    MalformedToken,
    MissingClaim,
    TokenError,
    TokenRevoked,
    TokenTooLarge,
    UnknownKey,
)
from tokensmith.issuers import MultiIssuerValidator
from tokensmith.revocation.memory import MemoryRevocationList
from tokensmith.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Tenants:
    def __init__(self, clock: FakeClock) -> None:
        self.a_store, self.a = tenant(clock, A)
        self.b_store, self.b = tenant(clock, B)


@pytest.fixture
def tenants(clock: FakeClock) -> Tenants:
    return Tenants(clock)


@pytest.fixture
def router(tenants: Tenants, clock: FakeClock) -> MultiIssuerValidator:
    return MultiIssuerValidator({A: tenants.a_store, B: tenants.b_store}, audience=AUD, clock=clock)


class Composite:
    """The obvious, unsafe way: one key source over both tenants' keys."""

    def __init__(self, *stores: MemoryKeyStore) -> None:
        self.stores = stores

    def verification_key(self, kid: str | None, alg: str) -> Key:
        for store in self.stores:
            try:
                return store.verification_key(kid, alg)
            except UnknownKey:
                continue
        raise UnknownKey("no key")


def signing_key(store: MemoryKeyStore) -> Key:
    return store.signing_key()


# --- the cross-tenant forgery -------------------------------------------------------------------


def test_the_composite_key_source_accepts_the_forgery(tenants: Tenants, clock: FakeClock) -> None:
    """Why this module exists: tenant A's key vouches for tenant B through a merged source."""
    forged = Signer(tenants.a_store, issuer=B, clock=clock).issue("admin", audience=AUD)
    unsafe = Validator(
        Composite(tenants.a_store, tenants.b_store), issuer=[A, B], audience=AUD, clock=clock
    )
    assert unsafe.validate(forged).issuer == B


def test_tenant_a_key_claiming_tenant_b_is_refused(
    router: MultiIssuerValidator, tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    forged = Signer(tenants.a_store, issuer=B, clock=clock).issue("admin", audience=AUD)
    run.refused(router, forged, UnknownKey)  # A's kid is not among B's keys
    # the same forgery with B's kid in the header, or with no kid at all: the signature fails
    key = signing_key(tenants.a_store)
    b_kid = signing_key(tenants.b_store).kid
    payload = {"iss": B, "aud": AUD, "sub": "admin", "exp": int(clock()) + 60}
    with_b_kid = signed({"alg": key.alg, "typ": "JWT", "kid": b_kid}, payload, key)
    run.refused(router, with_b_kid, InvalidSignature)
    b_single = MemoryKeyStore(KeySet([Key.generate("ES256")]), clock=clock)
    kidless_router = MultiIssuerValidator({B: b_single}, audience=AUD, clock=clock)
    run.refused(kidless_router, signed({"alg": key.alg}, payload, key), InvalidSignature)
    # and each tenant's own tokens still pass
    assert run(router, tenants.a.issue("u", audience=AUD)).issuer == A
    assert run(router, tenants.b.issue("u", audience=AUD)).issuer == B


def test_hmac_tenants_cannot_forge_for_each_other(clock: FakeClock, run: Run) -> None:
    a_store, a = tenant(clock, A, "HS256")
    b_store, _b = tenant(clock, B, "HS256")
    router = MultiIssuerValidator({A: a_store, B: b_store}, audience=AUD, clock=clock)
    forged = Signer(a_store, issuer=B, clock=clock).issue("admin", audience=AUD)
    run.refused(router, forged, UnknownKey)
    assert run(router, a.issue("u", audience=AUD)).issuer == A


def test_an_iss_swapped_after_signing_breaks_the_signature(
    router: MultiIssuerValidator, tenants: Tenants, run: Run
) -> None:
    token = tenants.a.issue("u", audience=AUD)
    header, payload, signature = token.split(".")
    claims = __import__("json").loads(unb64(payload))
    swapped = f"{header}.{segment({**claims, 'iss': B})}.{signature}"
    run.refused(router, swapped, UnknownKey)  # routed to B, whose keys do not have A's kid
    # re-pointed at A's keys and claiming A again, the changed payload does not verify either
    resigned_header = f"{header}.{segment({**claims, 'iss': A, 'sub': 'admin'})}.{signature}"
    run.refused(router, resigned_header, InvalidSignature)


def test_the_verified_issuer_must_be_the_routed_one(
    router: MultiIssuerValidator, tenants: Tenants
) -> None:
    """Defence in depth: even a route whose validator answered for another issuer refuses."""
    verified = router.validate(tenants.a.issue("u", audience=AUD))
    route = router._static[B]  # noqa: SLF001 - the internal check, reached directly
    with pytest.raises(InvalidIssuer) as info:
        router._verified(route, verified)  # noqa: SLF001
    assert type(info.value) is InvalidIssuer


# --- what is refused before any key is looked at -----------------------------------------------


def test_an_unknown_issuer_is_refused_without_a_key_lookup(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    asked: list[str] = []

    def keys_for(issuer: str) -> Any:
        asked.append(issuer)
        return tenants.a_store

    router = MultiIssuerValidator(
        {B: tenants.b_store}, allow=["https://c.example"], keys_for=keys_for, audience=AUD
    )
    exc = run.refused(router, tenants.a.issue("u", audience=AUD), InvalidIssuer)
    assert exc.claim == "iss"  # type: ignore[attr-defined]
    assert A not in str(exc)
    assert asked == []
    assert router.setups == 0
    assert router.issuers == (B,)


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("", MalformedToken),
        ("a.b", MalformedToken),
        (b"\xff.b.c", MalformedToken),
        ("a." + segment([A]) + ".c", InvalidJSON),
        ("a." + segment({"sub": "x"}) + ".c", MissingClaim),
        ("a." + segment({"iss": 7}) + ".c", InvalidClaim),
        ("a." + "A" * 9000 + ".c", TokenTooLarge),
    ],
)
def test_malformed_and_huge_tokens(
    router: MultiIssuerValidator, token: str | bytes, error: type[Exception], run: Run
) -> None:
    run.refused(router, token, error)  # type: ignore[arg-type]


def test_an_unsecured_token_is_refused_by_the_issuers_validator(
    router: MultiIssuerValidator, run: Run
) -> None:
    run.refused(router, forge({"alg": "none"}, {"iss": A, "aud": AUD}), AlgorithmNotAllowed)


def test_the_size_limit_is_the_routers_option(tenants: Tenants, clock: FakeClock) -> None:
    token = tenants.a.issue("u", audience=AUD)
    small = MultiIssuerValidator(
        {A: tenants.a_store}, audience=AUD, clock=clock, max_token_size=len(token) - 1
    )
    with pytest.raises(TokenTooLarge):
        small.validate(token)


# --- per-issuer policy, and the options a Validator has ----------------------------------------


def test_given_validators_keep_their_own_policy(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    router = MultiIssuerValidator(
        {
            A: Validator(tenants.a_store, issuer=A, audience="a-api", clock=clock),
            B: Validator(tenants.b_store, issuer=B, audience="b-api", scopes="read", clock=clock),
        }
    )
    assert run(router, tenants.a.issue("u", audience="a-api")).audience == ("a-api",)
    run.refused(router, tenants.a.issue("u", audience="b-api"), InvalidAudience)
    run.refused(router, tenants.b.issue("u", audience="b-api"), InsufficientScope)
    assert run(router, tenants.b.issue("u", audience="b-api", scopes=["read"])).issuer == B


@pytest.mark.parametrize("trusted", [[A, B], UNCHECKED, B])
def test_a_given_validator_must_trust_exactly_its_issuer(
    tenants: Tenants, clock: FakeClock, trusted: Any
) -> None:
    loose = Validator(tenants.a_store, issuer=trusted, audience=AUD, clock=clock)
    with pytest.raises(ConfigurationError):
        MultiIssuerValidator({A: loose})


def test_scopes_revocation_and_audit_work_as_for_a_validator(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    events: list[Any] = []
    revoked = MemoryRevocationList(clock=clock)
    router = MultiIssuerValidator(
        {A: tenants.a_store, B: tenants.b_store},
        audience=AUD,
        clock=clock,
        revocation=revoked,
        audit=events.append,
        scopes=["read"],
    )
    token = tenants.a.issue_token("u", audience=AUD, scopes=["read"])
    assert run(router, token.token, scopes=["read"]).subject == "u"
    run.refused(router, token.token, InsufficientScope, scopes=["write"])
    run.refused(router, tenants.b.issue("u", audience=AUD), InsufficientScope)
    revoked.revoke(token.jti, issuer=A, expires_at=token.expires_at)
    run.refused(router, token.token, TokenRevoked)
    run.refused(
        router,
        Signer(tenants.a_store, issuer="https://x", clock=clock).issue("u", audience=AUD),
        InvalidIssuer,
    )
    run.refused(router, "garbage", MalformedToken)
    kinds = [(e.kind, e.code) for e in events]
    assert kinds[0] == ("token.validated", None)
    assert ("token.refused", "revoked") in kinds
    assert kinds[-2:] == [("token.refused", "invalid_issuer"), ("token.refused", "malformed")]
    assert all(token.token not in repr(e) for e in events)


def test_each_issuer_gets_its_own_cache(tenants: Tenants, clock: FakeClock, run: Run) -> None:
    router = MultiIssuerValidator(
        {A: tenants.a_store, B: tenants.b_store}, audience=AUD, clock=clock, cache_size=8
    )
    token = tenants.a.issue("u", audience=AUD)
    for _ in range(3):
        assert run(router, token).issuer == A
    caches = [router._static[i].validator._cache for i in (A, B)]  # noqa: SLF001
    assert caches[0] is not caches[1]
    assert caches[0].hits == 2  # type: ignore[union-attr]
    assert router._read == {token: A}  # noqa: SLF001 - the routing read once per string
    assert run(router, token.encode()).issuer == A  # bytes are read every time
    for n in range(8):  # the remembered reads are bounded: cleared when full
        run(router, tenants.b.issue(f"u{n}", audience=AUD))
    assert len(router._read) <= 8  # noqa: SLF001
    assert token not in router._read  # noqa: SLF001
    assert run(router, token).issuer == A


def test_the_sync_face_refuses_async_key_sources(tenants: Tenants, clock: FakeClock) -> None:
    class AsyncSource:
        async def verification_key(self, kid: str | None, alg: str) -> Key:
            return tenants.a_store.verification_key(kid, alg)

    router = MultiIssuerValidator({A: AsyncSource()}, audience=AUD, clock=clock)
    token = tenants.a.issue("u", audience=AUD)
    with pytest.raises(ConfigurationError):
        router.validate(token)
    import asyncio

    assert asyncio.run(router.avalidate(token)).issuer == A


# --- issuers set up on first use ------------------------------------------------------------------


def test_allow_list_issuers_are_set_up_once_on_first_use(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    built: list[str] = []

    def keys_for(issuer: str) -> MemoryKeyStore:
        built.append(issuer)
        return {A: tenants.a_store, B: tenants.b_store}[issuer]

    router = MultiIssuerValidator(allow=[A, B], keys_for=keys_for, audience=AUD, clock=clock)
    assert not router.issuers
    for _ in range(3):
        assert run(router, tenants.a.issue("u", audience=AUD)).issuer == A
    forged = Signer(tenants.a_store, issuer=B, clock=clock).issue("u", audience=AUD)
    run.refused(router, forged, UnknownKey)
    assert built == [A, B]
    assert router.issuers == (A, B)  # A verified a token; B never did
    assert "allow=2" in repr(router)


def test_a_template_tenant_must_carry_its_tenant_claim(clock: FakeClock, run: Run) -> None:
    template = "https://login.example.com/{tid}/v2.0"
    stores: dict[str, MemoryKeyStore] = {}
    signers: dict[str, Signer] = {}
    for tid in ("acme", "globex"):
        iss = template.replace("{tid}", tid)
        stores[iss], signers[tid] = tenant(clock, iss)
    router = MultiIssuerValidator(
        templates=template, keys_for=stores.__getitem__, audience=AUD, clock=clock
    )
    acme = signers["acme"]
    assert run(router, acme.issue("u", audience=AUD, claims={"tid": "acme"})).claims["tid"] == (
        "acme"
    )
    exc = run.refused(
        router, acme.issue("u", audience=AUD, claims={"tid": "globex"}), InvalidIssuer
    )
    assert exc.claim == "tid"  # type: ignore[attr-defined]
    run.refused(router, acme.issue("u", audience=AUD), MissingClaim)
    # acme's key, globex's issuer and tenant claim: globex's keys verify it, and refuse it
    forged = Signer(
        stores[template.replace("{tid}", "acme")],
        issuer=template.replace("{tid}", "globex"),
        clock=clock,
    ).issue("u", audience=AUD, claims={"tid": "globex"})
    run.refused(router, forged, UnknownKey)
    injected = Signer(
        stores[template.replace("{tid}", "acme")],
        issuer=template.replace("{tid}", "acme/../globex"),
        clock=clock,
    ).issue("u", audience=AUD)
    run.refused(router, injected, InvalidIssuer)


def test_keys_for_failures_are_outages_and_mistakes_pass_through(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    def broken(issuer: str) -> Any:
        raise KeyError(issuer)

    router = MultiIssuerValidator(allow=A, keys_for=broken, audience=AUD, clock=clock)
    exc = run.refused(router, tenants.a.issue("u", audience=AUD), BackendUnavailable)
    assert A not in str(exc)

    def mistaken(issuer: str) -> Any:
        return Validator(tenants.a_store, issuer=[A, B], audience=AUD, clock=clock)

    router = MultiIssuerValidator(allow=A, keys_for=mistaken, audience=AUD, clock=clock)
    run.refused(router, tenants.a.issue("u", audience=AUD), ConfigurationError)


def test_keys_for_may_return_a_pinned_validator_for_an_allowed_issuer(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    router = MultiIssuerValidator(
        allow=A,
        keys_for=lambda iss: Validator(tenants.a_store, issuer=iss, audience="x", clock=clock),
        audience=AUD,  # required with keys_for, which may return a key source
    )
    assert run(router, tenants.a.issue("u", audience="x")).issuer == A
    templated = MultiIssuerValidator(
        templates="https://login.example.com/{tid}",
        keys_for=lambda iss: Validator(tenants.a_store, issuer=iss, audience=AUD, clock=clock),
        audience=AUD,
        clock=clock,
    )
    token = Signer(tenants.a_store, issuer="https://login.example.com/acme", clock=clock).issue(
        "u", audience=AUD, claims={"tid": "acme"}
    )
    run.refused(templated, token, ConfigurationError)  # the tenant check could not be added


# --- configuration ---------------------------------------------------------------------------------


VALIDATOR = Validator(MemoryKeyStore(KeySet.generate("HS256")), issuer=A, audience=AUD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # no issuer source
        {"issuers": {A: "not a source"}, "audience": AUD},
        {"issuers": [A], "audience": AUD},
        {"issuers": {A: None}},  # a key source needs the shared audience
        {"allow": A, "audience": AUD},  # no keys_for
        {"allow": [A, ""], "keys_for": str, "audience": AUD},
        {"allow": b"x", "keys_for": str, "audience": AUD},
        {"templates": 3, "keys_for": str, "audience": AUD},
        {"templates": ["https://x/{a}/{b}"], "keys_for": str, "audience": AUD},
        {"allow": A, "keys_for": str, "audience": AUD, "max_issuers": 0},
        {"allow": A, "keys_for": str, "audience": AUD, "new_issuers": True},
        {"allow": A, "keys_for": str, "audience": AUD, "new_issuers_window": 0},
        {"allow": A, "keys_for": str, "audience": AUD, "retry_failed_after": -1},
        {"allow": A, "keys_for": str, "audience": AUD, "cache_size": 0},
        {"allow": A, "keys_for": str, "audience": AUD, "clock": 3},
        {"allow": A, "keys_for": str, "audience": AUD, "leeway": -1},
        {"allow": A, "keys_for": str, "audience": AUD, "audit": 3},
        {"allow": A, "keys_for": str, "audience": AUD, "issuer": A},
        {"allow": A, "keys_for": str, "audiense": AUD},
        {"issuers": {A: VALIDATOR}, "max_token_size": "big"},  # routing options still checked
        {"issuers": {A: VALIDATOR}, "audit": 3},
    ],
)
def test_configuration_mistakes(kwargs: dict[str, Any], tenants: Tenants) -> None:
    with pytest.raises(ConfigurationError):
        MultiIssuerValidator(**kwargs)


def test_checks_given_as_an_iterator_apply_to_every_issuer(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    seen: list[VerifiedToken] = []
    router = MultiIssuerValidator(
        {A: tenants.a_store, B: tenants.b_store},
        audience=AUD,
        clock=clock,
        checks=iter([seen.append]),
    )
    run(router, tenants.a.issue("u", audience=AUD))
    run(router, tenants.b.issue("u", audience=AUD))
    assert [t.issuer for t in seen] == [A, B]


def test_repr_names_no_secret(router: MultiIssuerValidator) -> None:
    assert repr(router) == (f"MultiIssuerValidator(issuers={[A, B]!r}, allow=0, templates=[])")


def test_helpers_used_above() -> None:
    key = Key.generate("HS256")
    assert signed_raw(segment({"alg": "HS256"}), segment({"iss": A}), key).count(".") == 2
    assert compact({"alg": "none"}, {"iss": A}, b"").endswith(".")


def test_a_failing_set_up_is_remembered_and_counts_against_the_budget(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    """A keys_for that fetches (discovery) and fails is not called again before the retry."""
    calls: list[str] = []

    def discovering(issuer: str) -> Any:
        calls.append(issuer)
        raise DiscoveryError("no metadata", reason="http_status")

    router = MultiIssuerValidator(
        allow=A, keys_for=discovering, audience=AUD, clock=clock, retry_failed_after=10
    )
    token = tenants.a.issue("u", audience=AUD, ttl=3600)
    run.refused(router, token, DiscoveryError)
    run.refused(router, token, BackendUnavailable)
    assert calls == [A]
    clock.advance(10)
    run.refused(router, token, DiscoveryError)
    assert calls == [A, A]


def test_a_revocation_outage_does_not_drop_a_new_issuer(
    tenants: Tenants, clock: FakeClock, run: Run
) -> None:
    class Down:
        def is_revoked(self, token: VerifiedToken) -> bool:
            raise ConnectionError("redis is down")

    router = MultiIssuerValidator(
        allow=A,
        keys_for=lambda issuer: tenants.a_store,
        audience=AUD,
        clock=clock,
        revocation=Down(),  # type: ignore[arg-type]  # is_revoked is all a validator calls
    )
    token = tenants.a.issue("u", audience=AUD)
    for _ in range(3):
        run.refused(router, token, BackendUnavailable)
    assert router.issuers == (A,) and router.setups == 1  # its keys work: kept, set up once


_ROUTER = MultiIssuerValidator(
    {A: MemoryKeyStore(KeySet.generate("HS256"))},
    templates="https://login.example.com/{tid}",
    keys_for=lambda issuer: MemoryKeyStore(KeySet.generate("HS256")),
    audience=AUD,
    new_issuers=10**9,
    max_issuers=4,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.builds(
            lambda iss, rest: f"{segment({'alg': 'HS256'})}.{segment({'iss': iss, **rest})}.c2ln",
            st.one_of(
                st.just(A), st.text(max_size=40).map(lambda t: f"https://login.example.com/{t}")
            ),
            st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
        ),
    )
)
def test_arbitrary_input_is_only_ever_a_token_error(data: str | bytes) -> None:
    with pytest.raises(TokenError):
        _ROUTER.validate(data)
    assert len(_ROUTER.issuers) <= 5


def test_a_sender_constrained_token_needs_its_proof_through_the_router(
    router: MultiIssuerValidator, tenants: Tenants, run: Run
) -> None:
    from tokensmith import Confirmation  # noqa: PLC0415 - only this test

    proof = Confirmation.of_key(Key.generate("ES256"))
    bound = tenants.a.issue("alice", audience=AUD, confirmation=proof)
    run.refused(router, bound, InvalidConfirmation)
    assert run(router, bound, confirmation=proof).subject == "alice"
