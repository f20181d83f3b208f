"""ECDSA signatures with r or s out of range (CVE-2022-21449, "psychic signatures"), and
malformed ECDSA/EdDSA signature encodings. All must fail verification, never crash."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.attacks._assert import refused, validated
from tests.attacks.conftest import validator_for
from tests.support.forge import (
    COORDINATE_BYTES,
    CURVE_ORDERS,
    claims,
    compact,
    ecdsa_raw,
    header_for,
    segment,
    signed,
)
from tokensmith import InvalidSignature, Key
from tokensmith.testing import FakeClock

ALGS = ["ES256", "ES384", "ES512"]


def out_of_range_pairs(alg: str) -> dict[str, tuple[int, int]]:
    n = CURVE_ORDERS[alg]
    return {
        "r=s=0": (0, 0),
        "r=0,s=1": (0, 1),
        "r=1,s=0": (1, 0),
        "r=0,s=n-1": (0, n - 1),
        "r=n,s=n": (n, n),
        "r=n,s=1": (n, 1),
        "r=1,s=n": (1, n),
        "r=n+1,s=1": (n + 1, 1),
        "r=1,s=n+1": (1, n + 1),
        "r=s=2^bits-1": ((1 << (8 * COORDINATE_BYTES[alg])) - 1,) * 2,
    }


@pytest.mark.parametrize("alg", ALGS)
def test_r_or_s_zero_or_not_below_n(alg: str, ec_keys: dict[str, Key], clock: FakeClock) -> None:
    key = ec_keys[alg]
    validator = validator_for(key, clock=clock)
    for header in (header_for(key), {"alg": alg, "typ": "JWT"}):
        for r, s in out_of_range_pairs(alg).values():
            refused(validator, compact(header, claims(), ecdsa_raw(alg, r, s)), InvalidSignature)


@pytest.mark.parametrize("alg", ALGS)
def test_valid_signature_plus_n_is_refused(
    alg: str, ec_keys: dict[str, Key], clock: FakeClock
) -> None:
    # (r + n, s) and (r, s + n) are congruent to a valid signature: a verifier that reduces
    # mod n before range-checking would accept them. Also -s mod n (malleability) is a
    # different, valid ECDSA signature and is *not* a forgery; it is not asserted here.
    key = ec_keys[alg]
    validator = validator_for(key, clock=clock)
    header = header_for(key)
    signing_input = f"{segment(header)}.{segment(claims())}".encode("ascii")
    der = key._material.sign(signing_input, ec.ECDSA(_hash(alg)))
    r, s = decode_dss_signature(der)
    n = CURVE_ORDERS[alg]
    assert validated(validator, compact(header, claims(), ecdsa_raw(alg, r, s))).subject
    refused(validator, compact(header, claims(), ecdsa_raw(alg, r + n, s)), InvalidSignature)
    refused(validator, compact(header, claims(), ecdsa_raw(alg, r, s + n)), InvalidSignature)


@pytest.mark.parametrize("alg", ALGS)
def test_wrong_length_and_der_encodings(
    alg: str, ec_keys: dict[str, Key], clock: FakeClock
) -> None:
    key = ec_keys[alg]
    validator = validator_for(key, clock=clock)
    header = header_for(key)
    signing_input = f"{segment(header)}.{segment(claims())}".encode("ascii")
    der = key._material.sign(signing_input, ec.ECDSA(_hash(alg)))
    good = signed(header, claims(), key)
    raw = _sig(good)
    width = COORDINATE_BYTES[alg]
    for bad in (
        der,  # ASN.1 DER instead of the JWS fixed-width form
        raw + b"\x00",
        b"\x00" + raw,
        raw[:-1],
        raw[:width],
        raw + raw,
        b"\x00" * (2 * width),
        b"\x00",
    ):
        refused(validator, compact(header, claims(), bad), InvalidSignature)


def test_eddsa_malformed_signatures(ed_key: Key, clock: FakeClock) -> None:
    validator = validator_for(ed_key, clock=clock)
    header = header_for(ed_key)
    raw = _sig(signed(header, claims(), ed_key))
    ell = 2**252 + 27742317777372353535851937790883648493
    s_plus_l = (int.from_bytes(raw[32:], "little") + ell) % 2**256
    for bad in (
        b"\x00" * 64,
        raw[:63],
        raw + b"\x00",
        raw[:32] + s_plus_l.to_bytes(32, "little"),  # non-canonical S (>= L)
        b"\xff" * 64,
    ):
        refused(validator, compact(header, claims(), bad), InvalidSignature)


def _hash(alg: str) -> hashes.HashAlgorithm:
    return {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]


def _sig(token: str) -> bytes:
    from tests.support.forge import unb64

    return unb64(token.rsplit(".", 1)[1])
