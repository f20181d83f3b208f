"""Key material sealed at rest: AES-256-GCM under keys derived from a passphrase or a KEK.

* :class:`PassphraseSealing` (the file store): scrypt, with a 16-byte salt and parameters
  recorded in the manifest, derives an AES-256-GCM key and a check key. The check value
  (HMAC-SHA256 of a label under the check key) tells a wrong passphrase from tampering.
* :class:`KekSealing` (the Redis store): HKDF-SHA256 derives, from a 32-byte key-encryption key,
  an AES-256-GCM key, a check key and a MAC key; the whole document carries an HMAC-SHA256
  bound to the store it belongs to.

What is sealed and what associated data binds it is the documents' business
(:mod:`._manifest`); everything here answers ``None`` for what does not open, never a crypto
exception. Canonical JSON (sorted members, no spaces) is what gets authenticated.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .._b64 import b64url_decode, b64url_encode

__all__ = [
    "NONCE_BYTES",
    "KekSealing",
    "PassphraseSealing",
    "ScryptParameters",
    "Sealed",
    "b64_member",
    "canonical",
    "is_int",
    "sealed_member",
]

NONCE_BYTES: Final = 12
_SALT_BYTES: Final = 16
_SCRYPT_N: Final = 2**15  # 32 MiB with r = 8: ~0.1 s once per process, not per key
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_SCRYPT_N_RANGE: Final = (2**14, 2**18)  # bounds accepted on read (a tampered n is no DoS)
_KDF_CIPHER: Final = ("scrypt", "A256GCM")
_PASSPHRASE_CHECK: Final = b"tokensmith keystore passphrase check v1"
_KEK_CHECK: Final = b"tokensmith redis keystore kek check v1"
_HKDF_INFO: Final = b"tokensmith redis keystore v1"
_MAC_LABEL: Final = b"tokensmith redis keystore document v2"

Sealed = tuple[bytes, bytes]
"""A nonce and the ciphertext (with its tag) sealed under it."""


def canonical(value: object) -> bytes:
    """The one JSON form that is authenticated: sorted members, no whitespace, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def b64_member(container: object, name: str) -> bytes | None:
    """The base64url member ``name`` of a JSON object, or ``None`` if absent or malformed."""
    value = container.get(name) if isinstance(container, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return b64url_decode(value)
    except ValueError:
        return None


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (``True`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def sealed_member(container: object, ciphertext: str) -> Sealed | None:
    """The ``nonce`` and ``ciphertext`` members of a sealed object; ``None`` if malformed."""
    nonce, sealed = b64_member(container, "nonce"), b64_member(container, ciphertext)
    if nonce is None or sealed is None or len(nonce) != NONCE_BYTES:
        return None
    return nonce, sealed


def _seal(aead: AESGCM, plaintext: bytes, associated: bytes) -> Sealed:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, aead.encrypt(nonce, plaintext, associated)


def _unseal(aead: AESGCM, sealed: Sealed, associated: bytes) -> bytes | None:
    try:
        return aead.decrypt(sealed[0], sealed[1], associated)
    except (InvalidTag, ValueError):
        return None


class ScryptParameters(NamedTuple):
    """What a file manifest records of its passphrase: the scrypt salt and costs, the check."""

    salt: bytes
    n: int
    r: int
    p: int
    check: bytes

    def document(self) -> dict[str, Any]:
        """The manifest's ``encryption`` member."""
        return {
            "kdf": "scrypt",
            "salt": b64url_encode(self.salt),
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "check": b64url_encode(self.check),
            "cipher": "A256GCM",
        }

    @classmethod
    def from_document(cls, raw: object) -> ScryptParameters | None:
        """The parameters of an ``encryption`` member; ``None`` for anything out of bounds."""
        if (
            not isinstance(raw, dict)
            or raw.get("kdf") != "scrypt"
            or raw.get("cipher") != "A256GCM"
        ):
            return None
        n, r, p = raw.get("n"), raw.get("r"), raw.get("p")
        if not (
            is_int(n)
            and _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1]
            and n & (n - 1) == 0
            and is_int(r)
            and 1 <= r <= 16
            and is_int(p)
            and 1 <= p <= 4
        ):
            return None
        salt, check = b64_member(raw, "salt"), b64_member(raw, "check")
        if salt is None or check is None or len(salt) != _SALT_BYTES or len(check) != 32:
            return None
        return cls(salt, n, r, p, check)


class PassphraseSealing:
    """Seals a file manifest's key list under a passphrase; scrypt runs once per salt."""

    __slots__ = ("_derived", "_passphrase")

    def __init__(self, passphrase: bytes) -> None:
        self._passphrase = passphrase
        self._derived: tuple[ScryptParameters, AESGCM, bytes] | None = None

    def new_parameters(self) -> ScryptParameters:
        """A fresh salt at today's costs, with its check value."""
        salt = secrets.token_bytes(_SALT_BYTES)
        pending = ScryptParameters(salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, b"")
        _aead, check = self._derive(pending)
        return pending._replace(check=_checked(check, _PASSPHRASE_CHECK))

    def opens(self, parameters: ScryptParameters) -> bool:
        """True when this passphrase is the one ``parameters`` were made with."""
        _aead, check = self._derive(parameters)
        return hmac.compare_digest(_checked(check, _PASSPHRASE_CHECK), parameters.check)

    def seal(self, parameters: ScryptParameters, plaintext: bytes, associated: bytes) -> Sealed:
        """``plaintext`` sealed, ``associated`` authenticated with it."""
        aead, _check = self._derive(parameters)
        return _seal(aead, plaintext, associated)

    def unseal(
        self, parameters: ScryptParameters, sealed: Sealed, associated: bytes
    ) -> bytes | None:
        """The plaintext; ``None`` when it or ``associated`` was changed."""
        aead, _check = self._derive(parameters)
        return _unseal(aead, sealed, associated)

    def _derive(self, parameters: ScryptParameters) -> tuple[AESGCM, bytes]:
        """(AES-GCM, check key) from the passphrase, cached for the last salt and costs."""
        params = parameters._replace(check=b"")
        cached = self._derived
        if cached is not None and cached[0] == params:
            return cached[1], cached[2]
        material = Scrypt(salt=params.salt, length=64, n=params.n, r=params.r, p=params.p).derive(
            self._passphrase
        )
        aead = AESGCM(material[:32])
        self._derived = (params, aead, material[32:])
        return aead, material[32:]


class KekSealing:
    """Seals a Redis document's keys under a key-encryption key and authenticates the whole
    document, bound to ``store`` (the prefix): a document copied from another store fails."""

    __slots__ = ("_aead", "_mac_key", "check", "store")

    def __init__(self, kek: bytes, store: str) -> None:
        material = HKDF(algorithm=hashes.SHA256(), length=96, salt=None, info=_HKDF_INFO).derive(
            kek
        )
        self._aead = AESGCM(material[:32])
        self.check: bytes = _checked(material[32:64], _KEK_CHECK)
        """Recorded in the document: tells a wrong KEK from tampering."""
        self._mac_key = material[64:]
        self.store = store

    def opens(self, document: Mapping[str, Any]) -> bool:
        """True when ``document`` records this KEK's check value (``kek_check``)."""
        recorded = b64_member(document, "kek_check")
        return recorded is not None and hmac.compare_digest(recorded, self.check)

    def seal(self, plaintext: bytes, associated: bytes) -> Sealed:
        """``plaintext`` sealed, ``associated`` authenticated with it."""
        return _seal(self._aead, plaintext, associated)

    def unseal(self, sealed: Sealed, associated: bytes) -> bytes | None:
        """The plaintext; ``None`` when it or ``associated`` was changed."""
        return _unseal(self._aead, sealed, associated)

    def mac(self, body: Mapping[str, Any]) -> str:
        """HMAC-SHA256 of the canonical document (without ``mac``), bound to this store."""
        signed = canonical({"store": self.store, "document": body})
        return b64url_encode(hmac.digest(self._mac_key, _MAC_LABEL + b"\0" + signed, "sha256"))

    def authentic(self, document: Mapping[str, Any]) -> bool:
        """The document's ``mac`` covers exactly what it holds (a key left out, a policy or a
        generation changed, a member added: all fail)."""
        mac = document.get("mac")
        body = {name: value for name, value in document.items() if name != "mac"}
        return isinstance(mac, str) and hmac.compare_digest(
            mac.encode("ascii", "replace"), self.mac(body).encode("ascii")
        )


def _checked(check_key: bytes, label: bytes) -> bytes:
    return hmac.digest(check_key, label, "sha256")
