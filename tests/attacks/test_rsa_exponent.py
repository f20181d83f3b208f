"""RSA public exponents: ``e`` must be odd, at least 3 and at most 2**32, on every way in.

An even ``e`` or ``e = 1`` is no RSA key at all (``e = 1`` "encrypts" to the message itself);
a huge odd ``e`` is a denial of service: verification costs grow with the exponent's length
(a 3071-bit ``e`` costs milliseconds per token). Every key that reaches tokensmith, however it
arrives, is refused with :class:`~tokensmith.WeakKey`: JWK, PEM, a JWKS document, a remote
JWKS, a key directory and the command line.
"""

from __future__ import annotations

import base64
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import tokensmith.cli as cli
from tests.support.jwks_server import JWKSServer
from tokensmith import InvalidKey, Key, KeySet, RotationPolicy, WeakKey
from tokensmith.jwks import RemoteJWKS
from tokensmith.stores.file import FileKeyStore
from tokensmith.testing import FakeClock

# even, 1, and the first odd values past the bound (2**32 + 1 is a Fermat number: still odd)
_BAD_EXPONENTS = [0, 1, 2, 4, 65536, 2**32 + 1, 2**32 + 15, 2**2000 + 1]
_GOOD_EXPONENTS = [3, 17, 65537, 2**32 - 1]
# what cryptography itself refuses to build a key object from
_UNLOADABLE = {0, 1, 2, 4, 65536}


def _name(e: int) -> str:
    return f"e={e}" if e < 2**64 else f"e=2**{e.bit_length() - 1}+1"


def _b64(number: int) -> str:
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _modulus(seed: int = 1) -> int:
    """An odd 2048-bit number: public numbers need not be a real key to be loaded."""
    return random.Random(seed).getrandbits(2048) | (1 << 2047) | 1


def _public_jwk(e: int, kid: str = "weak-e") -> dict[str, str]:
    return {"kty": "RSA", "n": _b64(_modulus()), "e": _b64(e), "alg": "RS256", "kid": kid}


# --- DER by hand: cryptography refuses to serialise a public key it refuses to build --------


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 128:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _public_pem(e: int) -> bytes:
    rsa_key = _tlv(0x30, _der_int(_modulus()) + _der_int(e))
    algorithm = _tlv(0x30, bytes.fromhex("06092a864886f70d0101010500"))  # rsaEncryption, NULL
    der = _tlv(0x30, algorithm + _tlv(0x03, b"\x00" + rsa_key))
    body = base64.encodebytes(der)
    return b"-----BEGIN PUBLIC KEY-----\n" + body + b"-----END PUBLIC KEY-----\n"


def _private_numbers_with_large_e() -> rsa.RSAPrivateNumbers:
    """A real RSA key pair whose public exponent is odd and larger than 2**32."""
    base = rsa.generate_private_key(65537, 2048).private_numbers()
    p, q = base.p, base.q
    lam = math.lcm(p - 1, q - 1)
    e = 2**32 + 1
    while math.gcd(e, lam) != 1:
        e += 2
    d = pow(e, -1, lam)
    return rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )


def _weak(call: Any) -> WeakKey:
    with pytest.raises(WeakKey) as info:
        call()
    assert type(info.value) is WeakKey
    assert "exponent" in info.value.message
    return info.value


# --- the key itself -----------------------------------------------------------------------------


def test_generated_keys_always_use_65537() -> None:
    key = Key.generate("RS256")
    assert key._verifier.public_numbers().e == 65537


@pytest.mark.parametrize("e", _BAD_EXPONENTS, ids=_name)
def test_a_public_jwk_with_a_bad_exponent_is_weak(e: int) -> None:
    _weak(lambda: Key.from_jwk(_public_jwk(e)))


@pytest.mark.parametrize("e", ["Ag==", "AQAAAAE=", "AQ+AAAE"])
def test_a_bad_exponent_in_loose_base64_is_still_weak(e: str) -> None:
    """PyJWT also decodes padded and standard-alphabet base64: the floor holds for whatever
    it builds, and an exponent cryptography refuses is WeakKey too (as from a PEM)."""
    _weak(lambda: Key.from_jwk({**_public_jwk(65537), "e": e}))


@pytest.mark.parametrize("e", [65537, None, ["AQAB"]])
def test_an_exponent_that_is_not_a_string_is_invalid(e: object) -> None:
    with pytest.raises(InvalidKey) as info:
        Key.from_jwk({**_public_jwk(65537), "e": e})
    assert type(info.value) is InvalidKey


