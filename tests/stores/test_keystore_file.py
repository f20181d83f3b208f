"""FileKeyStore: contract, persistence, encryption at rest, corruption, crashes, processes."""

from __future__ import annotations

import functools
import json
import os
import random
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import ROOT
from tokensmith import (
    ConfigurationError,
    InvalidKey,
    Key,
    KeySet,
    KeyStore,
    RotationPolicy,
    Signer,
    UnknownKey,
    Validator,
)
from tokensmith.errors import (
    AlgorithmMismatch,
    InsecureKeyDirectory,
    KeyStoreCorrupt,
    TokensmithError,
    WrongPassphrase,
)
from tokensmith.keyset import key_state
from tokensmith.stores.file import LOCK_NAME, MANIFEST_NAME, FileKeyStore
from tokensmith.testing import FakeClock, KeyStoreContract

POLICY = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256")
ISS = "https://issuer.test"


# --- contract ----------------------------------------------------------------------------------


def open_store(
    directory: Path, clock: FakeClock, policy: RotationPolicy, passphrase: bytes | None = None
) -> FileKeyStore:
    """``key_store_factory`` of the contracts: picklable, so replicas can run in processes."""
    return FileKeyStore(directory, passphrase=passphrase, policy=policy, clock=clock)


class TestFileKeyStoreContract(KeyStoreContract):
    shared = True

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path / "keys"

    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
        return FileKeyStore(self.directory, policy=policy, clock=clock)

    def key_store_factory(self) -> Callable[[FakeClock, RotationPolicy], KeyStore]:
        return functools.partial(open_store, self.directory)


class TestEncryptedHmacFileKeyStoreContract(KeyStoreContract):
    shared = True
    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="HS256")

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path / "keys"

    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> KeyStore:
        return FileKeyStore(self.directory, passphrase=b"pass phrase", policy=policy, clock=clock)

    def key_store_factory(self) -> Callable[[FakeClock, RotationPolicy], KeyStore]:
        return functools.partial(open_store, self.directory, passphrase=b"pass phrase")


# --- helpers -----------------------------------------------------------------------------------


def manifest(directory: Path) -> Path:
    return directory / MANIFEST_NAME


def load(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(manifest(directory).read_text())
    return document


def dump(directory: Path, document: Any) -> None:
    manifest(directory).write_text(json.dumps(document))
    os.chmod(manifest(directory), 0o600)  # a new file gets the umask's mode, which is refused


@pytest.fixture
def keydir(tmp_path: Path, clock: FakeClock) -> Path:
    directory = tmp_path / "keys"
    FileKeyStore(directory, policy=POLICY, clock=clock).signing_key()
    return directory


# --- layout, permissions, policy -----------------------------------------------------------------


def test_directory_and_files_are_private_whatever_the_umask(
    tmp_path: Path, clock: FakeClock
) -> None:
    old = os.umask(0)
    try:
        store = FileKeyStore(tmp_path / "a" / "keys", policy=POLICY, clock=clock)
        store.signing_key()
        store.rotate()
    finally:
        os.umask(old)
    directory = tmp_path / "a" / "keys"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = sorted(p.name for p in directory.iterdir())
    assert names == [MANIFEST_NAME, LOCK_NAME]
    for name in names:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600


def test_policy_is_recorded_and_read_back(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "keys"
    policy = RotationPolicy(rotate_every=7200, publish_ahead=60, verify_for=120, alg="EdDSA")
    first = FileKeyStore(directory, policy=policy, clock=clock)
    assert first.signing_key().alg == "EdDSA"
    again = FileKeyStore(directory, clock=clock)
    assert again.policy is not None
    assert (again.policy.rotate_every, again.policy.publish_ahead, again.policy.verify_for) == (
        7200,
        60,
        120,
    )
    assert again.policy.alg == "EdDSA"
    assert again.signing_key().kid == first.signing_key().kid
    assert again.path == directory
    assert "EdDSA" not in repr(again) or "encrypted=False" in repr(again)


def test_same_policy_does_not_rewrite_and_a_new_one_replaces_it(
    keydir: Path, clock: FakeClock
) -> None:
    generation = load(keydir)["generation"]
    FileKeyStore(keydir, policy=POLICY, clock=clock)
    assert load(keydir)["generation"] == generation
    changed = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES384")
    FileKeyStore(keydir, policy=changed, clock=clock)
    assert load(keydir)["policy"]["alg"] == "ES384"
    assert FileKeyStore(keydir, clock=clock).policy.alg == "ES384"  # type: ignore[union-attr]


def test_empty_directory_gets_its_first_key_on_first_use(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "empty"
    directory.mkdir()
    store = FileKeyStore(directory, policy=POLICY, clock=clock)
    assert len(load(directory)["keys"]) == 0
    key = store.signing_key()
    assert [k["jwk"]["kid"] for k in load(directory)["keys"]] == [key.kid]


def test_no_key_set_and_no_policy_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError):
        FileKeyStore(tmp_path / "missing", clock=clock)
    assert not (tmp_path / "missing").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError):
        FileKeyStore(tmp_path / "empty", clock=clock)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError):
        FileKeyStore(tmp_path / "file", policy=POLICY, clock=clock)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"passphrase": b""},
        {"passphrase": "text"},
        {"policy": "ES256"},
        {"reload_interval": -1},
        {"reload_interval": float("nan")},
        {"reload_interval": True},
    ],
)
def test_bad_arguments_are_configuration_errors(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        FileKeyStore(tmp_path / "k", **{"policy": POLICY, **kwargs})


def test_add_remove_replace_persist(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, clock=clock)
    extra = Key.generate("EdDSA")
    store.add(extra)
    other = FileKeyStore(keydir, clock=clock)
    assert other.verification_key(extra.kid, "EdDSA").kid == extra.kid
    with pytest.raises(InvalidKey):
        store.add(extra)
    store.remove(extra.kid)
    with pytest.raises(UnknownKey):
        FileKeyStore(keydir, clock=clock).verification_key(extra.kid, "EdDSA")
    with pytest.raises(UnknownKey):
        store.remove(extra.kid)
    public = Key.generate("ES256").public_key()
    store.replace(KeySet([store.signing_key(), public]))
    reopened = FileKeyStore(keydir, clock=clock)
    assert not reopened.keyset.get(public.kid).is_private  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError):
        store.replace([public])  # type: ignore[arg-type]


