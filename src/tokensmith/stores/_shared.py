"""The read side shared by stores whose key set lives outside the process (file, Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import AlgorithmMismatch, AmbiguousKey, UnknownKey
from ..keys import Key
from ..keyset import KeySet

__all__ = ["SharedKeyStore"]


class SharedKeyStore:
    """``signing_key`` / ``verification_key`` / ``jwks`` over a locally cached key set.

    Subclasses keep ``_keyset`` current in ``_fresh(now)``, which runs when ``_check_at``
    (reload) or ``_due`` (maintenance) has passed, and answer ``_recheck_unknown_kid(now)``:
    whether a fresh look at the shared set was taken, so an unknown kid may be retried once.
    Until either instant, :meth:`settled_keyset` tells a validated-token cache the set in use.
    """

    _clock: Callable[[], float]
    _keyset: KeySet
    _check_at: float
    _due: float

    def _fresh(self, now: float) -> None:
        raise NotImplementedError

    def _recheck_unknown_kid(self, now: float) -> bool:
        raise NotImplementedError

    @property
    def clock(self) -> Callable[[], float]:
        """The clock this store reads."""
        return self._clock

    @property
    def keyset(self) -> KeySet:
        """The current key set (after reloading and any maintenance that is due)."""
        self._fresh(self._clock())
        return self._keyset

    def signing_key(self) -> Key:
        """The key that signs now: the same in every process sharing the set."""
        now = self._clock()
        if now >= self._check_at or now >= self._due:
            self._fresh(now)
        return self._keyset.signing_key(now)

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (see :meth:`KeySet.verification_key`).

        An unknown ``kid`` triggers one look at the shared set before it is refused.
        """
        now = self._clock()
        if now >= self._check_at or now >= self._due:
            self._fresh(now)
        try:
            return self._keyset.verification_key(kid, alg, now)
        except (AlgorithmMismatch, AmbiguousKey):
            raise
        except UnknownKey:
            if kid is None or not self._recheck_unknown_kid(now):
                raise
        return self._keyset.verification_key(kid, alg, now)

    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        """:meth:`verification_key` from the cached set, or ``None`` when it would look at the
        shared set first (a reload or maintenance is due, or the kid is unknown): see
        :class:`~tokensmith.stores.NonBlockingKeySource`."""
        now = self._clock()
        keyset = self.settled_keyset(now)  # the one rule for "the answer is in memory"
        if keyset is None:
            return None
        try:
            return keyset.verification_key(kid, alg, now)
        except (AlgorithmMismatch, AmbiguousKey):
            raise
        except UnknownKey:
            if kid is None:
                raise
        return None

    def settled_keyset(self, now: float) -> KeySet | None:
        """The set :meth:`verification_key` answers from until a reload or maintenance is
        due (see :class:`~tokensmith.stores.SettledKeySource`); every change installs a new set."""
        return self._keyset if now < self._check_at and now < self._due else None

    def jwks(self) -> dict[str, Any]:
        """The public JWKS: pending, active and retired keys; never private members."""
        now = self._clock()
        self._fresh(now)
        return self._keyset.jwks(now)
