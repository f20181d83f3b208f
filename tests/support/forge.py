"""The one token forger of the suite: any header, any payload, any signature.

Nothing here goes through tokensmith's signer: the attacks need tokens the signer would never
produce (``alg: none``, HMAC over a public key, ECDSA ``r = s = 0``...). Only the stdlib (its
``base64``, never tokensmith's base64url) and ``cryptography`` are used, so a bug in tokensmith
cannot hide a bug in the forger. A tokensmith :class:`~tokensmith.Key` only signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tests.support import AUDIENCE, ISSUER, NOW
from tokensmith import Key

__all__ = [
    "AUDIENCE",
    "COORDINATE_BYTES",
    "CURVES",
    "CURVE_ORDERS",
    "ISSUER",
    "NOW",
    "b64",
    "claims",
    "compact",
    "ecdsa_raw",
    "forge",
    "header_for",
    "hmac_forged",
    "segment",
    "signed",
    "signed_raw",
    "unb64",
]

# Group orders of the NIST curves (SEC 2), for the "psychic signature" cases.
CURVE_ORDERS = {
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77A"
        "ECEC196ACCC52973",
        16,
    ),
    "ES512": int(  # 521 bits
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA"
        "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}
COORDINATE_BYTES = {"ES256": 32, "ES384": 48, "ES512": 66}
CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def b64(data: bytes) -> str:
    """Unpadded base64url, written independently of tokensmith's encoder."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Unpadded base64url decoded by the stdlib, to read what tokensmith wrote."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(value: Any) -> str:
    """A JSON value (compact) or raw bytes, base64url-encoded."""
    if isinstance(value, bytes):
        return b64(value)
    return b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def claims(**extra: Any) -> dict[str, Any]:
    """A payload the default test validator accepts; ``None`` removes a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": NOW,
        "exp": NOW + 600,
        "jti": "j-1",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def header_for(key: Key, **extra: Any) -> dict[str, Any]:
    """The header a legitimate issuer would write for ``key``; ``None`` removes a member."""
    base: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def compact(header: Any, payload: Any, signature: bytes) -> str:
    """Header and payload (JSON values or raw bytes) plus a signature, as a compact JWS."""
    return f"{segment(header)}.{segment(payload)}.{b64(signature)}"


def signed(header: Any, payload: Any, key: Key) -> str:
    """Signed with a tokensmith key (the legitimate issuer's or the attacker's)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode('ascii')))}"


def forge(header: Any, payload: Any, key: Key | None = None, signature: bytes | None = None) -> str:
    """A compact JWS signed with ``key``, or carrying ``signature`` (empty without either)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode("ascii")) if key is not None else b""
    return f"{signing_input}.{b64(signature)}"


def signed_raw(header_segment: str, payload_segment: str, key: Key) -> str:
    """Already-encoded segments (possibly non-canonical), signed over exactly that text."""
    signing_input = f"{header_segment}.{payload_segment}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode('ascii')))}"


def hmac_forged(header: Any, payload: Any, secret: bytes, digest: str = "sha256") -> str:
    """An HMAC token keyed with arbitrary bytes (e.g. the victim's *public* key)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    tag = hmac.new(secret, signing_input.encode("ascii"), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{b64(tag)}"


def ecdsa_raw(alg: str, r: int, s: int) -> bytes:
    """A JWS ECDSA signature (fixed-width big-endian r || s), values not reduced."""
    width = COORDINATE_BYTES[alg]
    size = max(width, (max(r, s).bit_length() + 7) // 8)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
