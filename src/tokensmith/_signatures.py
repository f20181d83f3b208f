"""JWS signatures computed with ``cryptography`` directly (RFC 7518 §3.2-3.5, RFC 8037 §3.1).

A :class:`~tokensmith.Key` gets one :class:`Signature` when it is built: the parameter objects
(padding, hash, ECDSA) and, for HMAC, the key schedule are prepared then, so signing or
verifying a token is one ``cryptography`` call (plus the ``R || S`` / DER conversion of ECDSA).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ._algorithms import EC_CURVES, Algorithm

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.hmac import HMAC

__all__ = ["Signature", "signature_for"]


class Signature(Protocol):
    """Signs and verifies for one key and one algorithm."""

    def sign(self, message: bytes) -> bytes:
        """The JWS signature of ``message`` (only called on keys that can sign)."""

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid for ``message``."""


class _Hmac:
    """HMAC (§3.2): each MAC copies a keyed object (``copy`` exists for this: the key schedule
    is not recomputed per message). cryptography's HMAC is one native object; the stdlib's
    wraps its native one in Python methods and costs about twice as much here. Tags are
    compared in constant time."""

    __slots__ = ("_keyed",)

    def __init__(self, alg: Algorithm, secret: bytes) -> None:
        from cryptography.hazmat.primitives.hmac import HMAC  # noqa: PLC0415 - import cost

        assert alg.hash is not None
        self._keyed: HMAC = HMAC(secret, alg.hash())

    def sign(self, message: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.finalize()

    def verify(self, message: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self.sign(message), signature)


class _Rsa:
    """RSASSA-PKCS1-v1_5 (§3.3) or RSASSA-PSS with MGF1 and a salt as long as the hash (§3.5)."""

    __slots__ = ("_hash", "_padding", "_private", "_public")

    def __init__(self, alg: Algorithm, private: Any, public: Any) -> None:
        assert alg.hash is not None
        hash_ = alg.hash()
        self._private, self._public, self._hash = private, public, hash_
        self._padding: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(alg.hash()), salt_length=hash_.digest_size)
            if alg.padding == "PSS"
            else padding.PKCS1v15()
        )

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._private.sign(message, self._padding, self._hash)
        return signature

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public.verify(signature, message, self._padding, self._hash)
        except (InvalidSignature, ValueError):
            return False
        return True


class _Ecdsa:
    """ECDSA (§3.4): a JWS signature is the fixed-size ``R || S``; cryptography speaks DER."""

    __slots__ = ("_ecdsa", "_private", "_public", "_size")

    def __init__(self, alg: Algorithm, private: Any, public: Any) -> None:
        assert alg.hash is not None
        self._private, self._public = private, public
        self._ecdsa = ec.ECDSA(alg.hash())
        self._size = EC_CURVES[alg.curves[0]].size

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self._private.sign(message, self._ecdsa))
        size = self._size
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(self, message: bytes, signature: bytes) -> bool:
        size = self._size
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            self._public.verify(encode_dss_signature(r, s), message, self._ecdsa)
        except (InvalidSignature, ValueError):
            return False
        return True


class _Eddsa:
    """EdDSA (RFC 8037 §3.1): the curve fixes everything."""

    __slots__ = ("_private", "_public")

    def __init__(self, alg: Algorithm, private: Any, public: Any) -> None:
        self._private, self._public = private, public

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._private.sign(message)
        return signature

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


_ASYMMETRIC: Final[dict[str, Callable[[Algorithm, Any, Any], Signature]]] = {
    "RSA": _Rsa,
    "EC": _Ecdsa,
    "OKP": _Eddsa,
}


def signature_for(alg: Algorithm, private: Any, public: Any) -> Signature:
    """The signature of a checked key: ``private`` is ``None`` for a public key; an HMAC
    secret is both."""
    if alg.kty == "oct":
        return _Hmac(alg, public)
    return _ASYMMETRIC[alg.kty](alg, private, public)
