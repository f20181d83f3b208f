"""The interfaces a key store or key source implements.

Small on purpose: a validator needs only :class:`KeySource`; a signer needs
:class:`KeyStore`. ``tokensmith.testing`` ships contract tests for both. A store that answers
from a key set held in the process may also implement :class:`SettledKeySource`, so that a
validated-token cache knows its answer without asking it on every hit, and
:class:`NonBlockingKeySource`, so that :meth:`Validator.avalidate
<tokensmith.Validator.avalidate>` asks it on the event loop when no I/O is needed (otherwise
a sync source is asked in a worker thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._backends import defining_class
from ..keys import Key

if TYPE_CHECKING:
    from ..keyset import KeySet

__all__ = [
    "AsyncKeySource",
    "KeySource",
    "KeyStore",
    "NonBlockingKeySource",
    "SettledKeySource",
    "trusted_settled_keyset",
]


@runtime_checkable
class KeySource(Protocol):
    """All a :class:`~tokensmith.Validator` needs: find the key for a token header.

    ``verification_key`` must return a key whose ``kid`` equals ``kid`` and whose ``alg`` equals
    ``alg`` (with ``kid=None``: the only candidate for ``alg``), or raise a
    :class:`~tokensmith.errors.UnknownKey` (or subclass). An outage is
    :class:`~tokensmith.errors.BackendUnavailable`; the validator turns anything else that
    escapes (a ``KeyError`` included) into ``BackendUnavailable``, chained: a source's failure
    is not the token's.
    """

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key that may verify a token with this header ``kid`` and ``alg``."""
        ...


@runtime_checkable
class AsyncKeySource(Protocol):
    """The async twin of :class:`KeySource`, for sources that do I/O (remote JWKS)."""

    async def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key that may verify a token with this header ``kid`` and ``alg``."""
        ...


@runtime_checkable
class NonBlockingKeySource(KeySource, Protocol):
    """Optional, for a sync key source that can often answer from memory: the answer when
    no blocking is needed, so :meth:`Validator.avalidate <tokensmith.Validator.avalidate>`
    takes it on the event loop, with no thread hop.

    A sync source without this method is treated as blocking: ``avalidate()`` asks it in a
    worker thread on every call (see docs/sync-or-async.md). A source that never blocks (a
    dict of keys in memory) declares it with one line in its class body:
    ``verification_key_nowait = verification_key``. The twin is trusted under the rule of
    :func:`trusted_settled_keyset`: a subclass overriding ``verification_key`` alone is asked
    in a thread.
    """

    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        """What :meth:`verification_key` would answer (a key, or the same exception) if it
        can answer now without blocking I/O or waiting for a lock held across I/O; ``None``:
        it would block, ask :meth:`verification_key` in a thread. Never blocks."""
        ...


@runtime_checkable
class KeyStore(KeySource, Protocol):
    """What a :class:`~tokensmith.Signer` needs on top of :class:`KeySource`."""

    def signing_key(self) -> Key:
        """The key that signs now (raises :class:`~tokensmith.errors.NoSigningKey` if none)."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document of every key a validator may meet now."""
        ...


@runtime_checkable
class SettledKeySource(KeySource, Protocol):
    """Optional, for a key source that answers from an immutable
    :class:`~tokensmith.KeySet` held in the process (tokensmith's memory, file and Redis
    stores): a :class:`~tokensmith.cache.ValidatedTokenCache` hit then knows the source's
    answer without calling :meth:`verification_key`.

    The promise :meth:`settled_keyset` makes is about :meth:`verification_key`, so a cache
    trusts it only under the rule of :func:`trusted_settled_keyset`: in particular, a subclass
    that overrides ``verification_key`` without also overriding ``settled_keyset`` is asked on
    every hit.
    """

    @property
    def clock(self) -> Callable[[], float]:
        """The clock :meth:`verification_key` reads (the instants :meth:`settled_keyset` is
        given come from it)."""
        ...

    def settled_keyset(self, now: float) -> KeySet | None:
        """The key set :meth:`verification_key` answers from at ``now``, or ``None``: ask me.

        Return a set only while ``verification_key(kid, alg)`` called at ``now`` would answer
        exactly ``keyset.verification_key(kid, alg, now)`` from that very object, consulting
        nothing else first (no reload, no maintenance, no I/O). Every change of keys must
        install a new :class:`~tokensmith.KeySet` object (they are immutable), so an entry
        verified under an older set is verified again. Return ``None`` whenever unsure, e.g.
        once a reload or maintenance is due. Called on every cache hit: it must be cheap, and
        must not raise or block.
        """
        ...


def trusted_settled_keyset(
    source: object, clock: Callable[[], float]
) -> Callable[[float], KeySet | None] | None:
    """``source.settled_keyset`` if a validator reading ``clock`` may trust it instead of
    asking ``source.verification_key``; ``None`` if every cache hit must ask.

    Trusted only when all hold, checked once, when the validator is built:

    * the class that provides ``settled_keyset`` (the first in the MRO defining it) is the
      class that provides ``verification_key`` or a subclass of it: a subclass that overrides
      ``verification_key`` alone is asked on every hit, since the parent's promise was about
      the parent's lookup; override both (or neither) to keep the fast hit;
    * neither method is replaced on the instance itself;
    * ``source.clock`` is ``clock``: the instants compared are the source's own.
    """
    kind = type(source)
    answers = defining_class(kind, "verification_key")
    settles = defining_class(kind, "settled_keyset")
    if answers is None or settles is None or not issubclass(settles, answers):
        return None
    replaced = getattr(source, "__dict__", {})
    if "verification_key" in replaced or "settled_keyset" in replaced:
        return None
    if getattr(source, "clock", None) is not clock:
        return None
    settled: Callable[[float], KeySet | None] = getattr(source, "settled_keyset")  # noqa: B009
    return settled if callable(settled) else None
