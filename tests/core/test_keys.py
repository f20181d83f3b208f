from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith import SUPPORTED_ALGORITHMS, InvalidKey, Key, KeyMaterialError, WeakKey
from tokensmith._b64 import b64url_decode, b64url_encode

ASYMMETRIC = sorted(a for a in SUPPORTED_ALGORITHMS if not a.startswith("HS"))
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {alg: Key.generate(alg) for alg in sorted(SUPPORTED_ALGORITHMS)}


@pytest.mark.parametrize("alg", sorted(SUPPORTED_ALGORITHMS))
def test_generate_sign_verify(keys: dict[str, Key], alg: str) -> None:
    key = keys[alg]
    assert key.alg == alg
    assert key.can_sign
    signature = key.sign(b"message")
    assert key.verify(b"message", signature)
    assert not key.verify(b"other", signature)


@pytest.mark.parametrize("alg", sorted(SUPPORTED_ALGORITHMS))
def test_private_jwk_round_trip(keys: dict[str, Key], alg: str) -> None:
    key = keys[alg]
    again = Key.from_jwk(key.to_jwk(private=True))
    assert again.kid == key.kid
    assert again.alg == alg
    assert again.can_sign
    assert key.verify(b"m", again.sign(b"m"))


@pytest.mark.parametrize("alg", ASYMMETRIC)
def test_public_jwk_has_no_private_members(keys: dict[str, Key], alg: str) -> None:
    key = keys[alg]
    jwk = key.to_jwk()
    assert not PRIVATE_MEMBERS & set(jwk)
    assert jwk["alg"] == alg
    assert jwk["use"] == "sig"
    public = Key.from_jwk(json.dumps(jwk))
    assert not public.can_sign
    assert public.kid == key.kid
    assert public.verify(b"m", key.sign(b"m"))
    with pytest.raises(InvalidKey):
        public.sign(b"m")
    with pytest.raises(InvalidKey):
        public.to_jwk(private=True)
    with pytest.raises(InvalidKey):
        public.to_pem(private=True)


@pytest.mark.parametrize("alg", ASYMMETRIC)
def test_pem_round_trip(keys: dict[str, Key], alg: str) -> None:
    key = keys[alg]
    private = Key.from_pem(key.to_pem(private=True), alg)
    public = Key.from_pem(key.to_pem().decode(), alg)
    assert private.kid == public.kid == key.kid
    assert public.verify(b"m", private.sign(b"m"))
    encrypted = key.to_pem(private=True, password=b"correct horse")
    assert b"ENCRYPTED" in encrypted
    assert Key.from_pem(encrypted, alg, password=b"correct horse").kid == key.kid
    with pytest.raises(InvalidKey):
        Key.from_pem(encrypted, alg, password=b"wrong")


def test_public_key_of_public_key_is_itself(keys: dict[str, Key]) -> None:
    public = keys["ES256"].public_key()
    assert public.public_key() is public
    with pytest.raises(InvalidKey):
        keys["HS256"].public_key()


def test_hmac_has_no_public_form(keys: dict[str, Key]) -> None:
    with pytest.raises(InvalidKey):
        keys["HS256"].to_jwk()
    with pytest.raises(InvalidKey):
        keys["HS256"].to_pem()


def test_thumbprint_matches_rfc7638_example() -> None:
    # RFC 7638 §3.1
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert Key.from_jwk(jwk).thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_default_kid_is_thumbprint_and_explicit_kid_is_kept() -> None:
    key = Key.generate("ES256")
    assert key.kid == key.thumbprint()
    assert Key.generate("ES256", kid="k1").kid == "k1"


@pytest.mark.parametrize(
    ("alg", "size"), [("HS256", 31), ("HS384", 47), ("HS512", 63), ("HS512", 32)]
)
def test_hmac_secrets_below_the_hash_size_are_weak(alg: str, size: int) -> None:
    with pytest.raises(WeakKey):
        Key.from_secret(b"x" * size, alg)
    with pytest.raises(WeakKey):
        Key.from_jwk({"kty": "oct", "k": b64url_encode(b"x" * size), "alg": alg})


def test_hmac_secret_of_exact_size_is_accepted() -> None:
    assert Key.from_secret(b"x" * 32, "HS256").alg == "HS256"


def test_pem_lookalike_secret_is_refused() -> None:
    pem = Key.generate("ES256").to_pem()
    with pytest.raises(InvalidKey):
        Key.from_secret(pem, "HS256")
    with pytest.raises(InvalidKey):
        Key.from_secret("text" * 20, "HS256")  # type: ignore[arg-type]


def test_rsa_below_2048_bits_is_weak() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = small.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(WeakKey):
        Key.from_pem(pem, "RS256")
    with pytest.raises(WeakKey):
        Key.generate("RS256", rsa_bits=1024)


def test_ec_curve_must_match_the_algorithm() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    pem = p384.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey):
        Key.from_pem(pem, "ES256")
    jwk = Key.from_pem(pem, "ES384").to_jwk()
    jwk["alg"] = "ES256"
    with pytest.raises(InvalidKey):
        Key.from_jwk(jwk)


@pytest.mark.parametrize(
    ("pem_alg", "wrong_alg"),
    [("ES256", "RS256"), ("RS256", "ES256"), ("EdDSA", "PS256"), ("RS256", "EdDSA")],
)
def test_key_type_must_fit_the_algorithm(
    keys: dict[str, Key], pem_alg: str, wrong_alg: str
) -> None:
    with pytest.raises(InvalidKey):
        Key.from_pem(keys[pem_alg].to_pem(), wrong_alg)


