"""A key store held in process memory, with optional automatic rotation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError
from ..keys import Key
from ..keyset import KeySet, RotationPolicy, maintenance_due

__all__ = ["MemoryKeyStore"]


class MemoryKeyStore:
    """Holds a :class:`~tokensmith.KeySet` in memory.

    With a ``policy``, rotation happens by itself: the first call after a scheduled change
    applies :meth:`KeySet.maintain` (guarded by a lock), every other call costs one comparison.
    Without one, the set changes only through :meth:`replace`, :meth:`add` and :meth:`remove`.
    """

    def __init__(
        self,
        keyset: KeySet | None = None,
        *,
        policy: RotationPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._policy = policy
        self._lock = threading.Lock()
        if keyset is None:
            keyset = KeySet() if policy is not None else KeySet.generate()
        self._keyset = keyset
        self._due = -float("inf") if policy is not None else float("inf")

    @property
    def policy(self) -> RotationPolicy | None:
        """The rotation policy, if rotation is automatic."""
        return self._policy

    @property
    def clock(self) -> Callable[[], float]:
        """The clock this store reads."""
        return self._clock

    @property
    def keyset(self) -> KeySet:
        """The current key set (after any maintenance that is due)."""
        self._maintain_if_due(self._clock())
        return self._keyset

    def _maintain_if_due(self, now: float) -> None:
        if now < self._due:
            return
        policy = self._policy
        if policy is None:
            return
        with self._lock:
            now = max(now, self._clock())  # under the lock: see FileKeyStore._apply
            if now < self._due:
                return
            self._keyset = self._keyset.maintain(policy, now)
            self._due = maintenance_due(self._keyset, policy, now)

    def signing_key(self) -> Key:
        """The key that signs now."""
        now = self._clock()
        if now >= self._due:
            self._maintain_if_due(now)
        return self._keyset.signing_key(now)

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (see :meth:`KeySet.verification_key`)."""
        now = self._clock()
        if now >= self._due:
            self._maintain_if_due(now)
        return self._keyset.verification_key(kid, alg, now)

    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        """:meth:`verification_key` from memory, or ``None`` while rotation maintenance is due
        (it may generate a key: ``avalidate()`` does that in a worker thread). See
        :class:`~tokensmith.stores.NonBlockingKeySource`."""
        now = self._clock()
        keyset = self.settled_keyset(now)  # the one rule for "the answer is in memory"
        return None if keyset is None else keyset.verification_key(kid, alg, now)

    def settled_keyset(self, now: float) -> KeySet | None:
        """The set :meth:`verification_key` answers from until maintenance is due (see
        :class:`~tokensmith.stores.SettledKeySource`); every change installs a new set."""
        return self._keyset if now < self._due else None

    def jwks(self) -> dict[str, Any]:
        """The public JWKS: pending, active and retired keys; never private members."""
        now = self._clock()
        self._maintain_if_due(now)
        return self._keyset.jwks(now)

    def rotate(self) -> KeySet:
        """Start a rotation now (needs a policy); returns the new key set."""
        if self._policy is None:
            raise ConfigurationError("rotate() needs a RotationPolicy")
        with self._lock:
            now = self._clock()  # under the lock: two threads rotating at once add one key
            self._keyset = self._keyset.rotate(self._policy, now)
            self._due = maintenance_due(self._keyset, self._policy, now)
            return self._keyset

    def replace(self, keyset: KeySet) -> None:
        """Swap in a whole new key set."""
        with self._lock:
            self._keyset = keyset
            self._due = -float("inf") if self._policy is not None else float("inf")

    def add(self, key: Key) -> None:
        """Add one key."""
        self.replace(self._keyset.add(key))

    def remove(self, kid: str) -> None:
        """Remove a key now (it stops verifying immediately)."""
        self.replace(self._keyset.remove(kid))

    def __repr__(self) -> str:
        return f"MemoryKeyStore({self._keyset!r})"
