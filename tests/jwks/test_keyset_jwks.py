"""KeySet.from_jwks, and the one JWKS parser it shares with RemoteJWKS and ``verify --jwks``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensmith.cli as cli
from tests.support.jwks_server import JWKSServer
from tokensmith import (
    ConfigurationError,
    InvalidKey,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    SkippedKey,
    Validator,
    WeakKey,
)
from tokensmith.errors import JWKSFetchError, KeyMaterialError
from tokensmith.jwks import RemoteJWKS
from tokensmith.testing import FakeClock

ISS = "https://auth.example.test"
AUD = "orders-api"


def _without(jwk: dict[str, Any], member: str) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k != member}


GOOD = Key.generate("ES256", kid="good")
# each unusable member, the reason it is refused, and the class a strict parse raises
UNUSABLE: list[tuple[str, Any, str, type[KeyMaterialError]]] = [
    ("not-object", "a string", "not a JSON object", InvalidKey),
    (
        "private",
        Key.generate("ES256", kid="private").to_jwk(private=True),
        "private key material in a public key set",
        InvalidKey,
    ),
    (
        "secret",
        Key.generate("HS256", kid="secret").to_jwk(private=True),
        "a symmetric (oct) key in a public key set",
        InvalidKey,
    ),
    (
        "enc",
        {**Key.generate("RS256", kid="enc").to_jwk(), "use": "enc"},
        "'use' is not 'sig'",
        InvalidKey,
    ),
    (
        "sign-only",
        {**Key.generate("ES256", kid="sign-only").to_jwk(), "key_ops": ["sign"]},
        "'key_ops' does not allow 'verify'",
        InvalidKey,
    ),
    (
        "no-alg",
        _without(Key.generate("RS256", kid="no-alg").to_jwk(), "alg"),
        "the JWK has no 'alg' member; pass default_algorithms={'RSA': ...}",
        InvalidKey,
    ),
    (
        "hmac-alg",
        {**Key.generate("ES256", kid="hmac-alg").to_jwk(), "alg": "HS256"},
        "unsupported algorithm 'HS256'",
        InvalidKey,
    ),
    (
        "bad-kty",
        {**Key.generate("ES256", kid="bad-kty").to_jwk(), "kty": ["EC"]},
        "unsupported key type list",
        InvalidKey,
    ),
    ("bad-kid", {**GOOD.to_jwk(), "kid": ""}, "'kid' must be a non-empty string", InvalidKey),
    (
        "curve",
        {**Key.generate("ES384", kid="curve").to_jwk(), "alg": "ES256"},
        "ES256 requires curve P-256",
        InvalidKey,
    ),
    (
        "weak-rsa",
        {"kty": "RSA", "alg": "RS256", "kid": "weak-rsa", "n": "AQAB" * 40, "e": "AQAB"},
        "RSA keys must be at least 2048 bits",
        WeakKey,
    ),
]


@pytest.mark.parametrize(
    ("name", "member", "reason", "error"), UNUSABLE, ids=[u[0] for u in UNUSABLE]
)
def test_strict_refuses_any_unusable_key_naming_it(
    name: str, member: Any, reason: str, error: type[KeyMaterialError]
) -> None:
    with pytest.raises(error) as info:
        KeySet.from_jwks({"keys": [GOOD.to_jwk(), member]})
    assert type(info.value) is error
    kid = {"not-object": "", "bad-kid": " ('')"}.get(name, f" ({name!r})")
    assert info.value.message.startswith(f"JWKS key #1{kid}: ")
    assert reason in info.value.message


@pytest.mark.parametrize(
    ("name", "member", "reason", "error"), UNUSABLE, ids=[u[0] for u in UNUSABLE]
)
def test_lenient_skips_and_reports_each_unusable_key(
    name: str, member: Any, reason: str, error: type[KeyMaterialError]
) -> None:
    skipped: list[SkippedKey] = []
    keys = KeySet.from_jwks({"keys": [member, GOOD.to_jwk()]}, strict=False, on_skip=skipped.append)
    assert [k.kid for k in keys] == ["good"]
    assert len(skipped) == 1 and skipped[0].position == 0
    assert skipped[0].reason.startswith(f"{error.code}: ") and reason in skipped[0].reason


def test_lenient_reports_to_the_log_by_default(caplog: pytest.LogCaptureFixture) -> None:
    private = Key.generate("ES256", kid="private\nkid")
    with caplog.at_level(logging.WARNING, logger="tokensmith.jwks"):
        keys = KeySet.from_jwks(
            {"keys": [GOOD.to_jwk(), private.to_jwk(private=True)]}, strict=False
        )
    assert len(keys) == 1
    assert "JWKS: skipped key #1 ('private\\nkid'): invalid_key: private key" in caplog.text
    assert private.to_jwk(private=True)["d"] not in caplog.text
    assert "\nkid" not in caplog.text


def test_duplicate_kids_refuse_every_key_sharing_one() -> None:
    twin = {**Key.generate("ES256").to_jwk(), "kid": "good"}
    document = {"keys": [GOOD.to_jwk(), twin, Key.generate("EdDSA", kid="ed").to_jwk()]}
    with pytest.raises(InvalidKey, match=r"JWKS key #0 \('good'\): duplicate kid \(shared with"):
        KeySet.from_jwks(document)
    skipped: list[SkippedKey] = []
    keys = KeySet.from_jwks(document, strict=False, on_skip=skipped.append)
    assert [k.kid for k in keys] == ["ed"]
    assert [(s.position, s.kid) for s in skipped] == [(0, "good"), (1, "good")]


def test_a_published_set_round_trips_and_validates() -> None:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    token = Signer(store, issuer=ISS, clock=clock).issue("user-1", audience=AUD)
    for document in (store.jwks(), json.dumps(store.jwks()), json.dumps(store.jwks()).encode()):
        keys = KeySet.from_jwks(document)
        assert all(not k.is_private for k in keys)
        source = MemoryKeyStore(keys, clock=clock)
        validator = Validator(source, issuer=ISS, audience=AUD, clock=clock)
        assert validator.validate(token).subject == "user-1"


def test_keys_without_alg_need_default_algorithms() -> None:
    rsa = Key.generate("RS256", kid="rsa")
    document = {"keys": [_without(rsa.to_jwk(), "alg")]}
    with pytest.raises(InvalidKey, match="no 'alg' member; pass default_algorithms"):
        KeySet.from_jwks(document)
    keys = KeySet.from_jwks(document, default_algorithms={"RSA": "PS256"})
    assert keys.get("rsa") is not None and keys.get("rsa").alg == "PS256"  # type: ignore[union-attr]


def test_algorithms_narrow_the_accepted_keys() -> None:
    document = {"keys": [GOOD.to_jwk(), Key.generate("EdDSA", kid="ed").to_jwk()]}
    with pytest.raises(InvalidKey, match="algorithm ES256 is not allowed here"):
        KeySet.from_jwks(document, algorithms=["EdDSA"])
    assert [k.kid for k in KeySet.from_jwks(document, algorithms=["EdDSA"], strict=False)] == ["ed"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "is not valid JSON"),
        (b'{"keys": [], "keys": []}', "is not valid JSON"),
        ([GOOD.to_jwk()], "not a JSON object"),
        ({"kty": "EC"}, "no 'keys' member"),
        ({"keys": {}}, "'keys' is not a list"),
        ({"keys": []}, "holds no usable key"),
        ({"keys": [GOOD.to_jwk()] * 101}, "holds more than 100 keys"),
    ],
)
def test_documents_of_the_wrong_shape_are_refused(document: Any, message: str) -> None:
    for strict in (True, False):
        with pytest.raises(InvalidKey) as info:
            KeySet.from_jwks(document, strict=strict)
        assert type(info.value) is InvalidKey
        assert info.value.message.startswith("the JWKS ") and message in info.value.message


def test_a_document_without_usable_keys_still_reports_them() -> None:
    skipped: list[SkippedKey] = []
    with pytest.raises(InvalidKey, match="holds no usable key"):
        KeySet.from_jwks({"keys": ["x", "y"]}, strict=False, on_skip=skipped.append)
    assert [s.position for s in skipped] == [0, 1]


@pytest.mark.parametrize(
    "options",
    [
        {"strict": 1},
        {"on_skip": "print"},
        {"max_keys": 0},
        {"max_keys": True},
        {"algorithms": ["HS256"]},
        {"default_algorithms": {"RSA": "ES256"}},
        {"default_algorithms": {"oct": "HS256"}},
        {"default_algorithms": ["RSA"]},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        KeySet.from_jwks({"keys": [GOOD.to_jwk()]}, **options)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_MEMBERS = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["RSA", "EC", "OKP", "oct"]) | _JSON,
        "alg": st.sampled_from(["RS256", "ES256", "EdDSA", "HS256", "none"]) | _JSON,
        "kid": st.text(max_size=4) | _JSON,
        "use": st.sampled_from(["sig", "enc"]) | _JSON,
        "key_ops": st.lists(st.sampled_from(["sign", "verify"])) | _JSON,
        "crv": st.sampled_from(["P-256", "Ed25519"]) | _JSON,
        "n": st.sampled_from(["AQAB", "x"]) | _JSON,
        "e": st.sampled_from(["AQAB", "Aw", "AA", "", "=="]) | _JSON,
        "x": st.text(max_size=8) | _JSON,
        "y": st.text(max_size=8) | _JSON,
        "d": _JSON,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(_MEMBERS | _JSON, max_size=5),
    strict=st.booleans(),
)
def test_any_document_yields_keys_or_a_key_error(members: list[Any], strict: bool) -> None:
    document = {"keys": [GOOD.to_jwk(), *members]}
    try:
        keys = KeySet.from_jwks(document, strict=strict, on_skip=lambda _: None)
    except (InvalidKey, WeakKey):  # never another error
        return
    assert all(isinstance(k, Key) and not k.is_private for k in keys)


# --- the same rules on every way in ------------------------------------------------------------


def test_remote_jwks_the_cli_and_from_jwks_accept_exactly_the_same_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [GOOD.to_jwk(), *(u[1] for u in UNUSABLE)]
    document = {"keys": members}
    expected = {"good"}
    skipped: list[SkippedKey] = []
    assert {k.kid for k in KeySet.from_jwks(document, strict=False, on_skip=skipped.append)} == (
        expected
    )
    with JWKSServer() as server:
        server.serve_json("/jwks.json", document)
        remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
        remote.refresh()
        assert remote.kids == expected
        assert sorted(r for _, r in remote.skipped) == sorted(s.reason for s in skipped)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    clock = FakeClock()
    token = Signer(MemoryKeyStore(KeySet([GOOD]), clock=clock), issuer=ISS, clock=clock).issue(
        "u", audience=AUD
    )
    argv = ["verify", token, "--jwks", str(path), "--iss", ISS, "--aud", AUD]
    assert cli.main(argv, clock=clock) == cli.EXIT_OK
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == len(skipped) == len(UNUSABLE)


def test_remote_jwks_refuses_documents_like_from_jwks() -> None:
    with JWKSServer() as server:
        server.serve_json("/jwks.json", {"keys": ["x"]})
        with pytest.raises(JWKSFetchError) as info:
            RemoteJWKS(server.url(), clock=FakeClock(), timeout=2).refresh()
        assert info.value.reason == "no_usable_keys"
        assert "holds no usable key" in info.value.message


def test_one_algorithm_name_is_that_one_algorithm() -> None:
    """``algorithms="ES256"`` means ES256, as every other option that lists values."""
    key = Key.generate("ES256")
    document = {"keys": [key.public_key().to_jwk()]}
    assert len(KeySet.from_jwks(document, algorithms="ES256")) == 1
    for bad in (b"ES256", {"ES256": 1}, 3, ["ES256", 3]):
        with pytest.raises(ConfigurationError):
            KeySet.from_jwks(document, algorithms=bad)  # type: ignore[arg-type]
