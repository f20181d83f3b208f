from __future__ import annotations

import pytest

from tokensmith import KeySet, KeyStore, MemoryKeyStore, RotationPolicy
from tokensmith.testing import FakeClock, KeyStoreContract


class TestMemoryKeyStoreContract(KeyStoreContract):
    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
        return MemoryKeyStore(policy=policy, clock=clock)


class _StaleSettled(MemoryKeyStore):
    """Overrides settled_keyset alone (so a cache trusts it) and lies: it names the first key
    set forever, while verification_key answers from the rotated ones."""

    def settled_keyset(self, now: float) -> KeySet | None:
        first = self.__dict__.setdefault("first", self.keyset)
        return first if isinstance(first, KeySet) else None


def test_the_contract_catches_a_settled_keyset_that_breaks_its_promise() -> None:
    class Broken(KeyStoreContract):
        def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
            return _StaleSettled(policy=policy, clock=clock)

    with pytest.raises(AssertionError):
        Broken().test_a_validated_token_cache_answers_as_the_store()
