"""Keys bound to exactly one algorithm: generation, JWK/PEM import and export, thumbprints.

A :class:`Key` is the unit everything else handles. It is bound to one JWS ``alg`` when it is
created, so a token header can only *pick* a key, never change what the key is used for: an
RSA public key can never be fed to HMAC, an ES256 key never verifies ES384. Strength floors are
enforced on every way in (generation, JWK, PEM, raw secret). What each algorithm means comes
from one table (``tokensmith._algorithms``); signing and verifying call ``cryptography``
directly with objects prepared once per key. PyJWT's ``jwt.algorithms`` parse JWKs and export
private ones, imported on first use: generating a key, its thumbprint, its public JWK, signing
and verifying never load PyJWT.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Final, Literal

from ._algorithms import ALGORITHMS, Algorithm
from ._b64 import b64url_encode
from ._frozen import Frozen
from ._json import StrictJSONError
from ._json import loads as strict_json
from ._key_types import KEY_TYPES
from ._rsa import EXPONENT_MESSAGE, REFUSED_EXPONENT, check_jwk_exponent, has_roca_fingerprint
from ._signatures import Signature, signature_for
from .errors import InvalidKey, WeakKey

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "SYMMETRIC_ALGORITHMS",
    "Key",
    "has_roca_fingerprint",
]

SYMMETRIC_ALGORITHMS: Final = frozenset(n for n, row in ALGORITHMS.items() if row.kty == "oct")
"""The HMAC algorithms tokensmith supports."""

ASYMMETRIC_ALGORITHMS: Final = frozenset(ALGORITHMS) - SYMMETRIC_ALGORITHMS
"""The public-key algorithms tokensmith supports."""

SUPPORTED_ALGORITHMS: Final = frozenset(ALGORITHMS)
"""Every algorithm a :class:`Key` may be bound to. ``none`` is not, and never will be."""

_RSA_DEFAULT_BITS: Final = 2048

KeyUse = Literal["sig"]

_MISSING_ALG: Final = (
    "the JWK has no 'alg' member; pass alg=... to say which algorithm this key is for "
    "(e.g. Key.from_jwk(jwk, alg='RS256')): tokensmith never guesses an algorithm"
)


def _check_alg(alg: object) -> Algorithm:
    if alg is None:
        raise InvalidKey(f"no algorithm given; pass alg= (one of: {_alg_list()})")
    row = ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if row is None:
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
        raise InvalidKey(f"unsupported algorithm {shown!r} (supported: {_alg_list()})")
    return row


def _alg_list() -> str:
    return ", ".join(sorted(SUPPORTED_ALGORITHMS))


def _jwk_codec(kty: str) -> Any:
    """PyJWT's JWK codec class for ``kty`` (imports PyJWT on first use: ~30-60 ms)."""
    from jwt import algorithms  # noqa: PLC0415 - only JWK import and private export need it

    return getattr(algorithms, KEY_TYPES[kty].jwk_codec)


