from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith import (
    AlgorithmMismatch,
    AmbiguousKey,
    ConfigurationError,
    InvalidKey,
    Key,
    KeySet,
    MemoryKeyStore,
    NoSigningKey,
    RotationPolicy,
    Signer,
    UnknownKey,
    Validator,
)
from tokensmith.keyset import CLOCK_SKEW, key_state, maintenance_due
from tokensmith.testing import FakeClock

HOUR = 3600.0
DAY = 86400.0


def hs(kid: str, **times: float) -> Key:
    return Key.generate("HS256", kid=kid).with_lifecycle(**times)


def test_signing_key_is_newest_active() -> None:
    a = hs("a", not_before=0, retire_at=200, not_after=300)
    b = hs("b", not_before=100, retire_at=400, not_after=500)
    c = hs("c", not_before=1000)
    ks = KeySet([c, b, a])
    assert ks.signing_key(50).kid == "a"
    assert ks.signing_key(150).kid == "b"
    assert ks.signing_key(399).kid == "b"
    with pytest.raises(NoSigningKey):
        ks.signing_key(450)
    assert ks.signing_key(1000).kid == "c"


def test_signing_ties_break_by_kid_deterministically() -> None:
    keys = [hs("b", not_before=0), hs("a", not_before=0)]
    assert KeySet(keys).signing_key(1).kid == KeySet(reversed(keys)).signing_key(1).kid == "b"


def test_public_keys_never_sign() -> None:
    public = Key.generate("ES256").public_key()
    with pytest.raises(NoSigningKey):
        KeySet([public]).signing_key(0)


def test_states() -> None:
    key = hs("a", not_before=10, retire_at=20, not_after=30)
    assert [key_state(key, t) for t in (5, 10, 25, 30)] == [
        "pending",
        "active",
        "retired",
        "expired",
    ]
    ks = KeySet([key])
    assert ks.state("a", 15) == "active"
    with pytest.raises(UnknownKey):
        ks.state("zz", 15)


def test_verification_key_matches_kid_and_alg() -> None:
    es = Key.generate("ES256", kid="e")
    ks = KeySet([es, hs("h")])
    assert ks.verification_key("e", "ES256", 0) is es
    with pytest.raises(AlgorithmMismatch):
        ks.verification_key("e", "ES384", 0)
    with pytest.raises(AlgorithmMismatch):
        ks.verification_key("e", "HS256", 0)
    with pytest.raises(UnknownKey):
        ks.verification_key("nope", "ES256", 0)
    with pytest.raises(UnknownKey):
        ks.verification_key("x" * 10_000, "ES256", 0)


def test_verification_without_kid_needs_exactly_one_candidate() -> None:
    ks = KeySet([Key.generate("ES256", kid="e"), hs("h1")])
    assert ks.verification_key(None, "ES256", 0).kid == "e"
    with pytest.raises(UnknownKey):
        ks.verification_key(None, "RS256", 0)
    with pytest.raises(AmbiguousKey):
        ks.add(hs("h2")).verification_key(None, "HS256", 0)


def test_expired_keys_do_not_verify_but_pending_do() -> None:
    ks = KeySet([hs("old", not_before=0, retire_at=5, not_after=10), hs("new", not_before=100)])
    with pytest.raises(UnknownKey):
        ks.verification_key("old", "HS256", 10)
    assert ks.verification_key("old", "HS256", 9).kid == "old"
    assert ks.verification_key("new", "HS256", 50).kid == "new"


def test_jwks_lists_published_public_keys_only() -> None:
    ks = KeySet(
        [
            Key.generate("ES256", kid="gone").with_lifecycle(not_after=10),
            Key.generate("ES256", kid="live"),
            Key.generate("EdDSA", kid="soon").with_lifecycle(not_before=100),
            hs("secret"),
        ]
    )
    kids = [jwk["kid"] for jwk in ks.jwks(50)["keys"]]
    assert sorted(kids) == ["live", "soon"]
    assert all("d" not in jwk for jwk in ks.jwks(50)["keys"])
    assert ks.algorithms() == {"ES256", "EdDSA", "HS256"}


