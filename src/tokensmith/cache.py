"""An opt-in cache of tokens that already passed signature verification.

A hit skips parsing and the signature check, and nothing else: the validator still re-checks
every time-based claim against its clock, the per-call scopes, its custom checks and the
revocation list, and confirms that the key source still returns the very same key (a key
that was removed, or replaced after a JWKS refresh, evicts the entry). An entry never outlives
the token's ``exp`` or its key's ``not_after``.

For tokensmith's memory, file and Redis key stores that confirmation costs no call: an entry
remembers the store's immutable key set it was verified under, and while the store's
``settled_keyset(now)`` (see :class:`~tokensmith.stores.SettledKeySource`) still answers that
very set, its answer is known. Any change of keys replaces the set, and the entry is verified
again. Other key sources are asked on every hit (:meth:`ValidatedTokenCache.hit` answers
``False``; :meth:`~ValidatedTokenCache.confirm` then compares what they return).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ._options import integer
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .claims import VerifiedToken
    from .keys import Key
    from .keyset import KeySet

    # the view, the checked header (the validator's, opaque here), the key, the instants
    # [valid_from, until) every time rule accepts, the in-process store's key set or None
    _Entry = tuple[VerifiedToken, object, Key, float, float, KeySet | None]

__all__ = ["ValidatedTokenCache"]


class ValidatedTokenCache:
    """A bounded LRU map from the exact token string to its verified view and key.

    Keyed by the exact token bytes, so another encoding of the same signature (an ECDSA
    signature's high-S twin, see docs/security.md) is a miss and is fully validated; what must
    hold for a token however it is spelled (revocation, replay) is keyed on its ``jti``.
    Share one instance per :class:`~tokensmith.Validator` (entries are only
    valid for the policy that produced them; a validator refuses a cache already bound to
    another validator).
    """

    __slots__ = (
        "_entries",
        "_free_threaded",
        "_leeway",
        "_lock",
        "_owner",
        "hits",
        "maxsize",
        "misses",
    )

    def __init__(self, maxsize: int = 10_000) -> None:
        integer("maxsize", maxsize, minimum=1)
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._free_threaded = not getattr(sys, "_is_gil_enabled", lambda: True)()
        self._owner: object | None = None
        self._leeway = 0.0

    def bind(self, owner: object, *, leeway: float = 0.0) -> None:
        """Attach the cache to one validator (its entries follow that validator's policy);
        ``leeway`` is that policy's: no entry outlives its token's ``exp`` plus it."""
        if self._owner is not None and self._owner is not owner:
            raise ConfigurationError("a ValidatedTokenCache belongs to one Validator")
        self._owner = owner
        self._leeway = leeway

    def get(self, token: str) -> _Entry | None:
        """The entry for ``token``, marked most recently used; ``None`` on a miss. Takes the
        lock: the validator's lookups go through :meth:`hit`, which needs none with the GIL.
        """
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(token)
            self.hits += 1
            return entry

    def hit(
        self, token: str, now: float, settled: Callable[[float], KeySet | None] | None
    ) -> VerifiedToken | Literal[False] | None:
        """The cached view of ``token`` if it may be served at ``now`` as far as the entry
        can tell; ``None`` on a miss or for an entry that no longer holds (it is dropped and
        the token goes down the full path); ``False`` when the key source must confirm the
        entry's key (ask it with :meth:`header`, then :meth:`confirm`).

        ``settled`` is the key source's trusted ``settled_keyset`` (see
        :func:`~tokensmith.stores.trusted_settled_keyset`), ``None`` for any other source. The
        entry's ``[valid_from, until)`` window holds every time rule; the key is known without
        asking while ``settled(now)`` is the very key set the entry was verified under.

        With the GIL, the lookup takes no lock: the lookup and the move are each one atomic
        operation, and an entry evicted between them is simply not moved. Free-threaded
        builds take the lock (:meth:`get`). ``hits`` and ``misses`` are statistics, not exact
        counts.
        """
        entry: _Entry | None
        if self._free_threaded:
            entry = self.get(token)
            if entry is None:
                return None
        else:  # get() without the lock: a hit is on the hot path of every request
            entries = self._entries
            entry = entries.get(token)
            if entry is None:
                self.misses += 1
                return None
            try:  # noqa: SIM105 - contextlib.suppress costs more than the whole lookup
                entries.move_to_end(token)
            except KeyError:  # evicted or discarded by another thread between the two steps
                pass
            self.hits += 1
        if entry[3] <= now < entry[4]:
            keyset = None if settled is None else settled(now)
            if keyset is None:
                return False
            if keyset is entry[5]:
                return entry[0]
        self.discard(token)
        return None

    def header(self, token: str) -> object:
        """The checked header an entry was verified with (to ask the key source); ``None``
        if the entry has gone since."""
        entry = self._entries.get(token)
        return None if entry is None else entry[1]

    def confirm(self, token: str, key: Key) -> VerifiedToken | None:
        """After :meth:`hit` answered ``False``: the cached view if ``key``, what the key
        source returns now, is the very key the entry was verified with; otherwise the entry
        goes and ``None``."""
        entry = self._entries.get(token)
        if entry is not None and entry[2] is key:
            return entry[0]
        self.discard(token)
        return None

    def put(
        self,
        token: str,
        verified: VerifiedToken,
        header: object,
        key: Key,
        valid_from: float,
        until: float,
        keyset: KeySet | None = None,
    ) -> None:
        """Remember ``token`` for the instants ``[valid_from, until)`` at which every time rule
        accepts it (``until``: the earlier of its expiry and its key's); ``keyset``: the
        in-process store's settled key set, read before ``key`` was asked for (``None``: ask
        the key source on a hit).

        Whatever ``until`` says, the entry ends at the token's ``exp`` plus the bound
        validator's leeway: a hit can never serve an expired token, even from an entry put by
        hand or by a bug, and no hit needs to check ``exp`` again.
        """
        expires = verified.expires_at
        if expires is not None:
            until = min(until, expires + self._leeway)
        with self._lock:
            self._entries[token] = (verified, header, key, valid_from, until, keyset)
            self._entries.move_to_end(token)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget ``token`` (no lock taken for a token that has no entry: every refusal of a
        validator with a cache discards, and a flood of forged tokens must not contend)."""
        if token not in self._entries:
            return
        with self._lock:
            self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget everything (e.g. after removing a compromised key)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ValidatedTokenCache(size={len(self._entries)}, maxsize={self.maxsize})"
