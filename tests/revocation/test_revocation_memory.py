from __future__ import annotations

import pytest

from tokensmith import (
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    TokenRevoked,
    Validator,
    revoke_token,
)
from tokensmith.policy import DEFAULT_LEEWAY
from tokensmith.testing import FakeClock, RevocationListContract, verified_token


class TestMemoryRevocationContract(RevocationListContract):
    def make_sync_revocation_list(self, clock: FakeClock) -> MemoryRevocationList:
        return MemoryRevocationList(clock=clock)


def test_entries_are_purged_so_the_list_stays_bounded(clock: FakeClock) -> None:
    revocations = MemoryRevocationList(clock=clock)
    for i in range(100):
        revocations.revoke(f"jti-{i}", issuer="i", expires_at=clock() + 60)
    assert len(revocations) == 100
    clock.advance(60 + 301)
    assert len(revocations) == 0


def test_revoke_token_uses_issuer_and_jti(clock: FakeClock) -> None:
    revocations = MemoryRevocationList(clock=clock)
    token = verified_token(jti="abc", issued_at=clock(), expires_at=clock() + 60)
    revoke_token(revocations, token)
    assert revocations.is_revoked(token)
    assert "abc" not in repr(revocations)


# --- issue 14 item 6: an issuer whose clock runs ahead ---------------------------------------

ISSUER = "https://auth.example.test"


def _skewed_pair(
    clock: FakeClock, ahead: float, revocations: MemoryRevocationList
) -> tuple[Signer, Validator]:
    keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    issuer_clock = lambda: clock() + ahead  # noqa: E731 - the issuer's clock runs ahead
    signer = Signer(keys, issuer=ISSUER, ttl=600, clock=issuer_clock)
    validator = Validator(keys, issuer=ISSUER, audience="api", clock=clock, revocation=revocations)
    return signer, validator


@pytest.mark.parametrize("ahead", [0.0, 0.4, 1.0, 17.5, DEFAULT_LEEWAY])
def test_log_out_everywhere_revokes_a_token_from_an_issuer_clock_ahead(
    clock: FakeClock, ahead: float
) -> None:
    """The documented call, ``revoke_subject(before=time.time())``, right after a token was
    minted on a clock up to the validator's leeway ahead: that token is refused."""
    revocations = MemoryRevocationList(clock=clock)
    signer, validator = _skewed_pair(clock, ahead, revocations)
    token = signer.issue("alice", audience="api")
    assert validator.validate(token).subject == "alice"  # iat is within the leeway
    clock.advance(0.3)
    revocations.revoke_subject("alice", issuer=ISSUER, before=clock(), expires_at=clock() + 600)
    with pytest.raises(TokenRevoked) as caught:
        validator.validate(token)
    assert type(caught.value) is TokenRevoked


def test_a_fresh_login_is_refused_until_the_skew_has_passed(clock: FakeClock) -> None:
    """The documented trade-off: tokens issued within ``skew`` seconds after the cutoff are
    revoked too; once the skew has passed, new logins work again."""
    revocations = MemoryRevocationList(clock=clock)
    signer, validator = _skewed_pair(clock, 0.0, revocations)
    revocations.revoke_subject("alice", issuer=ISSUER, before=clock(), expires_at=clock() + 600)
    clock.advance(DEFAULT_LEEWAY)
    with pytest.raises(TokenRevoked):
        validator.validate(signer.issue("alice", audience="api"))
    clock.advance(1)
    assert validator.validate(signer.issue("alice", audience="api")).subject == "alice"


def test_skew_zero_keeps_the_exact_cutoff(clock: FakeClock) -> None:
    revocations = MemoryRevocationList(clock=clock)
    signer, validator = _skewed_pair(clock, 0.0, revocations)
    revocations.revoke_subject(
        "alice", issuer=ISSUER, before=clock(), expires_at=clock() + 600, skew=0
    )
    clock.advance(1)
    assert validator.validate(signer.issue("alice", audience="api")).subject == "alice"
