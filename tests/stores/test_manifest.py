"""The key-store codec (stores/_manifest.py, stores/_sealing.py) keeps the stored formats.

tests/stores/manifests/ holds documents written by the stores before their codec was shared
(a clear and a passphrase-sealed file manifest, a Redis document; passphrase and KEK below):
they must read back to the same keys, the clear one must be written again byte for byte, and a
key set must survive a trip through one store's codec and then the other's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tokensmith import Key, KeySet, RotationPolicy
from tokensmith._b64 import b64url_encode
from tokensmith.errors import KeyStoreCorrupt, WeakKey, WrongPassphrase
from tokensmith.stores._manifest import (
    Manifest,
    decode_file,
    decode_redis,
    encode_file,
    encode_redis,
    lifecycles,
    redis_associated_data,
)
from tokensmith.stores._sealing import KekSealing, PassphraseSealing, canonical
from tokensmith.stores.file import FileKeyStore
from tokensmith.testing import FakeClock

MANIFESTS = Path(__file__).parent / "manifests"
PASSPHRASE = b"correct horse battery staple"
KEK = b"k" * 32
STORE = "golden:"
POLICY = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256")
# what the documents hold: (kid, alg, private, not_before, retire_at, not_after)
EXPECTED = [
    ("hs", "HS256", True, None, None, None),
    ("rs", "RS256", False, None, None, None),
    ("es", "ES256", True, 1_700_000_000.0, 1_700_003_600.0, 1_700_004_500.0),
    ("ed", "EdDSA", True, 1_700_003_000.0, None, None),
]


def _golden(name: str) -> bytes:
    return (MANIFESTS / name).read_bytes()


def _as_recorded(keyset: KeySet) -> list[tuple[object, ...]]:
    order: list[object] = [kid for kid, *_rest in EXPECTED]
    return sorted(lifecycles(keyset), key=lambda row: order.index(row[0]))


def test_a_clear_file_manifest_reads_back_and_is_written_again_byte_for_byte() -> None:
    data = _golden("file-clear.json")
    manifest = decode_file(data, None, "file-clear.json")
    assert _as_recorded(manifest.keyset) == EXPECTED
    assert (manifest.policy, manifest.generation, manifest.encryption) == (POLICY, 2, None)
    again, encryption = encode_file(manifest.keyset, POLICY, 2, None, None)
    assert (again, encryption) == (data, None)


def test_a_sealed_file_manifest_reads_back_under_its_passphrase() -> None:
    data = _golden("file-sealed.json")
    sealing = PassphraseSealing(PASSPHRASE)
    manifest = decode_file(data, sealing, "file-sealed.json")
    assert _as_recorded(manifest.keyset) == EXPECTED
    assert manifest.encryption is not None and manifest.generation == 2
    again, encryption = encode_file(manifest.keyset, POLICY, 2, sealing, manifest.encryption)
    assert encryption == manifest.encryption
    written, golden = json.loads(again), json.loads(data)
    assert {**written, "keys": None} == {**golden, "keys": None}  # same header, fresh nonce
    assert written["keys"]["nonce"] != golden["keys"]["nonce"]
    assert lifecycles(decode_file(again, sealing, "again").keyset) == lifecycles(manifest.keyset)
    with pytest.raises(WrongPassphrase):
        decode_file(data, PassphraseSealing(b"wrong"), "file-sealed.json")


def test_the_file_store_opens_a_directory_written_before(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    shutil.copy(MANIFESTS / "file-sealed.json", directory / "keyset.json")
    (directory / "keyset.json").chmod(0o600)
    store = FileKeyStore(directory, passphrase=PASSPHRASE, clock=FakeClock(1_700_000_100))
    assert store.policy == POLICY and store.generation == 2
    assert store.signing_key().kid == "es"


def test_a_redis_document_reads_back_under_its_kek_and_store() -> None:
    data = _golden("redis.json")
    sealing = KekSealing(KEK, STORE)
    manifest = decode_redis(data, sealing, "the Redis key golden")
    assert _as_recorded(manifest.keyset) == EXPECTED and manifest.generation == 1
    again = json.loads(encode_redis(manifest.keyset, POLICY, 1, sealing))
    golden = json.loads(data)
    sealed = ("nonce", "sealed")
    assert [{m: v for m, v in e.items() if m not in sealed} for e in again["keys"]] == [
        {m: v for m, v in e.items() if m not in sealed} for e in golden["keys"]
    ]
    assert {**again, "keys": None, "mac": None} == {**golden, "keys": None, "mac": None}
    with pytest.raises(WrongPassphrase):
        decode_redis(data, KekSealing(b"j" * 32, STORE), "the Redis key golden")
    with pytest.raises(KeyStoreCorrupt):  # the MAC binds the store (the prefix)
        decode_redis(data, KekSealing(KEK, "other:"), "the Redis key golden")


def test_a_key_set_survives_both_codecs_in_turn() -> None:
    keys = KeySet(
        [
            Key.generate("PS384", kid="ps").with_lifecycle(not_after=2e9),
            Key.generate("EdDSA", kid="ed448", curve="Ed448").public_key(),
            Key.generate("HS512", kid="hs").with_lifecycle(not_before=1.5, retire_at=2.5),
        ]
    )
    sealing = KekSealing(KEK, STORE)
    via_redis = decode_redis(encode_redis(keys, POLICY, 7, sealing), sealing, "redis")
    data, _params = encode_file(via_redis.keyset, POLICY, 7, PassphraseSealing(PASSPHRASE), None)
    via_file = decode_file(data, PassphraseSealing(PASSPHRASE), "file")
    assert lifecycles(via_file.keyset) == lifecycles(via_redis.keyset) == lifecycles(keys)
    assert via_file.keyset.verification_key("hs", "HS512", 2.0).verify(
        b"m", keys.verification_key("hs", "HS512", 2.0).sign(b"m")
    )
    assert isinstance(via_redis, Manifest) and via_redis.policy is None  # replicas use their own


def _redis_document_holding(plaintext: bytes, sealing: KekSealing) -> str:
    """An authentic Redis document whose one entry, kid ``k``, seals ``plaintext``."""
    times: dict[str, float | None] = {"not_before": None, "retire_at": None, "not_after": None}
    document = json.loads(encode_redis(KeySet(), POLICY, 1, sealing))
    nonce, sealed = sealing.seal(plaintext, redis_associated_data(STORE, "k", "RS256", times))
    entry = {"kid": "k", "alg": "RS256", **times}
    document["keys"] = [{**entry, "nonce": b64url_encode(nonce), "sealed": b64url_encode(sealed)}]
    body = {m: v for m, v in document.items() if m != "mac"}
    return json.dumps({**body, "mac": sealing.mac(body)})


@pytest.mark.parametrize("plaintext", [b"[]", b'"text"', b'{"kty": "RSA"}'])
def test_an_authentic_entry_that_is_no_jwk_is_corrupt(plaintext: bytes) -> None:
    sealing = KekSealing(KEK, STORE)
    with pytest.raises(KeyStoreCorrupt, match="holds an unusable key") as caught:
        decode_redis(_redis_document_holding(plaintext, sealing), sealing, "the Redis key k")
    assert type(caught.value) is KeyStoreCorrupt


def _weak_rsa_jwk() -> dict[str, Any]:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    n = small.public_numbers().n
    return {
        "kty": "RSA",
        "alg": "RS256",
        "kid": "weak",
        "n": b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        "e": "AQAB",
    }


def test_an_authentic_key_below_todays_floor_is_weak_in_both_stores() -> None:
    """A key written when the floor was lower: the operator is told it is weak, by both
    stores alike (the Redis store used to call it corrupt)."""
    jwk = _weak_rsa_jwk()
    times: dict[str, float | None] = {"not_before": None, "retire_at": None, "not_after": None}
    file_data = json.dumps(
        {
            "format": "tokensmith-keyset",
            "version": 1,
            "generation": 1,
            "policy": json.loads(_golden("file-clear.json"))["policy"],
            "encryption": None,
            "keys": [{"jwk": jwk, **times}],
        }
    ).encode()
    with pytest.raises(WeakKey) as caught:
        decode_file(file_data, None, "keyset.json")
    assert type(caught.value) is WeakKey and "keyset.json holds a weak key" in str(caught.value)

    sealing = KekSealing(KEK, STORE)
    document = _redis_document_holding(canonical({**jwk, "kid": "k"}), sealing)
    with pytest.raises(WeakKey) as caught:
        decode_redis(document, sealing, "the Redis key k")
    assert type(caught.value) is WeakKey and "the Redis key k holds a weak key" in str(caught.value)
