"""Keys bound to exactly one algorithm: generation, JWK/PEM import and export, thumbprints.

A :class:`Key` is the unit everything else handles. It is bound to one JWS ``alg`` when it is
created, so a token header can only *pick* a key, never change what the key is used for: an
RSA public key can never be fed to HMAC, an ES256 key never verifies ES384. Strength floors are
enforced on every way in (generation, JWK, PEM, raw secret). Signing and verifying call
``cryptography`` directly, with parameter objects prepared once per algorithm, or copy a
keyed ``cryptography`` HMAC prepared once per key; PyJWT's ``jwt.algorithms`` serve JWK import
and export.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from jwt import algorithms as jwa

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.hmac import HMAC

from ._b64 import b64url_decode, b64url_encode
from ._frozen import Frozen
from ._json import StrictJSONError
from ._json import loads as strict_json
from .errors import InvalidKey, WeakKey

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "SYMMETRIC_ALGORITHMS",
    "Key",
    "has_roca_fingerprint",
]

SYMMETRIC_ALGORITHMS: Final = frozenset({"HS256", "HS384", "HS512"})
"""The HMAC algorithms tokensmith supports."""

ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)
"""The public-key algorithms tokensmith supports."""

SUPPORTED_ALGORITHMS: Final = SYMMETRIC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
"""Every algorithm a :class:`Key` may be bound to. ``none`` is not, and never will be."""

_HMAC_MIN_BYTES: Final = {"HS256": 32, "HS384": 48, "HS512": 64}
_HMAC_DIGESTS: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "HS256": hashes.SHA256,
    "HS384": hashes.SHA384,
    "HS512": hashes.SHA512,
}
_EC_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
_EC_CRV_NAMES: Final = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_RSA_MIN_BITS: Final = 2048
_RSA_DEFAULT_BITS: Final = 2048
_RSA_MAX_EXPONENT: Final = 2**32
_KTY: Final = {"HS": "oct", "RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_PEM_MARKERS: Final = (b"-----BEGIN", b"ssh-rsa", b"ssh-ed25519", b"ecdsa-sha2-")
_ALGORITHMS: Final = jwa.get_default_algorithms()

KeyUse = Literal["sig"]

_MISSING_ALG: Final = (
    "the JWK has no 'alg' member; pass alg=... to say which algorithm this key is for "
    "(e.g. Key.from_jwk(jwk, alg='RS256')): tokensmith never guesses an algorithm"
)


def _kty_for(alg: str) -> str:
    return _KTY[alg[:2]]


def _check_alg(alg: object) -> str:
    if alg is None:
        raise InvalidKey(f"no algorithm given; pass alg= (one of: {_alg_list()})")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
        raise InvalidKey(f"unsupported algorithm {shown!r} (supported: {_alg_list()})")
    return alg


def _alg_list() -> str:
    return ", ".join(sorted(SUPPORTED_ALGORITHMS))


class Key(Frozen):
    """A signing or verification key bound to exactly one algorithm.

    Build one with :meth:`generate`, :meth:`from_secret`, :meth:`from_jwk` or :meth:`from_pem`;
    the constructor is not public API. Lifecycle times (seconds since the epoch, ``None`` for
    unbounded) are used by :class:`~tokensmith.KeySet`: ``not_before`` is when the key may start
    signing, ``retire_at`` when it stops signing, ``not_after`` when it stops verifying.
    """

    __slots__ = (
        "_hmac",
        "_material",
        "_verifier",
        "alg",
        "is_private",
        "kid",
        "not_after",
        "not_before",
        "retire_at",
    )

    kid: str
    alg: str
    _material: Any
    _verifier: Any
    is_private: bool
    not_before: float | None
    retire_at: float | None
    not_after: float | None
    _hmac: HMAC | None

    def __init__(
        self,
        kid: str,
        alg: str,
        _material: Any,
        _verifier: Any,
        is_private: bool,
        not_before: float | None = None,
        retire_at: float | None = None,
        not_after: float | None = None,
    ) -> None:
        """Not public API: build keys with the class methods below."""
        set_ = object.__setattr__
        set_(self, "kid", kid)
        set_(self, "alg", alg)
        set_(self, "_material", _material)
        set_(self, "_verifier", _verifier)
        set_(self, "is_private", is_private)
        set_(self, "not_before", not_before)
        set_(self, "retire_at", retire_at)
        set_(self, "not_after", not_after)
        # HMAC: the key schedule (inner and outer pads) computed once; each MAC copies it
        digest = _HMAC_DIGESTS.get(alg)
        set_(self, "_hmac", None if digest is None else _keyed_hmac(_material, digest()))

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        alg: str = "ES256",
        *,
        kid: str | None = None,
        curve: Literal["Ed25519", "Ed448"] = "Ed25519",
        rsa_bits: int = _RSA_DEFAULT_BITS,
    ) -> Key:
        """Generate a fresh private key for ``alg`` (``curve`` picks the EdDSA curve)."""
        alg = _check_alg(alg)
        material: Any
        if alg in SYMMETRIC_ALGORITHMS:
            material = os.urandom(_HMAC_MIN_BYTES[alg])
        elif alg[:2] in ("RS", "PS"):
            if rsa_bits < _RSA_MIN_BITS:
                raise WeakKey(f"RSA keys must be at least {_RSA_MIN_BITS} bits")
            material = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        elif alg[:2] == "ES":
            material = ec.generate_private_key(_EC_CURVES[alg]())
        elif curve == "Ed25519":
            material = ed25519.Ed25519PrivateKey.generate()
        elif curve == "Ed448":
            material = ed448.Ed448PrivateKey.generate()
        else:
            raise InvalidKey("EdDSA curve must be 'Ed25519' or 'Ed448'")
        return cls._build(alg, material, kid)

    @classmethod
    def from_secret(cls, secret: bytes, alg: str = "HS256", *, kid: str | None = None) -> Key:
        """An HMAC key from raw secret bytes (at least the hash size, never under 256 bits)."""
        alg = _check_alg(alg)
        if alg not in SYMMETRIC_ALGORITHMS:
            raise InvalidKey(f"{alg} is not an HMAC algorithm; use from_pem or from_jwk")
        if not isinstance(secret, bytes | bytearray):
            raise InvalidKey("an HMAC secret must be bytes")
        return cls._build(alg, bytes(secret), kid)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str, *, alg: str | None = None) -> Key:
        """Import a public or private JWK (RFC 7517).

        The algorithm comes from the JWK's ``alg`` member or the ``alg`` argument; when both
        are given they must agree. A key without either is refused (:class:`InvalidKey`: "the
        JWK has no 'alg' member; pass alg=... to say which algorithm this key is for"):
        tokensmith never guesses which algorithm a key is for. For a whole JWK Set, use
        :meth:`KeySet.from_jwks <tokensmith.KeySet.from_jwks>` (``default_algorithms``).
        """
        if isinstance(jwk, str):
            try:
                parsed = strict_json(jwk)
            except StrictJSONError as exc:
                raise InvalidKey(f"JWK is not strict JSON: {exc}") from None
        else:
            parsed = jwk
        if not isinstance(parsed, Mapping):
            raise InvalidKey("JWK must be a JSON object")
        data = dict(parsed)
        jwk_alg = data.get("alg")
        if jwk_alg is not None and alg is not None and jwk_alg != alg:
            raise InvalidKey("JWK 'alg' does not match the requested algorithm")
        if jwk_alg is None and alg is None:
            raise InvalidKey(_MISSING_ALG)
        chosen = _check_alg(jwk_alg if jwk_alg is not None else alg)
        use = data.get("use")
        if use is not None and use != "sig":
            raise InvalidKey("JWK 'use' is not 'sig'")
        key_ops = data.get("key_ops")
        if key_ops is not None and (
            not isinstance(key_ops, list)
            or not all(isinstance(op, str) for op in key_ops)
            or not {"sign", "verify"}.intersection(key_ops)
        ):
            raise InvalidKey("JWK 'key_ops' allows neither 'sign' nor 'verify'")
        kty = data.get("kty")
        if kty != _kty_for(chosen):
            raise InvalidKey(f"JWK 'kty' does not fit {chosen}")
        if chosen == "EdDSA" and data.get("crv") not in ("Ed25519", "Ed448"):
            raise InvalidKey("EdDSA JWK 'crv' must be 'Ed25519' or 'Ed448'")
        if chosen in _EC_CRV_NAMES and data.get("crv") != _EC_CRV_NAMES[chosen]:
            raise InvalidKey(f"{chosen} requires curve {_EC_CRV_NAMES[chosen]}")
        kid = data.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise InvalidKey("JWK 'kid' must be a non-empty string")
        if kty == "RSA":
            _check_jwk_exponent(data.get("e"))
        if kty == "oct" and data.get("k") == "":  # PyJWT's answer varies by version: decide here
            raise InvalidKey("the JWK's secret 'k' is empty")
        try:
            material = _ALGORITHMS[chosen].from_jwk(data)
        except Exception:  # PyJWT raises InvalidKeyError, ValueError, KeyError, binascii.Error
            raise InvalidKey(f"{chosen} JWK could not be parsed") from None
        return cls._build(chosen, material, kid)

    @classmethod
    def from_pem(
        cls,
        pem: bytes | str,
        alg: str,
        *,
        kid: str | None = None,
        password: bytes | None = None,
    ) -> Key:
        """Import a PEM private key (PKCS#8 or traditional) or public key (SubjectPublicKeyInfo)."""
        alg = _check_alg(alg)
        if alg in SYMMETRIC_ALGORITHMS:
            raise InvalidKey("HMAC keys are raw secrets; use from_secret")
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
        material: Any
        try:
            if b"PRIVATE KEY" in data:
                material = serialization.load_pem_private_key(data, password=password)
            else:
                material = serialization.load_pem_public_key(data)
        except ValueError as exc:
            if _REFUSED_EXPONENT in str(exc):  # cryptography will not build such a key object
                raise WeakKey(_EXPONENT_MESSAGE) from None
            raise InvalidKey(f"PEM could not be loaded as a {alg} key") from None
        except (TypeError, UnsupportedAlgorithm):
            raise InvalidKey(f"PEM could not be loaded as a {alg} key") from None
        return cls._build(alg, material, kid)

    @classmethod
    def _build(cls, alg: str, material: Any, kid: str | None) -> Key:
        """Check strength and type, prepare the verifier once, and compute the default kid."""
        is_private = _check_material(alg, material)
        if alg in SYMMETRIC_ALGORITHMS:
            verifier = material
        elif is_private:
            verifier = material.public_key()
        else:
            verifier = material
        key = cls(kid or "", alg, material, verifier, is_private)
        if not kid:
            object.__setattr__(key, "kid", key.thumbprint())
        return key

    # --- lifecycle -----------------------------------------------------------------------------

    def with_lifecycle(
        self,
        *,
        not_before: float | None = None,
        retire_at: float | None = None,
        not_after: float | None = None,
    ) -> Key:
        """A copy of this key with the given activation, retirement and expiry times."""
        for name, value in (
            ("not_before", not_before),
            ("retire_at", retire_at),
            ("not_after", not_after),
        ):
            if value is not None and not math.isfinite(value):
                raise InvalidKey(f"{name} must be a finite number of seconds")
        return Key(
            self.kid,
            self.alg,
            self._material,
            self._verifier,
            self.is_private,
            not_before,
            retire_at,
            not_after,
        )

    def public_key(self) -> Key:
        """The public half (same kid, alg and lifecycle). HMAC keys have none."""
        if self.alg in SYMMETRIC_ALGORITHMS:
            raise InvalidKey("an HMAC key has no public half")
        if not self.is_private:
            return self
        return Key(
            self.kid,
            self.alg,
            self._verifier,
            self._verifier,
            False,
            self.not_before,
            self.retire_at,
            self.not_after,
        )

    @property
    def is_symmetric(self) -> bool:
        """True for HMAC keys (which must never be published)."""
        return self.alg in SYMMETRIC_ALGORITHMS

    @property
    def can_sign(self) -> bool:
        """True when this key holds private (or secret) material."""
        return self.is_private

    # --- crypto ------------------------------------------------------------------------------

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with this key's algorithm."""
        if not self.is_private:
            raise InvalidKey("a public key cannot sign")
        if self._hmac is not None:
            return _mac(self._hmac, message)
        return _sign_private(self.alg, self._material, message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid for ``message`` under this key and algorithm.

        HMAC tags are compared in constant time (:func:`hmac.compare_digest`).
        """
        if self._hmac is not None:
            return hmac.compare_digest(_mac(self._hmac, message), signature)
        return _verify_public(self.alg, self._verifier, message, signature)

    # --- export ------------------------------------------------------------------------------

    def to_jwk(self, *, private: bool = False) -> dict[str, Any]:
        """Export as a JWK with ``kid``, ``alg`` and ``use``.

        Public members only unless ``private=True``. HMAC keys can only be exported with
        ``private=True``, since their only member is the secret.
        """
        if private and not self.is_private:
            raise InvalidKey("this key has no private material to export")
        if not private and self.is_symmetric:
            raise InvalidKey("an HMAC key has no public form; export with private=True")
        source = self._material if private else self._verifier
        jwk: dict[str, Any] = dict(_ALGORITHMS[self.alg].to_jwk(source, as_dict=True))
        jwk.pop("key_ops", None)
        jwk["kid"] = self.kid
        jwk["alg"] = self.alg
        jwk["use"] = "sig"
        return jwk

    def to_pem(self, *, private: bool = False, password: bytes | None = None) -> bytes:
        """Export as PEM: SubjectPublicKeyInfo, or PKCS#8 (encrypted when ``password`` is given)."""
        if self.is_symmetric:
            raise InvalidKey("HMAC keys have no PEM form")
        if not private:
            pem: bytes = self._verifier.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return pem
        if not self.is_private:
            raise InvalidKey("this key has no private material to export")
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        private_pem: bytes = self._material.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        return private_pem

    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (SHA-256, base64url) over the required public members."""
        source = self._material if self.is_symmetric else self._verifier
        full = _ALGORITHMS[self.alg].to_jwk(source, as_dict=True)
        required = {
            "oct": ("k", "kty"),
            "RSA": ("e", "kty", "n"),
            "EC": ("crv", "kty", "x", "y"),
            "OKP": ("crv", "kty", "x"),
        }[full["kty"]]
        canonical = json.dumps({m: full[m] for m in required}, separators=(",", ":"))
        return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())

    def __repr__(self) -> str:
        kind = "secret" if self.is_symmetric else ("private" if self.is_private else "public")
        return f"Key(kid={self.kid!r}, alg={self.alg!r}, {kind})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Key objects are not picklable; export them explicitly")


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
        try:
            serialization.load_der_public_key(secret)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return False
        return True
    return False


# Per-algorithm parameters for cryptography's verify, built once (RFC 7518 §3.3-3.5, RFC 8037):
# PSS uses MGF1 with the same hash and a salt as long as the hash; ECDSA signatures are the
# fixed-size concatenation R || S, converted to DER for cryptography.
_RSA_PARAMS: dict[str, tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]] = {}
_EC_PARAMS: dict[str, tuple[ec.ECDSA, int]] = {}


def _prepare_params() -> None:
    """Build the parameter objects on first use (building them loads OpenSSL bindings,
    which would otherwise add milliseconds to ``import tokensmith``).

    Each table is filled by one ``dict.update`` (atomic under the GIL), the RSA table last,
    so a thread that sees it non-empty sees both tables complete.
    """
    digests = ((256, hashes.SHA256), (384, hashes.SHA384), (512, hashes.SHA512))
    rsa_params: dict[str, tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]] = {}
    for bits, hash_cls in digests:
        rsa_params[f"RS{bits}"] = (padding.PKCS1v15(), hash_cls())
        rsa_params[f"PS{bits}"] = (
            padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size),
            hash_cls(),
        )
    _EC_PARAMS.update(
        {
            "ES256": (ec.ECDSA(hashes.SHA256()), 32),
            "ES384": (ec.ECDSA(hashes.SHA384()), 48),
            "ES512": (ec.ECDSA(hashes.SHA512()), 66),
        }
    )
    _RSA_PARAMS.update(rsa_params)


def _keyed_hmac(secret: bytes, digest: hashes.HashAlgorithm) -> HMAC:
    """An HMAC keyed with ``secret``, to be copied per message (imported on first use)."""
    from cryptography.hazmat.primitives.hmac import HMAC  # noqa: PLC0415 - keep import cheap

    return HMAC(secret, digest)


def _mac(keyed: HMAC, message: bytes) -> bytes:
    """HMAC of ``message`` from a copy of a keyed object (``copy`` exists for this: the key
    schedule is not recomputed per message). cryptography's HMAC is one native object; the
    stdlib's wraps its native one in Python methods and costs about twice as much here."""
    mac = keyed.copy()
    mac.update(message)
    return mac.finalize()


def _sign_private(alg: str, private: Any, message: bytes) -> bytes:
    """Sign with cryptography directly (JWS form: ECDSA as fixed-size ``r || s``)."""
    if not _RSA_PARAMS:
        _prepare_params()
    rsa_params = _RSA_PARAMS.get(alg)
    if rsa_params is not None:
        signature: bytes = private.sign(message, rsa_params[0], rsa_params[1])
        return signature
    ec_params = _EC_PARAMS.get(alg)
    if ec_params is not None:
        ecdsa, size = ec_params
        r, s = decode_dss_signature(private.sign(message, ecdsa))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return cast(bytes, private.sign(message))  # EdDSA


def _verify_public(alg: str, public: Any, message: bytes, signature: bytes) -> bool:
    """Verify with cryptography directly, with padding and hash objects prepared once."""
    if not _RSA_PARAMS:
        _prepare_params()
    try:
        rsa_params = _RSA_PARAMS.get(alg)
        if rsa_params is not None:
            public.verify(signature, message, rsa_params[0], rsa_params[1])
            return True
        ec_params = _EC_PARAMS.get(alg)
        if ec_params is not None:
            ecdsa, size = ec_params
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            public.verify(encode_dss_signature(r, s), message, ecdsa)
            return True
        public.verify(signature, message)  # EdDSA
        return True
    except (InvalidSignature, ValueError):
        return False


# ROCA (CVE-2017-15361): a flawed RSA generator in widely deployed smart cards and TPMs
# built every prime as p = k * M + (65537^a mod M), with M a product of the first small
# primes. For each such prime r, p mod r, and so the modulus n mod r, then lies in the
# subgroup of (Z/rZ)* generated by 65537. A modulus from a sound generator has that
# property for all 38 odd primes up to 167 with negligible probability.
_ROCA_PRIMES: Final = (
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
    73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
)  # fmt: skip
_ROCA_SUBGROUPS: list[tuple[int, frozenset[int]]] = []


def _roca_subgroups() -> list[tuple[int, frozenset[int]]]:
    """(r, the powers of 65537 mod r) for each prime, computed on the first RSA key."""
    if not _ROCA_SUBGROUPS:
        table = []
        for r in _ROCA_PRIMES:
            generator, element, powers = 65537 % r, 1, set()
            while element not in powers:
                powers.add(element)
                element = element * generator % r
            table.append((r, frozenset(powers)))
        _ROCA_SUBGROUPS[:] = table
    return _ROCA_SUBGROUPS


def has_roca_fingerprint(modulus: int) -> bool:
    """True when an RSA ``modulus`` has the structure of the ROCA-vulnerable generator
    (CVE-2017-15361); tokensmith refuses such keys on every way in
    (:class:`~tokensmith.errors.WeakKey`)."""
    return all(modulus % r in powers for r, powers in _roca_subgroups())


# cryptography's refusal to build an RSA key from an even exponent or one below 3 (its message
# since 3.x: "e must be odd." / "e must be >= 3 and < n."); pinned by tests/attacks
_REFUSED_EXPONENT: Final = "e must be "
_EXPONENT_MESSAGE: Final = (
    "this RSA public exponent is not odd, or is below 3 or above 2**32; such a key is unsafe "
    "or needlessly slow to verify (keys are generated with e = 65537)"
)


def _check_rsa_exponent(e: int) -> None:
    """Refuse an even ``e``, ``e = 1`` and ``e`` above 2**32 (a huge ``e`` makes every
    verification slow: a 3071-bit one costs milliseconds per token)."""
    if e < 3 or e % 2 == 0 or e > _RSA_MAX_EXPONENT:
        raise WeakKey(_EXPONENT_MESSAGE)


def _check_jwk_exponent(member: object) -> None:
    """Check a JWK's ``e`` before the key is built: cryptography refuses an even or tiny
    exponent with a bare ``ValueError``, which would hide why the key is refused. A member
    that is not strict base64url is left to the parser, which refuses it."""
    if not isinstance(member, str):
        return
    try:
        raw = b64url_decode(member)
    except ValueError:
        return
    _check_rsa_exponent(int.from_bytes(raw, "big"))


def _check_rsa(public: rsa.RSAPublicKey) -> None:
    """The RSA strength floor: modulus size, public exponent and the ROCA fingerprint."""
    if public.key_size < _RSA_MIN_BITS:
        raise WeakKey(f"RSA keys must be at least {_RSA_MIN_BITS} bits")
    numbers = public.public_numbers()
    _check_rsa_exponent(numbers.e)
    if has_roca_fingerprint(numbers.n):
        raise WeakKey(
            "this RSA modulus has the ROCA fingerprint (CVE-2017-15361): it came from a "
            "flawed key generator and can be factored; generate a new key"
        )


def _check_material(alg: str, material: Any) -> bool:
    """Enforce the type and strength floor for ``alg``; return whether the key is private."""
    if alg in SYMMETRIC_ALGORITHMS:
        if not isinstance(material, bytes):
            raise InvalidKey(f"{alg} needs a secret of bytes")
        minimum = _HMAC_MIN_BYTES[alg]
        if len(material) < minimum:
            raise WeakKey(f"{alg} secrets must be at least {minimum * 8} bits")
        if material.lstrip().startswith(_PEM_MARKERS) or _is_published_key_form(material):
            raise InvalidKey("that HMAC secret looks like a PEM, DER, SSH or JWK key; refusing it")
        return True
    family = alg[:2]
    if family in ("RS", "PS"):
        if isinstance(material, rsa.RSAPrivateKey):
            private = True
        elif isinstance(material, rsa.RSAPublicKey):
            private = False
        else:
            raise InvalidKey(f"{alg} needs an RSA key")
        _check_rsa(material.public_key() if private else material)
        return private
    if family == "ES":
        if isinstance(material, ec.EllipticCurvePrivateKey):
            private = True
        elif isinstance(material, ec.EllipticCurvePublicKey):
            private = False
        else:
            raise InvalidKey(f"{alg} needs an EC key")
        if not isinstance(material.curve, _EC_CURVES[alg]):
            raise InvalidKey(f"{alg} requires curve {_EC_CRV_NAMES[alg]}")
        return private
    if isinstance(material, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return True
    if isinstance(material, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return False
    raise InvalidKey("EdDSA needs an Ed25519 or Ed448 key")
