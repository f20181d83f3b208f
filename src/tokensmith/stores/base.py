"""The interfaces a key store or key source implements.

Small on purpose: a validator needs only :class:`KeySource`; a signer needs
:class:`KeyStore`. ``tokensmith.testing`` ships contract tests for both.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..keys import Key

__all__ = ["AsyncKeySource", "KeySource", "KeyStore"]

# Stores of this package that answer from a key set held in the process (the memory, file and
# Redis stores) set the class attribute ``_keys_settle = True`` to promise the validator's
# cache three things: verification_key() answers from ``self._keyset`` (an immutable KeySet) by
# the clock ``self._clock``; every change of keys replaces ``self._keyset``; and nothing else
# is consulted (no reload, no maintenance) before ``min(self._due, self._check_at)``. While the
# store holds the very set a cached token was verified under and neither instant has passed,
# a cache hit knows the store's answer without asking. The validator reads the marker from the
# exact class only: a subclass may override verification_key, so it is always asked.


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
class KeyStore(KeySource, Protocol):
    """What a :class:`~tokensmith.Signer` needs on top of :class:`KeySource`."""

    def signing_key(self) -> Key:
        """The key that signs now (raises :class:`~tokensmith.errors.NoSigningKey` if none)."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document of every key a validator may meet now."""
        ...