@pytest.mark.parametrize(
    ("jwk", "alg"),
    [
        ({"kty": "oct", "k": b64url_encode(b"x" * 32)}, None),  # no alg anywhere
        ({"kty": "oct", "k": b64url_encode(b"x" * 32), "alg": "none"}, None),
        ({"kty": "oct", "k": b64url_encode(b"x" * 32), "alg": "HS256"}, "HS512"),  # disagree
        ({"kty": "RSA", "k": "x", "alg": "HS256"}, None),  # kty mismatch
        ({"kty": "oct", "k": b64url_encode(b"x" * 32), "alg": "HS256", "use": "enc"}, None),
        ({"kty": "oct", "k": b64url_encode(b"x" * 32), "alg": "HS256", "kid": 7}, None),
        ({"kty": "oct", "k": b64url_encode(b"x" * 32), "alg": "HS256", "kid": ""}, None),
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "alg": "ES256"}, None),
        ({"kty": "OKP", "crv": "X25519", "x": "AA", "alg": "EdDSA"}, None),
        ({"kty": "RSA", "n": "AQAB", "alg": "RS256"}, None),  # missing e
        ([], None),
        ("{not json", None),
        ("[1]", None),
    ],
)
def test_bad_jwks_are_refused(jwk: object, alg: str | None) -> None:
    with pytest.raises(InvalidKey):
        Key.from_jwk(jwk, alg=alg)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_a_jwk_without_alg_says_what_is_missing_and_how_to_fix_it(
    keys: dict[str, Key], alg: str
) -> None:
    jwk = {k: v for k, v in keys[alg].to_jwk().items() if k != "alg"}
    with pytest.raises(InvalidKey) as info:
        Key.from_jwk(jwk)
    assert type(info.value) is InvalidKey
    assert "the JWK has no 'alg' member; pass alg=... to say which algorithm" in str(info.value)
    assert "NoneType" not in str(info.value)
    assert Key.from_jwk(jwk, alg=alg).alg == alg  # the fix the message names
    with pytest.raises(InvalidKey, match="no algorithm given; pass alg="):
        Key.from_pem(keys[alg].to_pem(), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", [b"not a pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]
)
def test_bad_pem_is_refused(bad: bytes | str) -> None:
    with pytest.raises(InvalidKey):
        Key.from_pem(bad, "ES256")


def test_pem_for_hmac_and_secret_for_asymmetric_are_refused() -> None:
    with pytest.raises(InvalidKey):
        Key.from_pem(b"x", "HS256")
    with pytest.raises(InvalidKey):
        Key.from_secret(b"x" * 64, "RS256")
    with pytest.raises(InvalidKey):
        Key.generate("none")
    with pytest.raises(InvalidKey):
        Key.generate("EdDSA", curve="X25519")


def test_wrong_material_types_are_refused() -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for alg in ("RS256", "ES256"):
        with pytest.raises(InvalidKey):
            Key.from_pem(pem, alg)
    rsa_pem = Key.generate("RS256").to_pem()
    with pytest.raises(InvalidKey):
        Key.from_pem(rsa_pem, "EdDSA")


def test_secret_material_never_in_repr_or_str() -> None:
    secret = b"s3cr3t-" * 8
    key = Key.from_secret(secret, "HS256", kid="k")
    for text in (repr(key), str(key)):
        assert "s3cr3t" not in text
        assert b64url_encode(secret) not in text
    private = Key.generate("ES256")
    d = private.to_jwk(private=True)["d"]
    assert d not in repr(private)


def test_keys_are_not_picklable() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Key.generate("HS256"))


def test_lifecycle_copy_and_validation() -> None:
    key = Key.generate("HS256")
    timed = key.with_lifecycle(not_before=10, retire_at=20, not_after=30)
    assert (timed.not_before, timed.retire_at, timed.not_after) == (10, 20, 30)
    assert timed.kid == key.kid
    with pytest.raises(InvalidKey):
        key.with_lifecycle(not_after=float("nan"))


def test_ed448_keys() -> None:
    key = Key.generate("EdDSA", curve="Ed448")
    assert key.to_jwk()["crv"] == "Ed448"
    assert Key.from_jwk(key.to_jwk()).verify(b"m", key.sign(b"m"))


def test_errors_share_a_family() -> None:
    assert issubclass(WeakKey, KeyMaterialError)
    assert issubclass(InvalidKey, KeyMaterialError)


@given(st.binary(max_size=64))
def test_b64url_round_trip(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_b64url_decode_is_strict(text: str) -> None:
    try:
        raw = b64url_decode(text)
    except ValueError:
        return
    assert b64url_encode(raw) == text


@pytest.mark.parametrize("bad", ["QQ=", "QQ==", "Q", "QR", "Q Q", "+/8", "QQ\n"])
def test_b64url_decode_refuses_non_canonical(bad: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(bad)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["kty", "alg", "k", "n", "e", "x", "y", "crv", "d", "kid", "use"]),
        st.one_of(
            st.text(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=2)
        ),
    )
)
def test_from_jwk_only_raises_key_errors(jwk: dict[str, object]) -> None:
    try:
        Key.from_jwk(jwk)
    except KeyMaterialError:
        pass