def test_set_operations() -> None:
    ks = KeySet([hs("a")])
    assert "a" in ks and len(ks) == 1
    assert ks.get("a") is not None and ks.get("b") is None
    with pytest.raises(InvalidKey):
        ks.add(hs("a"))
    with pytest.raises(UnknownKey):
        ks.remove("b")
    assert len(ks.remove("a")) == 0
    assert "a" in repr(ks)
    with pytest.raises(InvalidKey):
        KeySet(["not a key"])  # type: ignore[list-item]
    pruned = KeySet([hs("x", not_after=5), hs("y")]).prune(6)
    assert [k.kid for k in pruned] == ["y"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotate_every": 0},
        {"publish_ahead": -1},
        {"verify_for": float("inf")},
        {"verify_for": True},
        {"rotate_every": "1d"},
        {"rotate_every": 10, "publish_ahead": 20},
    ],
)
def test_bad_policies(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RotationPolicy(**kwargs)  # type: ignore[arg-type]


POLICY = RotationPolicy(rotate_every=DAY, publish_ahead=2 * HOUR, verify_for=HOUR, alg="HS256")


def test_maintain_bootstraps_and_is_idempotent() -> None:
    ks = KeySet().maintain(POLICY, 0)
    assert len(ks) == 1
    assert ks.signing_key(0).retire_at == DAY
    assert [k.kid for k in ks.maintain(POLICY, 0)] == [k.kid for k in ks]
    assert maintenance_due(ks, POLICY, 0) == DAY - 2 * HOUR


@pytest.mark.parametrize("rotate_every", [DAY, 0.05])
def test_a_first_key_is_active_from_clock_skew_before_it_was_made(rotate_every: float) -> None:
    """Issue 14 item 12: a replica whose clock is up to CLOCK_SKEW behind the creator's signs
    with the first key instead of seeing it pending and making another; the key still signs a
    full period from its creation (however short the period)."""
    policy = RotationPolicy(
        rotate_every=rotate_every, publish_ahead=rotate_every / 2, verify_for=HOUR, alg="HS256"
    )
    made = 1_000.0
    ks = KeySet().maintain(policy, made)
    (first,) = ks
    assert (first.not_before, first.retire_at) == (made - CLOCK_SKEW, made + rotate_every)
    assert first.not_after == made + rotate_every + HOUR
    for behind in (0.05, CLOCK_SKEW / 2, CLOCK_SKEW):
        assert ks.signing_key(made - behind).kid == first.kid
        assert [k.kid for k in ks.maintain(policy, made - behind)] == [first.kid]
    with pytest.raises(NoSigningKey):  # beyond the documented bound nothing is promised
        ks.signing_key(made - CLOCK_SKEW - 0.001)
    assert maintenance_due(ks, policy, made) == made + rotate_every / 2


def test_a_key_made_after_every_key_lapsed_tolerates_the_same_skew() -> None:
    ks = KeySet().maintain(POLICY, 0)
    lapsed = DAY + 5 * HOUR  # the first key has expired: maintenance makes a new one
    fresh = ks.maintain(POLICY, lapsed).signing_key(lapsed)
    assert fresh.not_before == lapsed - CLOCK_SKEW and fresh.retire_at == lapsed + DAY


def test_maintain_publishes_successor_ahead() -> None:
    ks = KeySet().maintain(POLICY, 0).maintain(POLICY, DAY - 2 * HOUR)
    assert len(ks) == 2
    successor = max(ks, key=lambda k: k.not_before or 0)
    assert successor.not_before == DAY
    assert ks.signing_key(DAY - 1).kid != successor.kid
    assert ks.signing_key(DAY).kid == successor.kid


def test_late_maintenance_postpones_retirement_rather_than_skip_publication() -> None:
    ks = KeySet().maintain(POLICY, 0)
    first = ks.signing_key(0)
    late = ks.maintain(POLICY, DAY + HOUR / 2)  # after the planned retirement, before expiry
    assert late.signing_key(DAY + HOUR / 2).kid == first.kid
    successor = max(late, key=lambda k: k.not_before or 0)
    assert successor.not_before == DAY + HOUR / 2 + 2 * HOUR
    # once the old key has expired there is nothing to extend: a fresh key signs at once
    very_late = ks.maintain(POLICY, DAY + 5 * HOUR)
    assert very_late.signing_key(DAY + 5 * HOUR).kid != first.kid


def test_unscheduled_key_joins_rotation() -> None:
    ks = KeySet([Key.generate("HS256", kid="legacy")]).maintain(POLICY, 100)
    assert ks.get("legacy") is not None
    assert ks.get("legacy").retire_at == 100 + DAY  # type: ignore[union-attr]


def test_rotate_now_publishes_ahead_and_keeps_old_key_verifying() -> None:
    ks = KeySet().maintain(POLICY, 0)
    old = ks.signing_key(0)
    rotated = ks.rotate(POLICY, 1000)
    assert rotated.signing_key(1000).kid == old.kid
    new = rotated.signing_key(1000 + 2 * HOUR)
    assert new.kid != old.kid
    assert rotated.verification_key(old.kid, "HS256", 1000 + 2 * HOUR + HOUR - 1) is not None
    assert [k.kid for k in rotated.rotate(POLICY, 1001)] == [k.kid for k in rotated]


def test_alg_migration_through_policy() -> None:
    ks = KeySet().maintain(POLICY, 0)
    migrated = ks.maintain(
        RotationPolicy(rotate_every=DAY, publish_ahead=2 * HOUR, verify_for=HOUR, alg="EdDSA"),
        DAY - HOUR,
    )
    assert migrated.signing_key(DAY + HOUR).alg == "EdDSA"  # published 2 h ahead
    assert migrated.signing_key(DAY + HOUR - 1).alg == "HS256"


def test_store_rotation_needs_policy() -> None:
    store = MemoryKeyStore()
    with pytest.raises(ConfigurationError):
        store.rotate()
    store.add(Key.generate("HS256", kid="x"))
    store.remove("x")
    assert "MemoryKeyStore" in repr(store)
    assert store.policy is None


def test_a_simulated_year_of_rotation_never_refuses_a_live_token() -> None:
    """Maintenance at irregular times (as requests come), tokens of varied lifetimes."""
    rng = random.Random(7)
    clock = FakeClock(1_700_000_000)
    policy = RotationPolicy(
        rotate_every=7 * DAY, publish_ahead=6 * HOUR, verify_for=2 * HOUR, alg="HS256"
    )
    store = MemoryKeyStore(policy=policy, clock=clock)
    signer = Signer(store, issuer="iss", ttl=HOUR, clock=clock)
    validator = Validator(store, issuer="iss", audience="api", clock=clock)
    live: list[tuple[str, int]] = []
    kids: set[str] = set()
    published_at: dict[str, float] = {}
    end = clock() + 365 * DAY
    checked = 0
    while clock() < end:
        for jwk_kid in [k.kid for k in store.keyset.published(clock())]:
            published_at.setdefault(jwk_kid, clock())
        issued = signer.issue_token("u", audience="api", ttl=rng.choice([60, 900, HOUR, 2 * HOUR]))
        if issued.key_id not in kids and kids:
            # every key after the first was published at least publish_ahead before signing
            assert clock() - published_at[issued.key_id] >= policy.publish_ahead - 3 * HOUR
        kids.add(issued.key_id)
        live.append((issued.token, issued.expires_at))
        live = [(t, e) for t, e in live if e > clock()]
        for token, _ in live:
            validator.validate(token)
            checked += 1
        clock.advance(rng.uniform(60, 3 * HOUR))
    assert len(kids) >= 52
    assert checked > 1000
    assert len(store.keyset) <= 3  # expired keys are dropped


_SIGNERS = [Key.generate("HS256") for _ in range(3)]


@given(
    lifecycles=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 100)),
            st.one_of(st.none(), st.integers(0, 100)),
            st.one_of(st.none(), st.integers(0, 100)),
        ),
        min_size=1,
        max_size=3,
    ),
    instants=st.lists(st.integers(-5, 110), min_size=1, max_size=12),
)
def test_remembered_signing_key_always_equals_a_fresh_scan(
    lifecycles: list[tuple[int | None, int | None, int | None]], instants: list[int]
) -> None:
    """KeySet remembers the signing key for the span where no key changes state; any
    sequence of instants (forwards, backwards, on the boundaries) answers like a fresh set."""
    keys = [
        key.with_lifecycle(not_before=nb, retire_at=ra, not_after=na)
        for key, (nb, ra, na) in zip(_SIGNERS, lifecycles, strict=False)
    ]
    remembered = KeySet(keys)

    def answer(keyset: KeySet, now: int) -> str:
        try:
            return keyset.signing_key(now).kid
        except NoSigningKey:
            return "none"

    for now in instants:
        assert answer(remembered, now) == answer(KeySet(keys), now)
