"""base64url (RFC 7515 §2), unpadded, the one encoder and strict decoder of tokensmith.

Everything tokensmith writes or reads as base64url goes through here: token segments, JWK
members, thumbprints, PKCE challenges, CSRF tokens, sealed key files, Redis key parts.
"""

from __future__ import annotations

import binascii
from typing import Final

__all__ = ["b64url_decode", "b64url_encode"]

_STD_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return (
        binascii.b2a_base64(data, newline=False)
        .rstrip(b"=")
        .translate(_STD_TO_URLSAFE)
        .decode("ascii")
    )


# '-' and '_' become the standard alphabet; '+', '/' and '=' become '!' so that strict decoding
# refuses them: the input must be pure unpadded base64url.
_URLSAFE_TO_STD: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
# Last characters whose unused low bits are zero, by ``len % 4`` (2: 4 bits unused, 3: 2 bits).
_CANONICAL_TAIL: Final = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}


def b64url_decode(data: str) -> bytes:
    """Strict unpadded base64url: refuses padding, foreign characters and non-canonical tails.

    Runs at C speed (one translate, one strict ``a2b_base64``). Raises :class:`ValueError`
    (``binascii.Error`` and ``UnicodeEncodeError`` are subclasses); callers translate it into
    their own error class.
    """
    rest = len(data) % 4
    if rest:
        if rest == 1 or data[-1] not in _CANONICAL_TAIL[rest]:
            raise ValueError("non-canonical base64url")
        raw = data.encode("ascii").translate(_URLSAFE_TO_STD) + (b"==" if rest == 2 else b"=")
    else:
        raw = data.encode("ascii").translate(_URLSAFE_TO_STD)
    return binascii.a2b_base64(raw, strict_mode=True)
