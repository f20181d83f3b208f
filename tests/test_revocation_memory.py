from __future__ import annotations

from tokensmith import MemoryRevocationList, revoke_token
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