@pytest.mark.parametrize("e", _GOOD_EXPONENTS)
def test_odd_exponents_up_to_2_32_are_accepted(e: int) -> None:
    assert Key.from_jwk(_public_jwk(e)).alg == "RS256"


def test_a_private_jwk_with_a_large_exponent_is_weak() -> None:
    from jwt.algorithms import RSAAlgorithm

    jwk = RSAAlgorithm.to_jwk(_private_numbers_with_large_e().private_key(), as_dict=True)
    _weak(lambda: Key.from_jwk({**jwk, "alg": "PS256"}))


@pytest.mark.parametrize("e", _BAD_EXPONENTS, ids=_name)
def test_a_public_pem_with_a_bad_exponent_is_weak(e: int) -> None:
    pem = _public_pem(e)
    if e not in _UNLOADABLE:
        loaded = serialization.load_pem_public_key(pem)
        assert isinstance(loaded, rsa.RSAPublicKey) and loaded.public_numbers().e == e
    _weak(lambda: Key.from_pem(pem, "RS256"))


def test_a_private_pem_with_a_large_exponent_is_weak() -> None:
    pem = (
        _private_numbers_with_large_e()
        .private_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    _weak(lambda: Key.from_pem(pem, "RS256"))


# --- documents, remote sets, directories and the command line --------------------------------


@pytest.mark.parametrize("e", [2, 2**32 + 1])
def test_a_jwks_document_with_a_bad_exponent_is_refused_naming_the_key(e: int) -> None:
    good = Key.generate("ES256", kid="good")
    document = {"keys": [good.to_jwk(), _public_jwk(e, kid="weak-e")]}
    error = _weak(lambda: KeySet.from_jwks(document))
    assert "#1" in error.message and "'weak-e'" in error.message
    skipped: list[Any] = []
    keys = KeySet.from_jwks(document, strict=False, on_skip=skipped.append)
    assert [k.kid for k in keys] == ["good"]
    assert [(s.position, s.kid) for s in skipped] == [(1, "weak-e")]
    assert skipped[0].reason.startswith("weak_key: ")


@pytest.mark.parametrize("e", [4, 2**32 + 1])
def test_a_remote_jwks_key_with_a_bad_exponent_is_skipped(e: int) -> None:
    good = Key.generate("ES256", kid="good")
    with JWKSServer() as server:
        server.serve_json("/jwks.json", {"keys": [_public_jwk(e), good.to_jwk()]})
        remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
        remote.refresh()
        assert remote.kids == {"good"}
        assert dict(remote.skipped)["weak-e"].startswith("weak_key: ")


def _tampered_directory(tmp_path: Path) -> Path:
    """A key directory whose manifest gained an RSA key with a large exponent."""
    directory = tmp_path / "keys"
    FileKeyStore(directory, policy=RotationPolicy(), clock=FakeClock())  # the first key
    manifest = directory / "keyset.json"
    document = json.loads(manifest.read_text())
    private = _private_numbers_with_large_e().private_key()
    from jwt.algorithms import RSAAlgorithm

    jwk = {**RSAAlgorithm.to_jwk(private, as_dict=True), "alg": "RS256", "kid": "big-e"}
    document["keys"].append({"jwk": jwk, "not_before": None, "retire_at": None, "not_after": None})
    manifest.write_text(json.dumps(document))
    return directory


def test_a_key_directory_holding_a_large_exponent_is_refused(tmp_path: Path) -> None:
    directory = _tampered_directory(tmp_path)
    error = _weak(lambda: FileKeyStore(directory, clock=FakeClock()))
    assert str(directory / "keyset.json") in error.message and "(entry #" in error.message


def test_the_command_line_refuses_a_key_directory_with_a_large_exponent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _tampered_directory(tmp_path)
    assert cli.main(["keys", "list", str(directory)], clock=FakeClock()) == cli.EXIT_FAILURE
    assert capsys.readouterr().err.startswith("error: weak_key: ")


def test_the_command_line_refuses_a_jwks_key_with_a_bad_exponent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [_public_jwk(2**32 + 1)]}))
    argv = ["verify", "a.b.c", "--jwks", str(jwks), "--iss", "https://a.example", "--aud", "x"]
    assert cli.main(argv, clock=FakeClock()) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "warning: skipping key #0 ('weak-e'): weak_key: " in err
    assert err.strip().splitlines()[-1].startswith("error: invalid_key: ")
