"""Algorithm confusion: an HMAC token keyed with the victim's *public* key (CVE-2015-9235,
CVE-2016-10555, CVE-2017-11424, CVE-2022-29217, CVE-2023-48223, CVE-2024-33663, and the JWK
form). Keys are bound to one algorithm, so the header's ``alg`` can only pick a key.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from tests.attacks._assert import refused
from tests.attacks.conftest import validator_for
from tests.support.forge import claims, header_for, hmac_forged, signed
from tokensmith import (
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    InvalidKey,
    InvalidSignature,
    Key,
    KeySet,
    UnknownKey,
)
from tokensmith.testing import FakeClock

HMACS = [("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")]


def public_forms(key: Key) -> dict[str, bytes]:
    """Every way an attacker may serialise the victim's public key as HMAC secret bytes."""
    public = key.public_key()._verifier
    spki_pem = key.to_pem()
    forms = {
        "pem-spki": spki_pem,
        "pem-spki-leading-whitespace": b"\n  " + spki_pem,
        "pem-spki-no-newline": spki_pem.rstrip(b"\n"),
        "der-spki": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-json": json.dumps(key.to_jwk()).encode(),
        "jwk-json-compact": json.dumps(key.to_jwk(), separators=(",", ":")).encode(),
        "jwks-json": json.dumps({"keys": [key.to_jwk()]}).encode(),
    }
    if key.alg.startswith("RS"):
        pkcs1 = serialization.PublicFormat.PKCS1
        forms["pem-pkcs1"] = public.public_bytes(serialization.Encoding.PEM, pkcs1)
        forms["der-pkcs1"] = public.public_bytes(serialization.Encoding.DER, pkcs1)
    else:
        forms["x962-uncompressed"] = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        forms["x962-compressed"] = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
    return forms


@pytest.fixture(params=["rsa", "ec"])
def victim(request: pytest.FixtureRequest, rsa_key: Key, ec_keys: dict[str, Key]) -> Key:
    return rsa_key if request.param == "rsa" else ec_keys["ES256"]


@pytest.mark.parametrize(("alg", "digest"), HMACS)
def test_hmac_keyed_with_public_key_with_its_kid(
    victim: Key, alg: str, digest: str, clock: FakeClock
) -> None:
    validator = validator_for(victim, clock=clock)
    for name, secret in public_forms(victim).items():
        for as_text in (False, True):  # bytes, and bytes of the str an attacker may copy
            material = secret.decode("latin-1").encode("utf-8") if as_text else secret
            token = hmac_forged(header_for(victim, alg=alg), claims(), material, digest)
            error = refused(validator, token, AlgorithmMismatch)
            assert name not in str(error)


@pytest.mark.parametrize(("alg", "digest"), HMACS)
def test_hmac_keyed_with_public_key_without_kid(
    victim: Key, alg: str, digest: str, clock: FakeClock
) -> None:
    validator = validator_for(victim, clock=clock)
    for secret in public_forms(victim).values():
        token = hmac_forged({"alg": alg, "typ": "JWT"}, claims(), secret, digest)
        refused(validator, token, UnknownKey)  # no key is bound to HS*


def test_hmac_keyed_with_public_key_when_the_policy_pins_the_alg(
    victim: Key, clock: FakeClock
) -> None:
    validator = validator_for(victim, clock=clock, algorithms=[victim.alg])
    for secret in public_forms(victim).values():
        refused(
            validator,
            hmac_forged(header_for(victim, alg="HS256"), claims(), secret),
            AlgorithmNotAllowed,
        )


def test_hmac_keyed_with_public_key_against_a_mixed_set(
    victim: Key, hs_key: Key, clock: FakeClock
) -> None:
    # The set also holds a genuine HS256 key: without a kid it is the only HS256 candidate,
    # and the attacker's "secret" (the public key) does not match it.
    validator = validator_for(victim, hs_key, clock=clock)
    for secret in public_forms(victim).values():
        token = hmac_forged({"alg": "HS256", "typ": "JWT"}, claims(), secret)
        refused(validator, token, InvalidSignature)
        token = hmac_forged(header_for(hs_key), claims(), secret)
        refused(validator, token, InvalidSignature)


def test_public_key_forms_are_never_accepted_as_hmac_secrets(victim: Key) -> None:
    # Defence in depth: even an application that builds the HMAC key itself cannot turn a
    # public key (PEM, DER, OpenSSH or JWK form) into an HMAC secret.
    # Raw X9.62 points are not checked: a compressed point is indistinguishable from random
    # bytes (refusing them would refuse ~1/256 of random 33-byte secrets). The token-level
    # tests above show they cannot be used against a validator anyway.
    for name, secret in public_forms(victim).items():
        if name.startswith("x962"):
            continue
        with pytest.raises(InvalidKey) as info:
            Key.from_secret(secret, "HS256")
        assert type(info.value) is InvalidKey, name


def test_asymmetric_key_never_verifies_another_algorithm(
    rsa_key: Key, ec_keys: dict[str, Key], clock: FakeClock
) -> None:
    # RS256 key, token signed with the same RSA key under RS384 / RS512 / PS256: kid names
    # a key bound to RS256, so the header cannot re-purpose it.
    validator = validator_for(rsa_key, clock=clock)
    for alg in ("RS384", "RS512", "PS256", "PS384", "PS512"):
        same_material = Key.from_pem(rsa_key.to_pem(private=True), alg, kid=rsa_key.kid)
        token = signed(header_for(same_material), claims(), same_material)
        refused(validator, token, AlgorithmMismatch)
    es256 = ec_keys["ES256"]
    validator = validator_for(es256, clock=clock)
    for alg in ("ES384", "ES512", "EdDSA", "RS256"):
        refused(validator, signed(header_for(es256, alg=alg), claims(), es256), AlgorithmMismatch)


def test_two_keys_of_one_family_never_share_a_kid() -> None:
    a = Key.generate("ES256", kid="same")
    b = Key.generate("ES256", kid="same")
    with pytest.raises(InvalidKey) as info:
        KeySet([a, b])
    assert type(info.value) is InvalidKey