def test_maintenance_writes_only_when_the_set_changes(keydir: Path, clock: FakeClock) -> None:
    a = FileKeyStore(keydir, clock=clock)
    b = FileKeyStore(keydir, clock=clock)
    start = a.generation
    for _ in range(50):
        a.signing_key()
        b.signing_key()
        a.jwks()
    assert load(keydir)["generation"] == start
    clock.advance(POLICY.rotate_every - POLICY.publish_ahead)  # successor due now
    kids = {a.signing_key().kid, b.signing_key().kid}
    assert len(kids) == 1
    assert load(keydir)["generation"] == start + 1  # one process published, the other re-read
    assert len(a.keyset) == len(b.keyset) == 2


def test_concurrent_rotations_publish_one_successor(keydir: Path, clock: FakeClock) -> None:
    stores = [FileKeyStore(keydir, clock=clock) for _ in range(6)]
    barrier = threading.Barrier(len(stores))

    def rotate(store: FileKeyStore) -> None:
        barrier.wait()
        store.rotate()

    threads = [threading.Thread(target=rotate, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keyset = FileKeyStore(keydir, clock=clock).keyset
    assert sorted(key_state(k, clock()) for k in keyset) == ["active", "pending"]


# --- reloading across instances ------------------------------------------------------------------


def test_reload_after_another_instance_rotates(keydir: Path, clock: FakeClock) -> None:
    reader = FileKeyStore(keydir, clock=clock)
    writer = FileKeyStore(keydir, clock=clock)
    before = reader.signing_key().kid
    successor = [k for k in writer.rotate() if k.kid != before][0]
    # within the reload interval the reader has not even looked (a stat at most once a second)
    assert successor.kid not in reader.keyset
    clock.advance(1)
    assert successor.kid in reader.keyset
    assert successor.kid in {jwk["kid"] for jwk in reader.jwks()["keys"]}
    clock.advance(POLICY.publish_ahead)
    assert reader.signing_key().kid == writer.signing_key().kid == successor.kid


def test_unknown_kid_checks_for_a_newer_manifest_at_once(keydir: Path, clock: FakeClock) -> None:
    reader = FileKeyStore(keydir, clock=clock)
    reader.signing_key()
    added = Key.generate("ES256")
    FileKeyStore(keydir, clock=clock).add(added)
    assert reader.verification_key(added.kid, "ES256").kid == added.kid
    with pytest.raises(UnknownKey):
        reader.verification_key("nope", "ES256")
    with pytest.raises(UnknownKey):
        reader.verification_key(None, "ES384")
    with pytest.raises(AlgorithmMismatch):
        reader.verification_key(added.kid, "ES384")


def test_removed_key_stops_verifying_everywhere(keydir: Path, clock: FakeClock) -> None:
    signer_store = FileKeyStore(keydir, clock=clock)
    validator_store = FileKeyStore(keydir, clock=clock)
    signer = Signer(signer_store, issuer=ISS, ttl=60, clock=clock)
    validator = Validator(validator_store, issuer=ISS, audience="api", clock=clock)
    token = signer.issue("u", audience="api")
    validator.validate(token)
    signer_store.remove(signer_store.signing_key().kid)
    clock.advance(1)
    with pytest.raises(UnknownKey):
        validator.validate(token)


# --- encryption at rest -------------------------------------------------------------------------


def all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


def test_private_material_is_encrypted_at_rest(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "enc"
    passphrase = b"correct horse battery staple"
    store = FileKeyStore(directory, passphrase=passphrase, policy=POLICY, clock=clock)
    signing = store.signing_key()
    secret = Key.generate("HS256")
    rsa = Key.generate("RS256")
    store.add(secret)
    store.add(rsa)
    data = all_bytes(directory)
    assert b"PRIVATE KEY" not in data and passphrase not in data
    for key in (signing, secret, rsa):
        jwk = key.to_jwk(private=True)
        for member in ("d", "k", "p", "q"):
            if member in jwk:
                assert jwk[member].encode() not in data
        assert key.kid.encode() not in data  # even the kids are inside the sealed blob
    reopened = FileKeyStore(directory, passphrase=passphrase, clock=clock)
    assert reopened.verification_key(secret.kid, "HS256").verify(b"m", secret.sign(b"m"))
    assert reopened.signing_key().kid == signing.kid
    assert "correct horse" not in repr(reopened)


@pytest.mark.parametrize(
    ("old", "new"),
    [(None, b"new passphrase"), (b"old passphrase", b"new passphrase"), (b"old", None)],
    ids=["encrypt", "change", "decrypt"],
)
def test_change_passphrase_keeps_every_key(
    tmp_path: Path, clock: FakeClock, old: bytes | None, new: bytes | None
) -> None:
    directory = tmp_path / "keys"
    store = FileKeyStore(directory, passphrase=old, policy=POLICY, clock=clock)
    store.rotate()
    before = [(k.kid, k.not_before, k.retire_at, k.not_after) for k in store.keyset]
    signing = store.signing_key()
    salt = load(directory)["encryption"]
    generation = store.generation
    other = FileKeyStore(directory, passphrase=old, clock=clock)  # another process, old secret

    store.change_passphrase(new)

    assert store.generation == generation + 1
    reopened = FileKeyStore(directory, passphrase=new, clock=clock)
    assert [(k.kid, k.not_before, k.retire_at, k.not_after) for k in reopened.keyset] == before
    assert reopened.signing_key().verify(b"m", signing.sign(b"m"))
    recorded = load(directory)["encryption"]
    assert (recorded is None) == (new is None)
    if recorded is not None and salt is not None:
        assert recorded["salt"] != salt["salt"]  # a fresh salt, not the old one re-used
    if new is not None:
        assert new not in all_bytes(directory)
        jwk = signing.to_jwk(private=True)
        assert jwk["d"].encode() not in all_bytes(directory)
    with pytest.raises(WrongPassphrase):
        FileKeyStore(directory, passphrase=old, clock=clock)
    clock.advance(2)  # past its reload interval: the old secret no longer opens the set
    with pytest.raises(WrongPassphrase):
        other.signing_key()


def test_change_passphrase_needs_the_current_one(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "keys"
    FileKeyStore(directory, passphrase=b"current", policy=POLICY, clock=clock)
    stale = FileKeyStore(directory, passphrase=b"current", clock=clock)
    FileKeyStore(directory, passphrase=b"current", clock=clock).change_passphrase(b"next")
    with pytest.raises(WrongPassphrase):  # this instance's secret no longer opens the file
        stale.change_passphrase(b"attacker's choice")
    FileKeyStore(directory, passphrase=b"next", clock=clock)  # still the legitimate one
    for bad in (b"", "text", 42):
        with pytest.raises(ConfigurationError):
            FileKeyStore(directory, passphrase=b"next", clock=clock).change_passphrase(bad)  # type: ignore[arg-type]


def test_a_failed_passphrase_change_leaves_the_store_as_it_was(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "keys"
    store = FileKeyStore(directory, passphrase=b"current", policy=POLICY, clock=clock)
    before = manifest(directory).read_bytes()

    def disk_full(data: bytes, directory: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_atomic_write", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.change_passphrase(b"next")
    monkeypatch.undo()
    assert manifest(directory).read_bytes() == before
    store.rotate()  # the in-memory passphrase is still the current one
    FileKeyStore(directory, passphrase=b"current", clock=clock)


def test_unencrypted_store_still_private(keydir: Path) -> None:
    assert stat.S_IMODE(manifest(keydir).stat().st_mode) == 0o600
    assert load(keydir)["encryption"] is None


def test_wrong_missing_or_needless_passphrase(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "enc"
    FileKeyStore(directory, passphrase=b"right", policy=POLICY, clock=clock).signing_key()
    for passphrase in (b"Tr0ub4dor&3", None):
        with pytest.raises(WrongPassphrase) as caught:
            FileKeyStore(directory, passphrase=passphrase, clock=clock)
        assert str(manifest(directory)) in str(caught.value)
        assert caught.value.code == "wrong_passphrase"
        assert "Tr0ub4dor" not in str(caught.value) and "right" not in repr(caught.value)
    plain = tmp_path / "plain"
    FileKeyStore(plain, policy=POLICY, clock=clock)
    with pytest.raises(WrongPassphrase):
        FileKeyStore(plain, passphrase=b"x", clock=clock)


@pytest.fixture(scope="module")
def sealed_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("sealed") / "keys"
    FileKeyStore(directory, passphrase=b"pw", policy=POLICY, clock=FakeClock()).signing_key()
    return load(directory)


def _flip(text: str) -> str:
    return ("B" if text[5] != "B" else "C").join((text[:5], text[6:]))


@pytest.mark.parametrize(
    ("where", "tamper"),
    [
        ("ciphertext", lambda d: d["keys"].update(ciphertext=_flip(d["keys"]["ciphertext"]))),
        ("generation", lambda d: d.update(generation=d["generation"] + 1)),
        ("policy", lambda d: d["policy"].update(verify_for=1e9)),
        ("nonce", lambda d: d["keys"].update(nonce="AAAA")),
        ("nonce type", lambda d: d["keys"].update(nonce=123)),
        ("keys", lambda d: d.update(keys=[])),
        ("n", lambda d: d["encryption"].update(n=3000)),
        ("salt", lambda d: d["encryption"].update(salt="!!")),
        ("kdf", lambda d: d["encryption"].update(kdf="pbkdf2")),
        ("encryption", lambda d: d.update(encryption="yes")),
    ],
)
def test_tampered_encrypted_manifest_is_refused(
    tmp_path: Path, sealed_document: dict[str, Any], where: str, tamper: Any
) -> None:
    document = json.loads(json.dumps(sealed_document))
    tamper(document)
    directory = tmp_path / "keys"
    directory.mkdir()
    dump(directory, document)
    with pytest.raises(KeyStoreCorrupt) as caught:
        FileKeyStore(directory, passphrase=b"pw", clock=FakeClock())
    assert str(manifest(directory)) in str(caught.value), where
    assert caught.value.code == "keystore_corrupt"


def test_tampered_check_value_reads_as_a_wrong_passphrase(
    tmp_path: Path, sealed_document: dict[str, Any]
) -> None:
    document = json.loads(json.dumps(sealed_document))
    document["encryption"]["check"] = _flip(document["encryption"]["check"])
    directory = tmp_path / "keys"
    directory.mkdir()
    dump(directory, document)
    with pytest.raises(WrongPassphrase):
        FileKeyStore(directory, passphrase=b"pw", clock=FakeClock())


# --- corrupt, truncated, tampered (clear) ---------------------------------------------------------


def _mutations() -> list[tuple[str, Any]]:
    def set_(path: tuple[Any, ...], value: Any) -> Any:
        def apply(document: dict[str, Any]) -> None:
            target: Any = document
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value

        return apply

    return [
        ("not ours", set_(("format",), "other")),
        ("version", set_(("version",), 2)),
        ("generation", set_(("generation",), "1")),
        ("generation zero", set_(("generation",), 0)),
        ("policy type", set_(("policy",), None)),
        ("policy alg", set_(("policy", "alg"), "none")),
        ("policy numbers", set_(("policy", "rotate_every"), -1)),
        ("keys type", set_(("keys",), {"a": 1})),
        ("entry type", set_(("keys", 0), "key")),
        ("entry jwk", set_(("keys", 0, "jwk"), "key")),
        ("entry times", set_(("keys", 0, "not_after"), "soon")),
        ("entry key", set_(("keys", 0, "jwk", "x"), "AAAA")),
        ("entry alg", set_(("keys", 0, "jwk", "alg"), "HS256")),
        ("duplicate", lambda d: d["keys"].append(d["keys"][0])),
    ]


@pytest.mark.parametrize(("label", "mutate"), _mutations(), ids=[m[0] for m in _mutations()])
def test_damaged_manifest_is_a_clear_error(
    keydir: Path, clock: FakeClock, label: str, mutate: Any
) -> None:
    document = load(keydir)
    mutate(document)
    dump(keydir, document)
    with pytest.raises(KeyStoreCorrupt) as caught:
        FileKeyStore(keydir, clock=clock)
    assert str(manifest(keydir)) in str(caught.value), label
    assert '"d"' not in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\x00garbage{", b"[1, 2]", b'{"format": "tokensmith'])
def test_garbage_and_truncation(keydir: Path, clock: FakeClock, content: bytes) -> None:
    manifest(keydir).write_bytes(content)
    with pytest.raises(KeyStoreCorrupt):
        FileKeyStore(keydir, clock=clock)


def test_every_truncation_is_refused(keydir: Path, clock: FakeClock) -> None:
    data = manifest(keydir).read_bytes()
    for cut in range(0, len(data) - 2, 7):
        manifest(keydir).write_bytes(data[:cut])
        with pytest.raises(KeyStoreCorrupt):
            FileKeyStore(keydir, clock=clock)


def test_oversized_manifest(keydir: Path, clock: FakeClock) -> None:
    os.truncate(manifest(keydir), 8 * 1024 * 1024 + 1)
    with pytest.raises(KeyStoreCorrupt):
        FileKeyStore(keydir, clock=clock)


def test_unreadable_manifest(keydir: Path, clock: FakeClock) -> None:
    manifest(keydir).unlink()
    manifest(keydir).mkdir()  # reading a directory fails even for root
    with pytest.raises(KeyStoreCorrupt):
        FileKeyStore(keydir, clock=clock)


def test_directory_replaced_by_a_file_while_running(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, clock=clock)
    store.signing_key()
    keydir.rename(keydir.with_name("moved"))
    keydir.write_text("not a directory")
    clock.advance(1)
    with pytest.raises(KeyStoreCorrupt):
        store.signing_key()
    with pytest.raises(KeyStoreCorrupt):
        store._read()


def test_failed_write_leaves_the_old_manifest_and_no_temp_file(
    keydir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileKeyStore(keydir, clock=clock)
    before = manifest(keydir).read_bytes()

    def failing_replace(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        store.rotate()
    monkeypatch.undo()
    assert manifest(keydir).read_bytes() == before
    assert sorted(p.name for p in keydir.iterdir()) == [MANIFEST_NAME, LOCK_NAME]


def test_damage_while_running_fails_loudly_then_recovers(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, clock=clock)
    store.signing_key()
    good = manifest(keydir).read_bytes()
    manifest(keydir).write_bytes(b"{oops")
    clock.advance(1)
    for _ in range(3):  # every call, not once a second
        with pytest.raises(KeyStoreCorrupt):
            store.signing_key()
    manifest(keydir).write_bytes(good)
    assert store.signing_key().can_sign
    manifest(keydir).unlink()
    clock.advance(1)
    with pytest.raises(KeyStoreCorrupt):
        store.jwks()
    with pytest.raises(KeyStoreCorrupt):
        store.rotate()


_ORIGINALS: dict[Path, bytes] = {}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.lists(
        st.sampled_from(["keys", 0, "jwk", "policy", "not_before", "x", "d"]), max_size=4
    ),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=5,
    ),
)
def test_any_mutation_is_either_accepted_or_keystore_corrupt(
    keydir: Path, path: list[Any], value: Any
) -> None:
    original = _ORIGINALS.setdefault(keydir, manifest(keydir).read_bytes())
    document = json.loads(original)  # every example starts from the intact manifest
    target: Any = document
    try:
        for step in path[:-1]:
            target = target[step]
        if path:
            target[path[-1]] = value
        else:
            document = value
    except (KeyError, IndexError, TypeError):
        return
    manifest(keydir).write_text(json.dumps(document))
    try:
        FileKeyStore(keydir, clock=FakeClock()).keyset  # noqa: B018
    except KeyStoreCorrupt:
        pass


# --- crash safety --------------------------------------------------------------------------------

CHURN = r"""
import sys
from tokensmith import Key
from tokensmith.stores.file import FileKeyStore
store = FileKeyStore(sys.argv[1], passphrase=b"pw")
print("ready", flush=True)
while True:
    store.rotate()
    extra = Key.generate("HS256")
    store.add(extra)
    store.remove(extra.kid)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def test_kill_9_during_writes_leaves_a_loadable_key_set(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    policy = RotationPolicy(rotate_every=0.05, publish_ahead=0.02, verify_for=0.05, alg="ES256")
    FileKeyStore(directory, passphrase=b"pw", policy=policy).signing_key()
    rng = random.Random(1234)
    generations = []
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(directory)],
            stdout=subprocess.PIPE,
            env=_env(),
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.05, 0.25))
        finally:
            child.kill()  # SIGKILL: no cleanup, no finally blocks, the lock dies with it
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
        store = FileKeyStore(directory, passphrase=b"pw")
        generations.append(store.generation)
        assert store.signing_key().can_sign
        store.rotate()  # takes the lock: a crashed writer never leaves it held
    assert generations == sorted(generations) and generations[-1] > generations[0]
    assert sorted(p.name for p in directory.iterdir()) == [MANIFEST_NAME, LOCK_NAME]


# --- several processes -----------------------------------------------------------------------------

WORKER = r"""
import json, os, sys, time
from tokensmith import ExpiredToken, Signer, TokensmithError, Validator
from tokensmith.stores.file import FileKeyStore

directory, mail, index, count, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
store = FileKeyStore(directory)
signer = Signer(store, issuer="https://issuer.test", ttl=1)
validator = Validator(store, issuer="https://issuer.test", audience="api")
outbox = os.path.join(mail, f"{index}")
inbox = os.path.join(mail, f"{(index + 1) % count}")
stats = {"issued": 0, "own": 0, "peer": 0, "failures": [], "kids": {}}
while time.time() < deadline:
    try:
        issued = signer.issue_token("user", audience="api")
        stats["issued"] += 1
        stats["kids"][issued.key_id] = store.keyset.get(issued.key_id).not_before
        validator.validate(issued.token)
        stats["own"] += 1
        with open(outbox + ".tmp", "w") as f:
            f.write(f"{time.time()} {issued.token}")
        os.replace(outbox + ".tmp", outbox)
        try:
            with open(inbox) as f:
                sent, token = f.read().split(" ")
        except FileNotFoundError:
            continue
        if time.time() - float(sent) < 0.5:
            validator.validate(token)
            stats["peer"] += 1
    except TokensmithError as exc:
        stats["failures"].append(exc.code)
print(json.dumps(stats))
"""


def test_four_processes_agree_while_keys_rotate(tmp_path: Path) -> None:
    directory, mail = tmp_path / "keys", tmp_path / "mail"
    mail.mkdir()
    policy = RotationPolicy(rotate_every=2, publish_ahead=1, verify_for=2, alg="ES256")
    FileKeyStore(directory, policy=policy).signing_key()
    count = 4
    deadline = time.time() + 4.2
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(mail), str(i), str(count)]
            + [repr(deadline)],
            stdout=subprocess.PIPE,
            env=_env(),
        )
        for i in range(count)
    ]
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0
        results.append(json.loads(out))
    assert [r["failures"] for r in results] == [[]] * count
    assert all(r["issued"] > 20 and r["peer"] > 10 for r in results), results
    used: dict[str, float] = {}
    for r in results:
        for kid, not_before in r["kids"].items():
            assert used.setdefault(kid, not_before) == not_before
    assert len(used) >= 2, "no rotation happened during the run"
    starts = sorted(used.values())
    assert len(set(starts)) == len(starts)  # never two keys activating at the same instant
    assert all(b - a >= policy.rotate_every - 1e-6 for a, b in zip(starts, starts[1:]))
    final = FileKeyStore(directory)
    private = sorted(k.not_before or 0.0 for k in final.keyset if k.is_private)
    assert all(b - a >= policy.rotate_every - 1e-6 for a, b in zip(private, private[1:]))
    pending = [k for k in final.keyset if key_state(k, time.time()) == "pending"]
    assert len(pending) <= 1  # never rotated twice
    # ~6 s of key history at most: creation, first key, then a publish and a drop per period
    assert final.generation <= 2 + 2 * 4


# --- who may change the directory (issue 14 item 1) -----------------------------------------------

OTHER_UID = 65534  # "nobody": the tests run as root, so they can hand a file to another user
HS_POLICY = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="HS256")


def refused_store(
    call: Any, error: type[TokensmithError] = InsecureKeyDirectory
) -> TokensmithError:
    """Run ``call``; it must raise exactly ``error``."""
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error, type(caught.value).__name__
    return caught.value


def planted_manifest(tmp_path: Path, clock: FakeClock) -> tuple[bytes, Key]:
    """A manifest holding a local attacker's own HMAC key (made in a directory of their own)."""
    own = tmp_path / "attacker"
    key = Key.generate("HS256").with_lifecycle(not_before=clock() - 60)
    FileKeyStore(own, policy=HS_POLICY, clock=clock).replace(KeySet([key]))
    return manifest(own).read_bytes(), key


def test_a_manifest_planted_in_a_world_writable_directory_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The review's attack: another local user writes their own manifest into a 0777 key
    directory and signs an HMAC token for ``sub=admin``; the store must refuse the directory."""
    directory = tmp_path / "keys"
    directory.mkdir()
    os.chmod(directory, 0o777)
    data, key = planted_manifest(tmp_path, clock)
    manifest(directory).write_bytes(data)
    os.chown(manifest(directory), OTHER_UID, OTHER_UID)
    error = refused_store(lambda: FileKeyStore(directory, clock=clock))
    assert str(directory) in str(error) and "writable" in str(error)
    assert error.code == "insecure_key_directory"
    assert isinstance(error, ConfigurationError)
    assert key.to_jwk(private=True)["k"] not in str(error)


def test_an_empty_world_writable_directory_is_refused_not_repaired(
    tmp_path: Path, clock: FakeClock
) -> None:
    for mode in (0o777, 0o770, 0o1777, 0o702):
        directory = tmp_path / f"keys-{mode:o}"
        directory.mkdir()
        os.chmod(directory, mode)
        refused_store(lambda d=directory: FileKeyStore(d, policy=POLICY, clock=clock))
        assert stat.S_IMODE(directory.stat().st_mode) == mode  # someone else may be in there
        assert list(directory.iterdir()) == []


def test_a_directory_that_became_writable_is_refused(keydir: Path, clock: FakeClock) -> None:
    os.chmod(keydir, 0o777)
    refused_store(lambda: FileKeyStore(keydir, clock=clock))


def test_a_directory_of_another_user_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, OTHER_UID, OTHER_UID)
    error = refused_store(lambda: FileKeyStore(directory, policy=POLICY, clock=clock))
    assert str(directory) in str(error) and "owned by" in str(error)


def test_a_symlinked_directory_is_refused(keydir: Path, tmp_path: Path, clock: FakeClock) -> None:
    link = tmp_path / "link"
    link.symlink_to(keydir, target_is_directory=True)
    error = refused_store(lambda: FileKeyStore(link, clock=clock))
    assert str(link) in str(error) and "symbolic link" in str(error)
    refused_store(lambda: FileKeyStore(link, policy=POLICY, clock=clock))


def test_a_readable_directory_we_own_is_tightened_to_0700(tmp_path: Path, clock: FakeClock) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    os.chmod(directory, 0o755)
    FileKeyStore(directory, policy=POLICY, clock=clock).signing_key()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    os.chmod(directory, 0o750)
    FileKeyStore(directory, clock=clock)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_symlinked_manifest_is_refused(keydir: Path, tmp_path: Path, clock: FakeClock) -> None:
    data, _key = planted_manifest(tmp_path, clock)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(data)
    os.chmod(elsewhere, 0o600)
    manifest(keydir).unlink()
    manifest(keydir).symlink_to(elsewhere)
    error = refused_store(lambda: FileKeyStore(keydir, clock=clock))
    assert str(manifest(keydir)) in str(error) and "symbolic link" in str(error)


def test_a_manifest_owned_by_another_user_is_refused(
    keydir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    os.chown(manifest(keydir), OTHER_UID, OTHER_UID)
    error = refused_store(lambda: FileKeyStore(keydir, clock=clock))
    assert str(manifest(keydir)) in str(error) and "owned by" in str(error)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o666], ids=oct)
def test_a_manifest_others_may_read_or_write_is_refused(
    keydir: Path, clock: FakeClock, mode: int
) -> None:
    """The manifest holds private keys and HMAC secrets: like ssh with a private key file, a
    manifest with any group or other permission is refused rather than silently fixed."""
    os.chmod(manifest(keydir), mode)
    error = refused_store(lambda: FileKeyStore(keydir, clock=clock))
    assert str(manifest(keydir)) in str(error) and f"{mode:o}" in str(error)
    assert stat.S_IMODE(manifest(keydir).stat().st_mode) == mode


def test_a_manifest_that_is_not_a_regular_file_is_refused_without_blocking(
    keydir: Path, clock: FakeClock
) -> None:
    manifest(keydir).unlink()
    os.mkfifo(manifest(keydir), 0o600)  # opening a FIFO for reading would wait for a writer
    error = refused_store(lambda: FileKeyStore(keydir, clock=clock), KeyStoreCorrupt)
    assert "not a regular file" in str(error)


@pytest.mark.parametrize("how", ["symlink", "owner", "mode"])
def test_an_untrusted_lock_file_is_refused(
    keydir: Path, tmp_path: Path, clock: FakeClock, how: str
) -> None:
    store = FileKeyStore(keydir, clock=clock)
    lock = keydir / LOCK_NAME
    if how == "symlink":
        target = tmp_path / "their.lock"
        target.write_text("")
        lock.unlink()
        lock.symlink_to(target)
    elif how == "owner":
        os.chown(lock, OTHER_UID, OTHER_UID)
    else:
        os.chmod(lock, 0o666)
    error = refused_store(store.rotate)
    assert str(lock) in str(error)


def test_a_manifest_swapped_while_running_is_refused(
    keydir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    store = FileKeyStore(keydir, clock=clock)
    kid = store.signing_key().kid
    original = manifest(keydir).read_bytes()
    data, _key = planted_manifest(tmp_path, clock)
    planted = keydir / "planted"
    planted.write_bytes(data)
    os.chmod(planted, 0o600)
    os.chown(planted, OTHER_UID, OTHER_UID)
    os.replace(planted, manifest(keydir))
    clock.advance(1)
    for _ in range(2):  # every call until it is fixed, not once
        refused_store(store.signing_key)
        refused_store(lambda: store.verification_key(kid, "ES256"))
    manifest(keydir).write_bytes(original)  # our own file again (same owner, 0600)
    os.chown(manifest(keydir), os.geteuid(), os.getegid())
    assert store.signing_key().kid == kid


def test_files_are_0600_in_a_0700_directory_whatever_the_umask(
    tmp_path: Path, clock: FakeClock
) -> None:
    for umask in (0o000, 0o022, 0o277):
        old = os.umask(umask)
        try:
            directory = tmp_path / f"umask-{umask:o}"
            store = FileKeyStore(directory, passphrase=b"pw", policy=POLICY, clock=clock)
            store.signing_key()
            store.rotate()
        finally:
            os.umask(old)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for path in directory.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (umask, path.name)
        FileKeyStore(directory, passphrase=b"pw", clock=clock).signing_key()


def test_a_directory_swapped_for_a_symlink_while_running_is_refused(
    keydir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    store = FileKeyStore(keydir, clock=clock)
    store.signing_key()
    moved = tmp_path / "moved"
    keydir.rename(moved)
    keydir.symlink_to(moved, target_is_directory=True)
    error = refused_store(store.rotate)  # the lock is taken in the directory itself
    assert str(keydir) in str(error) and "symbolic link" in str(error)


def test_a_directory_removed_while_running_is_corrupt(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, clock=clock)
    store.signing_key()
    for path in keydir.iterdir():
        path.unlink()
    keydir.rmdir()
    refused_store(store.rotate, KeyStoreCorrupt)
    clock.advance(1)
    refused_store(store.signing_key, KeyStoreCorrupt)


def test_a_lock_file_that_is_a_directory_is_corrupt(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, clock=clock)
    (keydir / LOCK_NAME).unlink()
    (keydir / LOCK_NAME).mkdir(mode=0o700)
    error = refused_store(store.rotate, KeyStoreCorrupt)
    assert str(keydir / LOCK_NAME) in str(error)
