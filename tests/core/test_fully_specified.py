"""RFC 9864's fully-specified ``Ed25519`` and ``Ed448`` beside RFC 8037's polymorphic ``EdDSA``.

Each is its own algorithm: a key bound to one never verifies a token whose header names
another, even on the same curve (the header picks a key, never what the key is for). Proven
against independent code: ``cryptography``'s raw Ed25519/Ed448 calls and the stdlib's base64
(tests/support/forge.py) for the fully-specified names, PyJWT (which knows only ``EdDSA``) for
the polymorphic one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from tests.support.forge import (
    AUDIENCE,
    ISSUER,
    NOW,
    b64,
    claims,
    header_for,
    segment,
    signed,
    unb64,
)
from tests.support.jwks_server import JWKSServer
from tokensmith import (
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    InvalidKey,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    SkippedKey,
    UnknownKey,
    Validator,
    cli,
)
from tokensmith.jwks import RemoteJWKS
from tokensmith.oauth import IDTokenValidator, token_hash
from tokensmith.testing import FakeClock

CURVES: dict[str, Any] = {"Ed25519": ed25519.Ed25519PublicKey, "Ed448": ed448.Ed448PublicKey}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(float(NOW))


def _validator(*keys: Key, clock: FakeClock, **options: object) -> Validator:
    store = MemoryKeyStore(KeySet([k.public_key() for k in keys]), clock=clock)
    return Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ["Ed25519", "Ed448"])
def test_a_fully_specified_token_verifies_with_the_raw_curve_call(alg: str) -> None:
    key = Key.generate(alg)
    token = Signer(MemoryKeyStore(KeySet([key])), issuer=ISSUER).issue("u", audience=AUDIENCE)
    header, payload, signature = token.split(".")
    assert json.loads(unb64(header))["alg"] == alg
    raw = CURVES[alg].from_public_bytes(unb64(key.to_jwk()["x"]))
    raw.verify(unb64(signature), f"{header}.{payload}".encode("ascii"))  # raises if not
    with pytest.raises(InvalidSignature):
        raw.verify(unb64(signature), f"{header}.{payload}x".encode("ascii"))


@pytest.mark.parametrize("alg", ["Ed25519", "Ed448"])
def test_a_token_signed_outside_tokensmith_validates(alg: str, clock: FakeClock) -> None:
    private: Any = {"Ed25519": ed25519.Ed25519PrivateKey, "Ed448": ed448.Ed448PrivateKey}[alg]
    material = private.generate()
    pem = material.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = Key.from_pem(pem, alg, kid="outside")
    header = {"alg": alg, "kid": "outside", "typ": "JWT"}
    signing_input = f"{segment(header)}.{segment(claims())}"
    token = f"{signing_input}.{b64(material.sign(signing_input.encode('ascii')))}"
    assert _validator(key, clock=clock).validate(token).algorithm == alg


def test_a_pyjwt_eddsa_token_validates() -> None:
    material = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 60},
        material,
        algorithm="EdDSA",
        headers={"kid": "k"},
    )
    public = material.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    eddsa = Key.from_pem(public, "EdDSA", kid="k")
    store = MemoryKeyStore(KeySet([eddsa]))
    assert Validator(store, issuer=ISSUER, audience=AUDIENCE).validate(token).algorithm == "EdDSA"
    # the same public key bound to Ed25519 does not take PyJWT's EdDSA header
    bound = MemoryKeyStore(KeySet([Key.from_pem(public, "Ed25519", kid="k")]))
    with pytest.raises(AlgorithmMismatch) as refused:
        Validator(bound, issuer=ISSUER, audience=AUDIENCE).validate(token)
    assert type(refused.value) is AlgorithmMismatch


@pytest.mark.parametrize(
    ("bound", "header_alg"),
    [("EdDSA", "Ed25519"), ("Ed25519", "EdDSA"), ("EdDSA", "Ed448"), ("Ed448", "EdDSA")],
)
def test_a_key_never_verifies_the_other_name_of_its_curve(
    bound: str, header_alg: str, clock: FakeClock
) -> None:
    curve = header_alg if header_alg != "EdDSA" else bound
    key = Key.generate(bound, kid="ed", curve=curve if bound == "EdDSA" else None)
    validator = _validator(key, clock=clock)
    assert validator.validate(signed(header_for(key), claims(), key)).algorithm == bound
    with pytest.raises(AlgorithmMismatch) as mismatch:  # same key, same signature, other name
        validator.validate(signed(header_for(key, alg=header_alg), claims(), key))
    assert type(mismatch.value) is AlgorithmMismatch
    with pytest.raises(UnknownKey) as unknown:  # without a kid: no key is bound to that alg
        validator.validate(signed(header_for(key, alg=header_alg, kid=None), claims(), key))
    assert type(unknown.value) is UnknownKey


def test_the_allow_list_tells_the_names_apart(clock: FakeClock) -> None:
    eddsa = Key.generate("EdDSA", kid="old")
    ed25519_key = Key.generate("Ed25519", kid="new")
    validator = _validator(eddsa, ed25519_key, clock=clock, algorithms=["Ed25519"])
    assert validator.validate(signed(header_for(ed25519_key), claims(), ed25519_key))
    with pytest.raises(AlgorithmNotAllowed) as refused:
        validator.validate(signed(header_for(eddsa), claims(), eddsa))
    assert type(refused.value) is AlgorithmNotAllowed


def test_one_key_may_be_published_under_both_names_with_two_kids(clock: FakeClock) -> None:
    """The migration from ``EdDSA`` to ``Ed25519`` without a new key: two bindings, two kids."""
    old = Key.generate("EdDSA", kid="ed-eddsa")
    new = Key.from_jwk(old.to_jwk(private=True) | {"alg": "Ed25519", "kid": "ed-25519"})
    assert old.thumbprint() == new.thumbprint()
    validator = _validator(old, new, clock=clock)
    for key in (old, new):
        assert validator.validate(signed(header_for(key), claims(), key)).key_id == key.kid


def test_a_jwk_must_be_on_its_algorithms_curve() -> None:
    ed448_jwk = Key.generate("Ed448").to_jwk()
    for jwk in (ed448_jwk | {"alg": "Ed25519"}, {**ed448_jwk, "alg": None}):
        with pytest.raises(InvalidKey) as refused:
            Key.from_jwk({m: v for m, v in jwk.items() if v is not None}, alg="Ed25519")
        assert type(refused.value) is InvalidKey


def test_an_okp_jwk_without_alg_needs_a_default_and_the_default_fixes_the_curve() -> None:
    ed25519_key, ed448_key = Key.generate("Ed25519", kid="a"), Key.generate("Ed448", kid="b")
    bare = {
        "keys": [
            {m: v for m, v in k.to_jwk().items() if m != "alg"} for k in (ed25519_key, ed448_key)
        ]
    }
    with pytest.raises(InvalidKey, match="no 'alg' member") as missing:
        KeySet.from_jwks(bare)
    assert type(missing.value) is InvalidKey
    with pytest.raises(InvalidKey, match="key #1") as strict:
        KeySet.from_jwks(bare, default_algorithms={"OKP": "Ed25519"})
    assert type(strict.value) is InvalidKey
    skipped: list[SkippedKey] = []
    lenient = KeySet.from_jwks(
        bare, strict=False, default_algorithms={"OKP": "Ed25519"}, on_skip=skipped.append
    )
    assert [k.alg for k in lenient] == ["Ed25519"]
    assert [s.kid for s in skipped] == ["b"]
    both = KeySet.from_jwks(bare, default_algorithms={"OKP": "EdDSA"})  # EdDSA takes either
    assert sorted(k.alg for k in both) == ["EdDSA", "EdDSA"]


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


def test_a_remote_jwks_publishes_and_serves_each_name(server: JWKSServer, clock: FakeClock) -> None:
    keys = [
        Key.generate("Ed25519", kid="a"),
        Key.generate("Ed448", kid="b"),
        Key.generate("EdDSA", kid="c"),
    ]
    server.serve_json("/jwks.json", KeySet([k.public_key() for k in keys]).jwks(float(NOW)))
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2.0)
    validator = Validator(remote, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    for key in keys:
        assert validator.validate(signed(header_for(key), claims(), key)).algorithm == key.alg
    with pytest.raises(AlgorithmMismatch) as refused:
        validator.validate(signed(header_for(keys[0], alg="EdDSA"), claims(), keys[0]))
    assert type(refused.value) is AlgorithmMismatch


def test_the_cli_makes_inspects_and_verifies_ed448_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "keys"
    assert cli.main(["keys", "init", str(directory), "--alg", "Ed448"]) == 0
    common = ["--keys", str(directory), "--iss", ISSUER, "--aud", AUDIENCE]
    capsys.readouterr()
    assert cli.main(["issue", *common, "--sub", "u"]) == 0
    token = capsys.readouterr().out.strip()
    assert cli.main(["inspect", token]) == 0
    assert json.loads(capsys.readouterr().out)["header"]["alg"] == "Ed448"
    assert cli.main(["verify", token, *common]) == 0
    assert json.loads(capsys.readouterr().out)["sub"] == "u"
    assert cli.main(["jwks", str(directory)]) == 0
    assert {k["alg"] for k in json.loads(capsys.readouterr().out)["keys"]} == {"Ed448"}


def test_an_ed25519_id_token_hashes_with_sha512(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet([Key.generate("Ed25519")]), clock=clock)
    signer = Signer(store, issuer=ISSUER, clock=clock)
    at_hash = token_hash("access", "Ed25519")
    assert at_hash == token_hash("access", "EdDSA", curve="Ed25519")
    token = signer.issue("u", audience="client", claims={"at_hash": at_hash})
    validator = IDTokenValidator(store, issuer=ISSUER, client_id="client", clock=clock)
    assert validator.validate(token, access_token="access").subject == "u"
