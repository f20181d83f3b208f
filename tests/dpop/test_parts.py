"""The parts of tokensmith.dpop one by one: htu normalisation, nonces, the proof maker, the
retry helper, and the verifier's options and replay stores (SQLite, Redis, in both faces)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.forge import unb64
from tokensmith import ConfigurationError, InvalidKey, Key
from tokensmith.dpop import (
    DPoPNonces,
    DPoPProofMaker,
    DPoPResponse,
    DPoPVerifier,
    normalize_htu,
    send_with_dpop,
)
from tokensmith.errors import InvalidDPoPProof, ReplayedDPoPProof, UseDPoPNonce
from tokensmith.replay import RedisJtiReplayStore, SQLiteJtiReplayStore
from tokensmith.testing import FakeClock

URI = "https://api.example.test/orders"


# --- htu ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "normal"),
    [
        ("HTTPS://API.Example.TEST:443/orders?x#y", "https://api.example.test/orders"),
        ("http://api.example.test:80", "http://api.example.test/"),
        ("http://api.example.test:", "http://api.example.test/"),
        ("https://api.example.test:8443/a/%2F", "https://api.example.test:8443/a/%2F"),
        ("https://api.example.test:08443/a", "https://api.example.test:8443/a"),
        ("https://[::1]:443/x", "https://[::1]/x"),
        ("https://[::1]/x", "https://[::1]/x"),
        ("https://[::1]:8080/x", "https://[::1]:8080/x"),
        ("https://127.0.0.1:8080/X", "https://127.0.0.1:8080/X"),
    ],
)
def test_normalize_htu(uri: str, normal: str) -> None:
    assert normalize_htu(uri) == normal


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "ftp://api.example.test/x",
        "api.example.test/x",
        "https:///x",
        "https://u@api.example.test/x",
        "https://api.example.test:0/x",
        "https://api.example.test:65536/x",
        "https://api.example.test:x/x",
        "https://[::1/x",
        "https://[::1]x/x",
        "https://api.exa mple.test/x",
        "https://api.exämple.test/x",
        "https://api.example.test/" + "a" * 3000,
        "https://api\x00.example.test/",
        "https://api^example.test/",
        3,
    ],
)
def test_normalize_htu_refuses(uri: str) -> None:
    assert normalize_htu(uri) is None


@given(st.text(max_size=60))
def test_normalize_htu_never_raises(uri: str) -> None:
    normal = normalize_htu(uri)
    assert normal is None or normalize_htu(normal) == normal


# --- nonces ------------------------------------------------------------------------------------


def test_nonces_rotate_and_overlap_one_window() -> None:
    clock = FakeClock(1_000_000.0)
    nonces = DPoPNonces(b"s" * 32, lifetime=60, clock=clock)
    first = nonces.issue()
    assert nonces.issue() == first and nonces.is_valid(first)
    clock.advance(60)
    assert nonces.issue() != first and nonces.is_valid(first)
    clock.advance(60)
    assert not nonces.is_valid(first)
    clock.set(1_000_000.0 - 60)
    assert not nonces.is_valid(first)  # from the future
    assert repr(nonces) == "DPoPNonces(lifetime=60)"
    for bad in (None, 3, "", "!" * 32, first[:-2]):
        assert not nonces.is_valid(bad)


def test_nonce_configuration() -> None:
    for bad in (
        lambda: DPoPNonces(b"short"),
        lambda: DPoPNonces("s" * 32),  # type: ignore[arg-type]
        lambda: DPoPNonces(b"s" * 32, lifetime=1),
    ):
        with pytest.raises(ConfigurationError):
            bad()


def test_nonce_required_per_call() -> None:
    clock = FakeClock(1_700_000_000.0)
    maker = DPoPProofMaker(Key.generate("ES256"), clock=clock)
    plain = DPoPVerifier(clock=clock)
    with pytest.raises(ConfigurationError):
        plain.verify(maker.proof("GET", URI), method="GET", uri=URI, nonce_required=True)
    carried = plain.verify(maker.proof("GET", URI, nonce="n-1"), method="GET", uri=URI)
    assert carried.nonce == "n-1"
    nonces = DPoPNonces(b"s" * 32, clock=clock)
    strict = DPoPVerifier(nonces=nonces, clock=clock)
    assert strict.verify(maker.proof("GET", URI), method="GET", uri=URI, nonce_required=False)
    with pytest.raises(UseDPoPNonce):  # optional, yet a stale nonce is still answered
        strict.verify(
            maker.proof("GET", URI, nonce="x"), method="GET", uri=URI, nonce_required=False
        )


# --- the proof maker ---------------------------------------------------------------------------


def test_the_proof_maker_writes_rfc_proofs() -> None:
    key = Key.generate("ES256")
    maker = DPoPProofMaker(key, clock=lambda: 1_700_000_000.9)
    header_b64, payload_b64, _ = maker.proof("post", URI + "?q=1#f", access_token="t").split(".")
    header = json.loads(unb64(header_b64))
    payload = json.loads(unb64(payload_b64))
    assert header == {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {k: v for k, v in key.to_jwk().items() if k in "kty crv x y"},
    }
    assert set(payload) == {"jti", "htm", "htu", "iat", "ath"}
    assert (payload["htm"], payload["htu"], payload["iat"]) == ("post", URI, 1_700_000_000)
    assert len(unb64(payload["jti"])) == 16
    assert "private" not in repr(maker) and maker.jkt in repr(maker)
    rsa = DPoPProofMaker(Key.generate("PS256"))
    assert set(json.loads(unb64(rsa.proof("GET", URI).split(".")[0]))["jwk"]) == {"kty", "n", "e"}


def test_the_proof_maker_refuses() -> None:
    for key, error in (
        (Key.from_secret(b"k" * 32), InvalidKey),
        (Key.generate("ES256").public_key(), InvalidKey),
        ("a key", ConfigurationError),
    ):
        with pytest.raises(error):
            DPoPProofMaker(key)  # type: ignore[arg-type]
    maker = DPoPProofMaker(Key.generate("ES256"))
    for call in (
        lambda: maker.proof("GET", "/relative"),
        lambda: maker.proof("GET /x", URI),
        lambda: maker.proof("GET", URI, access_token="tökén"),
        lambda: maker.remember_nonce("/relative", "n"),
        lambda: maker.remember_nonce(URI, ""),
    ):
        with pytest.raises(ConfigurationError):
            call()


def test_remembered_nonces_are_per_origin() -> None:
    maker = DPoPProofMaker(Key.generate("ES256"))
    maker.remember_nonce("https://a.example.test:443/x", "n-a")

    def nonce(uri: str) -> object:
        return json.loads(unb64(maker.proof("GET", uri).split(".")[1])).get("nonce")

    assert nonce("https://A.example.test/other") == "n-a"
    assert nonce("https://b.example.test/x") is None
    assert (
        json.loads(unb64(maker.proof("GET", URI, nonce="given").split(".")[1]))["nonce"] == "given"
    )


# --- the retry helper --------------------------------------------------------------------------


def _sent(*answers: DPoPResponse[str]) -> tuple[list[str], object]:
    proofs: list[str] = []
    queue = list(answers)

    def send(proof: str) -> DPoPResponse[str]:
        proofs.append(proof)
        return queue.pop(0)

    return proofs, send


def test_retry_once_on_a_token_endpoint_400() -> None:
    maker = DPoPProofMaker(Key.generate("ES256"))
    proofs, send = _sent(
        DPoPResponse(400, {"DPoP-Nonce": "n1"}, "first"),
        DPoPResponse(400, {"DPoP-Nonce": "n2"}, "second"),
    )
    answer: Any = send_with_dpop(send, maker, "POST", URI)  # type: ignore[arg-type]
    assert answer.response == "second" and len(proofs) == 2  # never a third attempt
    assert json.loads(unb64(proofs[1].split(".")[1]))["nonce"] == "n1"
    assert json.loads(unb64(maker.proof("GET", URI).split(".")[1]))["nonce"] == "n2"
    assert repr(answer) == "DPoPResponse(400)"


@pytest.mark.parametrize(
    "answer",
    [
        DPoPResponse(200, {"DPoP-Nonce": "fresh"}, "ok"),
        DPoPResponse(
            401, [("WWW-Authenticate", 'DPoP error="invalid_token"'), ("DPoP-Nonce", "n")], ""
        ),
        DPoPResponse(401, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"'}, ""),
        DPoPResponse(400, {"DPoP-Nonce": "bad\x00nonce"}, ""),
    ],
)
def test_no_retry(answer: DPoPResponse[str]) -> None:
    maker = DPoPProofMaker(Key.generate("ES256"))
    proofs, send = _sent(answer)
    if answer.status == 400:  # an unusable nonce is not remembered, but the 400 asks for one
        proofs, send = _sent(answer, DPoPResponse(200, {}, "ok"))
    send_with_dpop(send, maker, "GET", URI)  # type: ignore[arg-type]
    assert len(proofs) == (2 if answer.status == 400 else 1)


# --- the verifier: replay stores and faces ----------------------------------------------------


def _both_faces(verifier: DPoPVerifier, proof: str) -> None:
    verifier.verify(proof, method="GET", uri=URI)
    with pytest.raises(ReplayedDPoPProof):
        asyncio.run(verifier.averify(proof, method="GET", uri=URI))


def test_sqlite_replay_store(tmp_path: Path) -> None:
    store = SQLiteJtiReplayStore(tmp_path / "jti.db")
    verifier = DPoPVerifier(replay=store)
    maker = DPoPProofMaker(Key.generate("ES256"))
    _both_faces(verifier, maker.proof("GET", URI))
    asyncio.run(verifier.averify(maker.proof("GET", URI), method="GET", uri=URI))
    assert "nonces=False" in repr(verifier)


def test_an_empty_sqlite_store_is_kept_and_shared_by_workers(tmp_path: Path) -> None:
    """An empty store has len() 0: it must not be swapped for a per-process memory store."""
    store = SQLiteJtiReplayStore(tmp_path / "jti.db")
    assert len(store) == 0
    one = DPoPVerifier(replay=store)
    assert one.replay is store
    two = DPoPVerifier(replay=SQLiteJtiReplayStore(tmp_path / "jti.db"))  # another worker
    proof = DPoPProofMaker(Key.generate("ES256")).proof("GET", URI)
    asyncio.run(one.averify(proof, method="GET", uri=URI))  # the store asked in the pool
    with pytest.raises(ReplayedDPoPProof):
        two.verify(proof, method="GET", uri=URI)


def test_redis_replay_store_is_shared_by_replicas(redis_url: str) -> None:
    maker = DPoPProofMaker(Key.generate("ES256"))
    one = DPoPVerifier(replay=RedisJtiReplayStore.from_url(redis_url))
    two = DPoPVerifier(replay=RedisJtiReplayStore.from_url(redis_url))
    proof = maker.proof("GET", URI)
    one.verify(proof, method="GET", uri=URI)
    with pytest.raises(ReplayedDPoPProof):
        two.verify(proof, method="GET", uri=URI)


def test_the_key_cache_is_bounded() -> None:
    verifier = DPoPVerifier()
    for _ in range(3):
        verifier.verify(
            DPoPProofMaker(Key.generate("ES256")).proof("GET", URI), method="GET", uri=URI
        )
    verifier._keys.update({str(i): verifier._keys[next(iter(verifier._keys))] for i in range(1100)})
    verifier.verify(DPoPProofMaker(Key.generate("ES256")).proof("GET", URI), method="GET", uri=URI)
    assert len(verifier._keys) == 1


def test_request_arguments() -> None:
    verifier = DPoPVerifier()
    proof = DPoPProofMaker(Key.generate("ES256")).proof("GET", URI)
    with pytest.raises(ConfigurationError):
        verifier.verify(proof, method=None, uri=URI)  # type: ignore[arg-type]
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(proof, method="GET", uri="not a uri")


def test_the_faces_are_twins() -> None:
    from tests.support.faces import assert_twin_functions
    from tokensmith.dpop import asend_with_dpop

    assert_twin_functions(send_with_dpop, asend_with_dpop)
    assert_twin_functions(DPoPVerifier.verify, DPoPVerifier.averify)
