"""The algorithm table is the one place that says what an algorithm is.

Every row is exercised through every reader (generate, sign, verify, JWK export and import,
thumbprint, PEM, the JWKS families, the OIDC hash); the public members computed from the key's
numbers agree with PyJWT's export; and RFC 9864's fully-specified ``Ed25519`` and ``Ed448``
are one row each: with them every reader works, a copy of the package without them knows
neither.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import algorithms as pyjwt

from tests.support import ROOT
from tokensmith import (
    SUPPORTED_ALGORITHMS,
    InvalidKey,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
)
from tokensmith._algorithms import ALGORITHMS, EC_CURVES, EDWARDS_CURVES, kty_of
from tokensmith._b64 import b64url_encode
from tokensmith.errors import ConfigurationError
from tokensmith.jwks.document import JWKSRules
from tokensmith.keys import ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS
from tokensmith.oauth import token_hash

# every (alg, crv) pair of the table: one key of each
ROWS = [(name, crv) for name, row in ALGORITHMS.items() for crv in row.curves or (None,)]
_CODECS = {
    "oct": "HMACAlgorithm",
    "RSA": "RSAAlgorithm",
    "EC": "ECAlgorithm",
    "OKP": "OKPAlgorithm",
}


@pytest.fixture(scope="module")
def keys() -> dict[tuple[str, str | None], Key]:
    return {(alg, crv): Key.generate(alg, curve=crv) for alg, crv in ROWS}


def test_the_public_sets_are_the_table() -> None:
    assert frozenset(ALGORITHMS) == SUPPORTED_ALGORITHMS
    assert {n for n, row in ALGORITHMS.items() if row.kty == "oct"} == SYMMETRIC_ALGORITHMS
    assert ASYMMETRIC_ALGORITHMS == SUPPORTED_ALGORITHMS - SYMMETRIC_ALGORITHMS
    assert "none" not in ALGORITHMS
    for row in ALGORITHMS.values():
        assert all(c in EC_CURVES or c in EDWARDS_CURVES for c in row.curves), row
        assert (row.hash is None) == (row.kty == "OKP"), row  # only EdDSA leaves it to the curve
    assert ALGORITHMS["Ed25519"].curves == ("Ed25519",)  # RFC 9864 §2.2: one curve each
    assert ALGORITHMS["Ed448"].curves == ("Ed448",)


@pytest.mark.parametrize(("alg", "crv"), ROWS)
def test_every_row_signs_verifies_and_round_trips(
    keys: dict[tuple[str, str | None], Key], alg: str, crv: str | None
) -> None:
    key = keys[alg, crv]
    row = ALGORITHMS[alg]
    signature = key.sign(b"message")
    assert key.verify(b"message", signature) and not key.verify(b"messagE", signature)
    private = key.to_jwk(private=True)
    assert private["kty"] == row.kty and private.get("crv") == crv and private["alg"] == alg
    again = Key.from_jwk(private)
    assert (again.kid, again.alg, again.can_sign) == (key.kid, alg, True)
    assert key.verify(b"m", again.sign(b"m"))
    if row.kty == "oct":
        return
    public = Key.from_jwk(key.to_jwk())
    assert (public.kid, public.can_sign) == (key.kid, False)
    assert public.verify(b"message", signature)
    assert Key.from_pem(key.to_pem(), alg).kid == key.kid
    assert JWKSRules(default_algorithms={row.kty: alg}).default_algorithms == {row.kty: alg}


@pytest.mark.parametrize(("alg", "crv"), ROWS)
def test_public_members_are_pyjwts_and_the_thumbprint_hashes_them(
    keys: dict[tuple[str, str | None], Key], alg: str, crv: str | None
) -> None:
    key = keys[alg, crv]
    kty = ALGORITHMS[alg].kty
    codec = getattr(pyjwt, _CODECS[kty])
    source = key._material if kty == "oct" else key._verifier
    theirs = {m: v for m, v in codec.to_jwk(source, as_dict=True).items() if m != "key_ops"}
    ours = key.to_jwk(private=True) if kty == "oct" else key.to_jwk()
    assert {m: v for m, v in ours.items() if m not in ("kid", "alg", "use")} == theirs
    canonical = ",".join(f'"{m}":"{theirs[m]}"' for m in sorted(theirs))  # RFC 7638 §3.3
    digest = hashlib.sha256(("{" + canonical + "}").encode()).digest()
    assert key.thumbprint() == b64url_encode(digest)


@pytest.mark.parametrize(("alg", "crv"), ROWS)
def test_every_row_issues_and_validates(
    keys: dict[tuple[str, str | None], Key], alg: str, crv: str | None
) -> None:
    store = MemoryKeyStore(KeySet([keys[alg, crv]]))
    token = Signer(store, issuer="https://i.test").issue("u", audience="a")
    verified = Validator(store, issuer="https://i.test", audience="a").validate(token)
    assert verified.algorithm == alg


@pytest.mark.parametrize(
    ("alg", "crv", "hashed"),
    [
        ("HS256", None, hashlib.sha256),
        ("RS384", None, hashlib.sha384),
        ("PS512", None, hashlib.sha512),
        ("ES256", None, hashlib.sha256),
        ("ES512", None, hashlib.sha512),
        ("EdDSA", None, hashlib.sha512),
        ("EdDSA", "Ed25519", hashlib.sha512),
        ("Ed25519", None, hashlib.sha512),
        ("Ed25519", "Ed25519", hashlib.sha512),
    ],
)
def test_the_oidc_hash_is_the_tables(alg: str, crv: str | None, hashed: object) -> None:
    digest = hashed(b"access-token").digest()  # type: ignore[operator]
    assert token_hash("access-token", alg, curve=crv) == b64url_encode(digest[: len(digest) // 2])


def test_the_oidc_hash_of_ed448_is_shake256_of_114_bytes() -> None:
    digest = hashlib.shake_256(b"code").digest(114)
    assert token_hash("code", "EdDSA", curve="Ed448") == b64url_encode(digest[:57])
    assert token_hash("code", "Ed448") == b64url_encode(digest[:57])


@pytest.mark.parametrize(
    ("alg", "curve"),
    [("EdDSA", "X25519"), ("EdDSA", "P-256"), ("Ed25519", "Ed448"), ("Ed448", "Ed25519")],
)
def test_a_curve_the_algorithm_does_not_use_is_refused(alg: str, curve: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        token_hash("x", alg, curve=curve)
    assert type(caught.value) is ConfigurationError
    with pytest.raises(InvalidKey) as refused:
        Key.generate(alg, curve=curve)
    assert type(refused.value) is InvalidKey


@pytest.mark.parametrize(("alg", "curve"), [("ES256", "P-384"), ("HS256", "Ed25519")])
def test_generate_refuses_a_curve_instead_of_ignoring_it(alg: str, curve: str) -> None:
    with pytest.raises(InvalidKey) as refused:
        Key.generate(alg, curve=curve)
    assert type(refused.value) is InvalidKey


def test_a_key_on_a_curve_outside_the_table_is_refused() -> None:
    secp256k1 = ec.generate_private_key(ec.SECP256K1())
    pem = secp256k1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey, match="ES256 requires curve P-256") as refused:
        Key.from_pem(pem, "ES256")
    assert type(refused.value) is InvalidKey


def test_an_encrypted_pem_without_its_password_is_refused() -> None:
    pem = Key.generate("ES256").to_pem(private=True, password=b"pass phrase")
    with pytest.raises(InvalidKey) as refused:
        Key.from_pem(pem, "ES256")
    assert type(refused.value) is InvalidKey


def test_kty_of_answers_for_anything() -> None:
    assert kty_of("PS256") == "RSA" and kty_of("EdDSA") == "OKP"
    for other in ("none", "HS", None, 7, ["ES256"]):
        assert kty_of(other) is None


# --- one row ------------------------------------------------------------------------------------

_ROWS = (
    '        Algorithm("Ed25519", "OKP", curves=("Ed25519",)),  # RFC 9864 §2.2: fully specified\n',
    '        Algorithm("Ed448", "OKP", curves=("Ed448",)),\n',
)

_EVERY_READER = r"""
import hashlib, io, json, sys, contextlib, tempfile
import tokensmith as ts
from tokensmith import cli
from tokensmith.oauth import token_hash
from tokensmith.stores.file import FileKeyStore
from tokensmith._b64 import b64url_encode

