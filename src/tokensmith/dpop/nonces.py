"""Server-issued DPoP nonces (RFC 9449 §8, §9) that rotate on their own, with no store.

A nonce limits how long a proof made in advance stays usable (§11.2: an attacker who can make
the client sign proofs for later). tokensmith's nonces are *stateless*: a nonce is the number of
its time window and an HMAC of it, so every replica that shares the secret issues and accepts
the same nonces without a database round trip per request, and rotation is arithmetic (a new
window every ``lifetime`` seconds). A nonce is accepted during its own window and the next one,
so a client that fetched one just before the switch is not refused; older ones are answered
``use_dpop_nonce`` with a fresh nonce. Replay of a *proof* is stopped by the ``jti`` replay
store, not by the nonce, so a nonce needs no single-use bookkeeping (RFC 9449 does not ask for
any).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from typing import Final

from .._b64 import b64url_decode, b64url_encode
from .._options import seconds
from ..errors import ConfigurationError

__all__ = ["DPoPNonces"]

_MAC_BYTES: Final = 16
_WINDOW_BYTES: Final = 8
_NONCE_LENGTH: Final = 32  # base64url of 24 bytes
_MIN_SECRET: Final = 32


class DPoPNonces:
    """Issues and checks DPoP nonces: an HMAC-SHA256 of a time window, rotating every
    ``lifetime`` seconds.

    :param secret: at least 32 random bytes, the same on every replica (rotate it like any
        secret; a new secret makes the outstanding nonces stale, which costs each client one
        ``use_dpop_nonce`` round trip).
    :param lifetime: seconds of a window; a nonce is good for one to two windows.
    :param clock: seconds since the epoch (injected for tests).
    """

    __slots__ = ("_clock", "_key", "lifetime")

    def __init__(
        self,
        secret: bytes,
        *,
        lifetime: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(secret, bytes | bytearray) or len(secret) < _MIN_SECRET:
            raise ConfigurationError(f"secret must be at least {_MIN_SECRET} random bytes")
        self.lifetime = seconds("lifetime", lifetime, minimum=10, maximum=86400)
        """Seconds of one window."""
        self._key = hashlib.sha256(b"tokensmith dpop nonce\x00" + bytes(secret)).digest()
        self._clock = clock

    def __repr__(self) -> str:
        return f"DPoPNonces(lifetime={self.lifetime:g})"

    def _window(self) -> int:
        return math.floor(self._clock() / self.lifetime)

    def _mac(self, window: int) -> bytes:
        packed = window.to_bytes(_WINDOW_BYTES, "big", signed=True)
        return hmac.new(self._key, packed, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self) -> str:
        """The nonce of the current window (the same for every call within it)."""
        window = self._window()
        packed = window.to_bytes(_WINDOW_BYTES, "big", signed=True)
        return b64url_encode(packed + self._mac(window))

    def is_valid(self, nonce: object) -> bool:
        """True for a nonce this secret issued in the current or the previous window."""
        if not isinstance(nonce, str) or len(nonce) != _NONCE_LENGTH:
            return False
        try:
            raw = b64url_decode(nonce)
        except ValueError:
            return False
        window = int.from_bytes(raw[:_WINDOW_BYTES], "big", signed=True)
        if not 0 <= self._window() - window <= 1:
            return False
        return hmac.compare_digest(self._mac(window), raw[_WINDOW_BYTES:])
