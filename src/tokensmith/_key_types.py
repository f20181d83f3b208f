"""The four JWK key types (RFC 7518 §6, RFC 8037 §2): how a key of each is generated, held to
the strength floor, and described by the public members of its JWK.

The members are computed from the key's numbers here (RFC 7518 §6.2.1, §6.3.1, §6.4.1,
RFC 8037 §2), so neither a thumbprint nor a published JWKS needs PyJWT; PyJWT's codec class of
each type (``jwk_codec``) parses JWKs and exports private ones, on first use.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._algorithms import EC_CURVES, EDWARDS_CURVES, Algorithm
from ._b64 import b64url_encode
from ._rsa import check_rsa_public_key
from .errors import InvalidKey, WeakKey

__all__ = ["KEY_TYPES", "KeyType"]

_RSA_EXPONENT: Final = 65537
_PEM_MARKERS: Final = (b"-----BEGIN", b"ssh-rsa", b"ssh-ed25519", b"ecdsa-sha2-")


class KeyType:
    """What tokensmith does with the keys of one ``kty``."""

    __slots__ = ()
    name: str = ""
    jwk_codec: str = ""
    """The class of ``jwt.algorithms`` that parses this type's JWKs."""

    def generate(self, alg: Algorithm, crv: str | None, rsa_bits: int) -> Any:
        """Fresh private material for ``alg`` (on curve ``crv`` when it has curves)."""
        raise NotImplementedError

    def check(self, alg: Algorithm, material: object) -> bool:
        """Enforce the type and strength floor of ``alg``; True when ``material`` is private."""
        raise NotImplementedError

    def public_members(self, verifier: Any) -> dict[str, str]:
        """The members of the public JWK besides ``kty``: with it, exactly the members
        RFC 7638 §3.2 hashes into a thumbprint."""
        raise NotImplementedError


class _Secret(KeyType):
    """``oct``: an HMAC secret, never shorter than the hash (RFC 7518 §3.2)."""

    __slots__ = ()
    name = "oct"
    jwk_codec = "HMACAlgorithm"

    def generate(self, alg: Algorithm, crv: str | None, rsa_bits: int) -> Any:
        return os.urandom(alg.min_size)

    def check(self, alg: Algorithm, material: object) -> bool:
        if not isinstance(material, bytes):
            raise InvalidKey(f"{alg.name} needs a secret of bytes")
        if len(material) < alg.min_size:
            raise WeakKey(f"{alg.name} secrets must be at least {alg.min_size * 8} bits")
        if material.lstrip().startswith(_PEM_MARKERS) or _is_published_key_form(material):
            raise InvalidKey("that HMAC secret looks like a PEM, DER, SSH or JWK key; refusing it")
        return True

    def public_members(self, verifier: Any) -> dict[str, str]:
        return {"k": b64url_encode(verifier)}


def _is_published_key_form(secret: bytes) -> bool:
    """True for a public key in DER or JWK/JWKS form: never an HMAC secret (alg confusion).

    Random secrets cannot parse as either, so a generated secret is never refused.
    """
    stripped = secret.strip()
    if stripped[:1] == b"{":
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            return False
        return isinstance(parsed, dict) and ("kty" in parsed or "keys" in parsed)
    if secret[:1] == b"0":  # a DER SEQUENCE: SubjectPublicKeyInfo or PKCS#1
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - import cost

        try:
            serialization.load_der_public_key(secret)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return False
        return True
    return False


class _Rsa(KeyType):
    """``RSA``: at least ``min_size`` bits, a sane exponent, no ROCA fingerprint."""

    __slots__ = ()
    name = "RSA"
    jwk_codec = "RSAAlgorithm"

    def generate(self, alg: Algorithm, crv: str | None, rsa_bits: int) -> Any:
        if rsa_bits < alg.min_size:
            raise WeakKey(f"RSA keys must be at least {alg.min_size} bits")
        return rsa.generate_private_key(public_exponent=_RSA_EXPONENT, key_size=rsa_bits)

    def check(self, alg: Algorithm, material: object) -> bool:
        if isinstance(material, rsa.RSAPrivateKey):
            check_rsa_public_key(material.public_key(), alg.min_size)
            return True
        if isinstance(material, rsa.RSAPublicKey):
            check_rsa_public_key(material, alg.min_size)
            return False
        raise InvalidKey(f"{alg.name} needs an RSA key")

    def public_members(self, verifier: Any) -> dict[str, str]:
        numbers = verifier.public_numbers()
        return {"n": _uint(numbers.n), "e": _uint(numbers.e)}


def _uint(value: int) -> str:
    """A JWK integer (RFC 7518 §2 "Base64urlUInt"): big-endian, as few octets as possible."""
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


class _Ec(KeyType):
    """``EC``: a key on the one curve of its algorithm."""

    __slots__ = ()
    name = "EC"
    jwk_codec = "ECAlgorithm"

    def generate(self, alg: Algorithm, crv: str | None, rsa_bits: int) -> Any:
        return ec.generate_private_key(EC_CURVES[crv or alg.curves[0]].curve())

    def check(self, alg: Algorithm, material: object) -> bool:
        if isinstance(material, ec.EllipticCurvePrivateKey):
            private = True
        elif isinstance(material, ec.EllipticCurvePublicKey):
            private = False
        else:
            raise InvalidKey(f"{alg.name} needs an EC key")
        if _curve_name(material.curve) not in alg.curves:
            raise InvalidKey(f"{alg.name} requires curve {' or '.join(alg.curves)}")
        return private

    def public_members(self, verifier: Any) -> dict[str, str]:
        crv = _curve_name(verifier.curve)
        assert crv is not None  # checked when the key was built
        size = EC_CURVES[crv].size
        numbers = verifier.public_numbers()
        x, y = numbers.x.to_bytes(size, "big"), numbers.y.to_bytes(size, "big")
        return {"crv": crv, "x": b64url_encode(x), "y": b64url_encode(y)}


def _curve_name(curve: ec.EllipticCurve) -> str | None:
    for row in EC_CURVES.values():
        if isinstance(curve, row.curve):
            return row.name
    return None


class _Okp(KeyType):
    """``OKP``: an Edwards-curve key on one of its algorithm's curves."""

    __slots__ = ()
    name = "OKP"
    jwk_codec = "OKPAlgorithm"

    def generate(self, alg: Algorithm, crv: str | None, rsa_bits: int) -> Any:
        return EDWARDS_CURVES[crv or alg.curves[0]].private.generate()

    def check(self, alg: Algorithm, material: object) -> bool:
        for crv in alg.curves:
            if isinstance(material, EDWARDS_CURVES[crv].private):
                return True
            if isinstance(material, EDWARDS_CURVES[crv].public):
                return False
        raise InvalidKey(f"{alg.name} needs an {' or '.join(alg.curves)} key")

    def public_members(self, verifier: Any) -> dict[str, str]:
        crv = next(r.name for r in EDWARDS_CURVES.values() if isinstance(verifier, r.public))
        return {"crv": crv, "x": b64url_encode(verifier.public_bytes_raw())}


KEY_TYPES: Final[dict[str, KeyType]] = {
    kind.name: kind for kind in (_Secret(), _Rsa(), _Ec(), _Okp())
}
"""Every key type an algorithm of the table may name, by ``kty``."""
