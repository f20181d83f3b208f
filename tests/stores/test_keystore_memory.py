from __future__ import annotations

from tokensmith import KeyStore, MemoryKeyStore, RotationPolicy
from tokensmith.testing import FakeClock, KeyStoreContract


class TestMemoryKeyStoreContract(KeyStoreContract):
    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
        return MemoryKeyStore(policy=policy, clock=clock)
