"""What every replay store is: the protocol, and the argument checks and entry names they share.

A replay store remembers spent ``(issuer, jti)`` pairs until the token they belong to expires,
so that a single-use token (a client assertion, RFC 7523 §3; a DPoP proof, RFC 9449 §11.1) is
refused the second time. Backends: :mod:`~tokensmith.replay.memory` (tests, one process),
:mod:`~tokensmith.replay.sqlite` (one machine) and :mod:`~tokensmith.replay.redis` (every
replica); ``tokensmith.testing.JtiReplayStoreContract`` tests any other.
"""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

from .._options import seconds
from ..errors import ConfigurationError

__all__ = ["JtiReplayStore", "check_use", "entry_key"]


@runtime_checkable
class JtiReplayStore(Protocol):
    """Remembers spent ``(issuer, jti)`` pairs until their token expires.

    ``use`` must be atomic: of two concurrent calls for one pair, exactly one returns ``True``.
    """

    def use(self, issuer: str, jti: str, *, expires_at: float) -> bool:
        """Spend ``(issuer, jti)``: ``True`` the first time, ``False`` for a replay."""
        ...


def entry_key(issuer: str, jti: str) -> str:
    """A fixed-size name for the pair; the separator keeps ``("a", "b:c")`` != ``("a:b", "c")``."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()


def check_use(issuer: object, jti: object, expires_at: object) -> None:
    """The arguments of ``use``: non-empty ``issuer`` and ``jti``, a finite ``expires_at``."""
    if not isinstance(issuer, str) or not issuer or not isinstance(jti, str) or not jti:
        raise ConfigurationError("issuer and jti must be non-empty strings")
    seconds("expires_at", expires_at)