class Key(Frozen):
    """A signing or verification key bound to exactly one algorithm.

    Build one with :meth:`generate`, :meth:`from_secret`, :meth:`from_jwk` or :meth:`from_pem`;
    the constructor is not public API. Lifecycle times (seconds since the epoch, ``None`` for
    unbounded) are used by :class:`~tokensmith.KeySet`: ``not_before`` is when the key may start
    signing, ``retire_at`` when it stops signing, ``not_after`` when it stops verifying.
    """

    __slots__ = (
        "_material",
        "_signature",
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
    _signature: Signature
    is_private: bool
    not_before: float | None
    retire_at: float | None
    not_after: float | None

    def __init__(
        self,
        kid: str,
        alg: str,
        _material: Any,
        _verifier: Any,
        _signature: Signature,
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
        set_(self, "_signature", _signature)
        set_(self, "is_private", is_private)
        set_(self, "not_before", not_before)
        set_(self, "retire_at", retire_at)
        set_(self, "not_after", not_after)

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        alg: str = "ES256",
        *,
        kid: str | None = None,
        curve: str | None = None,
        rsa_bits: int = _RSA_DEFAULT_BITS,
    ) -> Key:
        """Generate a fresh private key for ``alg``.

        ``curve`` picks the curve where the algorithm allows several (``EdDSA``: ``Ed25519``,
        the default, or ``Ed448``); ``rsa_bits`` the RSA modulus size (at least 2048).
        """
        row = _check_alg(alg)
        if curve is not None and curve not in row.curves:
            allowed = " or ".join(repr(c) for c in row.curves)
            raise InvalidKey(
                f"{row.name} curve must be {allowed}" if allowed else f"{row.name} takes no curve"
            )
        material = KEY_TYPES[row.kty].generate(row, curve, rsa_bits)
        return cls._build(row, material, kid)

    @classmethod
    def from_secret(cls, secret: bytes, alg: str = "HS256", *, kid: str | None = None) -> Key:
        """An HMAC key from raw secret bytes (at least the hash size, never under 256 bits)."""
        row = _check_alg(alg)
        if row.kty != "oct":
            raise InvalidKey(f"{row.name} is not an HMAC algorithm; use from_pem or from_jwk")
        if not isinstance(secret, bytes | bytearray):
            raise InvalidKey("an HMAC secret must be bytes")
        return cls._build(row, bytes(secret), kid)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str, *, alg: str | None = None) -> Key:
        """Import a public or private JWK (RFC 7517).

        The algorithm comes from the JWK's ``alg`` member or the ``alg`` argument; when both
        are given they must agree. A key without either is refused (:class:`InvalidKey`: "the
        JWK has no 'alg' member; pass alg=... to say which algorithm this key is for"):
        tokensmith never guesses which algorithm a key is for. For a whole JWK Set, use
        :meth:`KeySet.from_jwks <tokensmith.KeySet.from_jwks>` (``default_algorithms``).
        """
        data = _jwk_object(jwk)
        jwk_alg = data.get("alg")
        if jwk_alg is not None and alg is not None and jwk_alg != alg:
            raise InvalidKey("JWK 'alg' does not match the requested algorithm")
        if jwk_alg is None and alg is None:
            raise InvalidKey(_MISSING_ALG)
        row = _check_alg(jwk_alg if jwk_alg is not None else alg)
        _check_jwk_members(data, row)
        kid = data.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise InvalidKey("JWK 'kid' must be a non-empty string")
        try:
            material = _jwk_codec(row.kty).from_jwk(data)
        except Exception as exc:  # PyJWT: InvalidKeyError, ValueError, KeyError, binascii.Error
            if isinstance(exc, ValueError) and REFUSED_EXPONENT in str(exc):
                raise WeakKey(EXPONENT_MESSAGE) from None  # as from_pem: say why
            raise InvalidKey(f"{row.name} JWK could not be parsed") from None
        return cls._build(row, material, kid)

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
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - import cost

        row = _check_alg(alg)
        if row.kty == "oct":
            raise InvalidKey("HMAC keys are raw secrets; use from_secret")
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
        material: Any
        try:
            if b"PRIVATE KEY" in data:
                material = serialization.load_pem_private_key(data, password=password)
            else:
                material = serialization.load_pem_public_key(data)
        except ValueError as exc:
            if REFUSED_EXPONENT in str(exc):  # cryptography will not build such a key object
                raise WeakKey(EXPONENT_MESSAGE) from None
            raise InvalidKey(f"PEM could not be loaded as a {row.name} key") from None
        except (TypeError, UnsupportedAlgorithm):
            raise InvalidKey(f"PEM could not be loaded as a {row.name} key") from None
        return cls._build(row, material, kid)

    @classmethod
    def _build(cls, row: Algorithm, material: Any, kid: str | None) -> Key:
        """Check strength and type, prepare the signature once, and compute the default kid."""
        is_private = KEY_TYPES[row.kty].check(row, material)
        verifier = material.public_key() if is_private and row.kty != "oct" else material
        signature = signature_for(row, material if is_private else None, verifier)
        key = cls(kid or "", row.name, material, verifier, signature, is_private)
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
            self._signature,
            self.is_private,
            not_before,
            retire_at,
            not_after,
        )

    def public_key(self) -> Key:
        """The public half (same kid, alg and lifecycle). HMAC keys have none."""
        if self.is_symmetric:
            raise InvalidKey("an HMAC key has no public half")
        if not self.is_private:
            return self
        return Key(
            self.kid,
            self.alg,
            self._verifier,
            self._verifier,
            signature_for(ALGORITHMS[self.alg], None, self._verifier),
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
        return self._signature.sign(message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid for ``message`` under this key and algorithm.

        HMAC tags are compared in constant time (:func:`hmac.compare_digest`).
        """
        return self._signature.verify(message, signature)

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
        jwk = self._private_members() if private else self._public_members()
        jwk["kid"] = self.kid
        jwk["alg"] = self.alg
        jwk["use"] = "sig"
        return jwk

    def _public_members(self) -> dict[str, Any]:
        """``kty`` and the public members (for HMAC: the secret): RFC 7638's required set."""
        kty = ALGORITHMS[self.alg].kty
        return {"kty": kty, **KEY_TYPES[kty].public_members(self._verifier)}

    def _private_members(self) -> dict[str, Any]:
        """The whole JWK, private members included (PyJWT's export)."""
        kty = ALGORITHMS[self.alg].kty
        members: dict[str, Any] = dict(_jwk_codec(kty).to_jwk(self._material, as_dict=True))
        members.pop("key_ops", None)
        return members

    def to_pem(self, *, private: bool = False, password: bytes | None = None) -> bytes:
        """Export as PEM: SubjectPublicKeyInfo, or PKCS#8 (encrypted when ``password`` is given)."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - import cost

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
        canonical = json.dumps(self._public_members(), separators=(",", ":"), sort_keys=True)
        return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())

    def __repr__(self) -> str:
        kind = "secret" if self.is_symmetric else ("private" if self.is_private else "public")
        return f"Key(kid={self.kid!r}, alg={self.alg!r}, {kind})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Key objects are not picklable; export them explicitly")


def _jwk_object(jwk: object) -> dict[str, Any]:
    """A JWK given as a mapping or as strict JSON text, as a plain dict."""
    if isinstance(jwk, str):
        try:
            parsed = strict_json(jwk)
        except StrictJSONError as exc:
            raise InvalidKey(f"JWK is not strict JSON: {exc}") from None
    else:
        parsed = jwk
    if not isinstance(parsed, Mapping):
        raise InvalidKey("JWK must be a JSON object")
    return dict(parsed)


def _check_jwk_members(data: dict[str, Any], row: Algorithm) -> None:
    """``use``, ``key_ops``, ``kty`` and ``crv`` must fit a signing key of ``row`` (RFC 7517
    §4.2-4.3); an RSA exponent or an empty HMAC secret is refused before PyJWT sees it."""
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
    if data.get("kty") != row.kty:
        raise InvalidKey(f"JWK 'kty' does not fit {row.name}")
    if row.curves and data.get("crv") not in row.curves:
        raise InvalidKey(f"{row.name} requires curve {' or '.join(row.curves)}")
    if row.kty == "RSA":
        check_jwk_exponent(data.get("e"))
    if row.kty == "oct" and data.get("k") == "":  # PyJWT's answer varies by version: decide here
        raise InvalidKey("the JWK's secret 'k' is empty")