alg, other = sys.argv[1], {"Ed25519": "Ed448", "Ed448": "Ed25519"}[sys.argv[1]]
assert alg in ts.SUPPORTED_ALGORITHMS and alg in ts.keys.ASYMMETRIC_ALGORITHMS
key = ts.Key.generate(alg)                             # generation (its one curve)
jwk = key.to_jwk()
assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", alg, alg)
public = ts.Key.from_jwk(jwk)                          # import
assert public.verify(b"m", key.sign(b"m"))             # sign / verify
assert ts.Key.from_jwk(key.to_jwk(private=True)).can_sign
assert ts.Key.from_pem(key.to_pem(), alg).kid == key.kid
try:
    ts.Key.generate(alg, curve=other)
except ts.InvalidKey:
    pass
else:
    raise AssertionError("a key on the other curve")
try:
    ts.Key.from_jwk(ts.Key.generate("EdDSA", curve=other).to_jwk(), alg=alg)
except ts.InvalidKey:
    pass
else:
    raise AssertionError("a JWK on the other curve")
store = ts.MemoryKeyStore(ts.KeySet([key]))            # signer / validator
token = ts.Signer(store, issuer="https://i.test").issue("u", audience="a")
assert ts.Validator(store, issuer="https://i.test", audience="a").validate(token).algorithm == alg
bare = {m: v for m, v in jwk.items() if m != "alg"}   # JWKS families
found = ts.KeySet.from_jwks({"keys": [bare]}, default_algorithms={"OKP": alg})
assert found.verification_key(key.kid, alg, 0.0).alg == alg
digest = hashlib.sha512(b"at").digest() if alg == "Ed25519" else hashlib.shake_256(b"at").digest(114)
assert token_hash("at", alg) == b64url_encode(digest[: len(digest) // 2])  # OIDC: the curve's
with tempfile.TemporaryDirectory() as directory:       # CLI and file store
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["keys", "init", directory + "/k", "--alg", alg]) == 0
    assert FileKeyStore(directory + "/k").signing_key().alg == alg
print("ok")
"""


def _readers(package_parent: Path, alg: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _EVERY_READER, alg],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
        cwd=package_parent,
        check=False,
    )


@pytest.mark.parametrize("alg", ["Ed25519", "Ed448"])
def test_an_algorithm_is_one_row(tmp_path: Path, alg: str) -> None:
    """RFC 9864's fully-specified ``Ed25519`` and ``Ed448`` are one row each: every reader
    takes them from the table, and a copy of the package without the rows knows neither."""
    source = (ROOT / "src" / "tokensmith" / "_algorithms.py").read_text(encoding="utf-8")
    assert all(source.count(row) == 1 for row in _ROWS)
    with_rows = _readers(ROOT / "src", alg)
    assert with_rows.returncode == 0, with_rows.stderr
    assert with_rows.stdout.strip() == "ok"

    package = tmp_path / "tokensmith"
    shutil.copytree(ROOT / "src" / "tokensmith", package, ignore=shutil.ignore_patterns("*.pyc"))
    without = source
    for row in _ROWS:
        without = without.replace(row, "")
    (package / "_algorithms.py").write_text(without, encoding="utf-8")
    refused = _readers(tmp_path, alg)
    assert refused.returncode != 0
    assert "AssertionError" in refused.stderr  # the first line: not a supported algorithm
