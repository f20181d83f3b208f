"""ROCA (CVE-2017-15361): RSA moduli from a flawed smart-card/TPM generator can be factored.

Their primes have the form ``p = k * M + (65537^a mod M)`` with ``M`` the product of the first
primes. A modulus built the same way (the factors need not even be prime for the fingerprint)
must be refused on every way in; moduli from a sound generator never are.
"""

from __future__ import annotations

import base64
import math
import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.jwks_server import JWKSServer
from tokensmith import Key, WeakKey
from tokensmith.jwks import RemoteJWKS
from tokensmith.keys import has_roca_fingerprint
from tokensmith.testing import FakeClock

_SMALL_PRIMES = [r for r in range(2, 168) if all(r % d for d in range(2, math.isqrt(r) + 1))]
_M = math.prod(_SMALL_PRIMES)


def _roca_like_factor(rng: random.Random, bits: int) -> int:
    """A number of ``bits`` bits with the structure of the flawed generator's primes."""
    k = rng.getrandbits(bits - _M.bit_length()) | (1 << (bits - _M.bit_length() - 1))
    return k * _M + pow(65537, rng.randrange(1, 1 << 30), _M)


def _roca_modulus(seed: int, bits: int = 2048) -> int:
    rng = random.Random(seed)
    while True:
        n = _roca_like_factor(rng, bits // 2 + 1) * _roca_like_factor(rng, bits // 2 + 1)
        if n.bit_length() >= bits:
            return n


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _roca_jwk(seed: int = 1, kid: str = "roca") -> dict[str, str]:
    return {"kty": "RSA", "n": _b64(_roca_modulus(seed)), "e": "AQAB", "alg": "RS256", "kid": kid}


@pytest.mark.parametrize("seed", range(5))
def test_the_fingerprint_finds_the_flawed_structure(seed: int) -> None:
    assert has_roca_fingerprint(_roca_modulus(seed))
    assert has_roca_fingerprint(_roca_modulus(seed, bits=4096))


@settings(max_examples=300)
@given(st.integers(min_value=2**2047, max_value=2**2048 - 1))
def test_ordinary_moduli_do_not_have_it(number: int) -> None:
    assert not has_roca_fingerprint(number | 1)


@pytest.mark.parametrize("alg", ["RS256", "PS384"])
def test_generated_rsa_keys_are_never_refused(alg: str) -> None:
    key = Key.generate(alg)
    assert not has_roca_fingerprint(key._verifier.public_numbers().n)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "RS512"])
def test_a_roca_modulus_is_refused_as_jwk(alg: str) -> None:
    with pytest.raises(WeakKey, match="ROCA"):
        Key.from_jwk({**_roca_jwk(), "alg": alg}, alg=alg)


def test_a_roca_modulus_is_refused_as_pem() -> None:
    public = rsa.RSAPublicNumbers(65537, _roca_modulus(7)).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(WeakKey, match="CVE-2017-15361"):
        Key.from_pem(pem, alg="RS256")


def test_a_roca_key_in_a_remote_jwks_is_skipped_and_reported() -> None:
    good = Key.generate("RS256", kid="good")
    with JWKSServer() as server:
        server.serve_json("/jwks.json", {"keys": [_roca_jwk(3), good.to_jwk()]})
        remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
        remote.refresh()
        assert remote.kids == {"good"}
        assert dict(remote.skipped)["roca"].startswith("weak_key: this RSA modulus has the ROCA")
