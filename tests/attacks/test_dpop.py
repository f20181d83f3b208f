"""Attacks on DPoP (RFC 9449 §11): proofs replayed, moved to another request, stale, signed
with the wrong key or no key, carrying private keys or huge keys, and DPoP-bound access tokens
presented without their proof or with another key's proof.

Proofs are forged with :mod:`tests.support.forge` (stdlib base64, never tokensmith's). Each
attack runs through ``verify()`` and again through ``averify()`` (the ``face`` fixture), and
asserts the exact refusal class.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attacks._assert import Face, refused, validated
from tests.support.forge import NOW, b64, forge, segment
from tokensmith import Confirmation, Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.dpop import DPoPNonces, DPoPProof, DPoPProofMaker, DPoPVerifier
from tokensmith.errors import (
    InvalidConfirmation,
    InvalidDPoPProof,
    ReplayedDPoPProof,
    TokensmithError,
    UseDPoPNonce,
)
from tokensmith.testing import FakeClock
from tokensmith.web import Guard, RequestFacts

URI = "https://api.example.test/orders"
AUDIENCE = "orders-api"
ISSUER = "https://auth.example.test"


@pytest.fixture(scope="module")
def client_key() -> Key:
    return Key.generate("ES256")


@pytest.fixture(scope="module")
def other_key() -> Key:
    return Key.generate("ES256")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def verifier(clock: FakeClock) -> DPoPVerifier:
    return DPoPVerifier(clock=clock)


def verified(verifier: DPoPVerifier, proof: str, **request: Any) -> DPoPProof:
    """``verifier.verify`` (or ``averify``, per the face) for a GET of :data:`URI`."""
    request.setdefault("method", "GET")
    request.setdefault("uri", URI)
    if Face.name == "validate":
        return verifier.verify(proof, **request)
    assert Face.runner is not None
    return Face.runner.run(verifier.averify(proof, **request))


def refused_proof(
    verifier: DPoPVerifier, proof: str, error: type[TokensmithError], **request: Any
) -> TokensmithError:
    with pytest.raises(error) as info:
        verified(verifier, proof, **request)
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value)}"
    return info.value


def public_jwk(key: Key) -> dict[str, Any]:
    return {k: v for k, v in key.to_jwk().items() if k in ("kty", "crv", "x", "y", "n", "e")}


def header(key: Key, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"typ": "dpop+jwt", "alg": key.alg, "jwk": public_jwk(key)}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def payload(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"jti": "proof-1", "htm": "GET", "htu": URI, "iat": NOW}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode("ascii")).digest())


# --- the proof itself ------------------------------------------------------------------------


def test_a_well_formed_proof_is_accepted(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = verified(verifier, forge(header(client_key), payload(), client_key))
    assert proof.jkt == client_key.thumbprint()


def test_replayed_proof(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(), client_key)
    verified(verifier, proof)
    refused_proof(verifier, proof, ReplayedDPoPProof)


def test_proof_for_another_method(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(htm="POST"), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof)
    refused_proof(
        verifier, forge(header(client_key), payload(htm="get"), client_key), InvalidDPoPProof
    )


@pytest.mark.parametrize(
    "htu",
    [
        "https://api.example.test/orders/1",
        "https://api.example.test/Orders",
        "https://evil.example.test/orders",
        "http://api.example.test/orders",
        "https://api.example.test:8443/orders",
        "https://user@api.example.test/orders",
        "/orders",
        "",
    ],
)
def test_proof_for_another_uri(verifier: DPoPVerifier, client_key: Key, htu: str) -> None:
    refused_proof(
        verifier, forge(header(client_key), payload(htu=htu), client_key), InvalidDPoPProof
    )


def test_uri_comparison_ignores_case_default_port_query_fragment(
    verifier: DPoPVerifier, client_key: Key
) -> None:
    htu = "HTTPS://API.Example.TEST:443/orders?page=2#top"
    verified(
        verifier, forge(header(client_key), payload(htu=htu), client_key), uri=URI + "?other=1"
    )


@pytest.mark.parametrize("offset", [-66, -3600, 6, 3600])
def test_stale_or_future_iat(verifier: DPoPVerifier, client_key: Key, offset: int) -> None:
    proof = forge(header(client_key), payload(iat=NOW + offset), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof)


@pytest.mark.parametrize("offset", [-65, 5])
def test_iat_at_the_window_edges(verifier: DPoPVerifier, client_key: Key, offset: int) -> None:
    verified(verifier, forge(header(client_key), payload(iat=NOW + offset), client_key))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k", "oth"])
def test_jwk_with_private_members(verifier: DPoPVerifier, member: str) -> None:
    key = Key.generate("ES256")
    jwk = {**public_jwk(key), member: b64(b"\x01" * 32)}
    refused_proof(verifier, forge(header(key, jwk=jwk), payload(), key), InvalidDPoPProof)


def test_jwk_exported_with_its_private_key(verifier: DPoPVerifier) -> None:
    key = Key.generate("ES256")
    jwk = key.to_jwk(private=True)
    refused_proof(verifier, forge(header(key, jwk=jwk), payload(), key), InvalidDPoPProof)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_symmetric_alg(verifier: DPoPVerifier, alg: str) -> None:
    secret = b"s" * 64
    jwk = {"kty": "oct", "k": b64(secret)}
    proof = forge(
        {"typ": "dpop+jwt", "alg": alg, "jwk": jwk}, payload(), Key.from_secret(secret, alg)
    )
    refused_proof(verifier, proof, InvalidDPoPProof)


def test_hmac_keyed_with_the_public_jwk(verifier: DPoPVerifier, client_key: Key) -> None:
    import hmac

    h = header(client_key, alg="HS256")
    signing_input = f"{segment(h)}.{segment(payload())}"
    secret = segment(public_jwk(client_key)).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    refused_proof(verifier, f"{signing_input}.{b64(mac)}", InvalidDPoPProof)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None])
def test_alg_none(verifier: DPoPVerifier, client_key: Key, alg: str | None) -> None:
    h = header(client_key, alg=alg)
    refused_proof(verifier, forge(h, payload(), signature=b""), InvalidDPoPProof)


def test_signed_by_another_key_than_its_jwk(
    verifier: DPoPVerifier, client_key: Key, other_key: Key
) -> None:
    refused_proof(verifier, forge(header(client_key), payload(), other_key), InvalidDPoPProof)


def test_alg_that_does_not_fit_the_jwk(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key, alg="ES384"), payload(), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof)
    rsa = Key.generate("PS256")
    refused_proof(
        verifier,
        forge(header(rsa, alg="RS256", jwk=public_jwk(client_key)), payload(), rsa),
        InvalidDPoPProof,
    )


def test_weak_rsa_jwk(verifier: DPoPVerifier) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    numbers = weak.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64(numbers.n.to_bytes(128, "big")), "e": "AQAB"}
    refused_proof(
        verifier,
        forge(header(Key.generate("RS256"), jwk=jwk), payload(), signature=b"\x00" * 128),
        InvalidDPoPProof,
    )


def test_huge_jwk(verifier: DPoPVerifier, client_key: Key) -> None:
    jwk = {**public_jwk(client_key), "x5c": ["A" * 100_000]}
    refused_proof(
        verifier, forge(header(client_key, jwk=jwk), payload(), client_key), InvalidDPoPProof
    )
    many = {**public_jwk(client_key), **{f"m{i}": i for i in range(20)}}
    refused_proof(
        verifier, forge(header(client_key, jwk=many), payload(), client_key), InvalidDPoPProof
    )


def test_huge_rsa_modulus_is_refused_before_decoding(verifier: DPoPVerifier) -> None:
    jwk = {"kty": "RSA", "n": b64(b"\xff" * 2048), "e": "AQAB"}
    proof = forge(header(Key.generate("RS256"), jwk=jwk), payload(), signature=b"\x00" * 2048)
    assert len(proof) > verifier.max_length
    refused_proof(verifier, proof, InvalidDPoPProof)


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": None},
        {"typ": "JWT"},
        {"typ": "at+jwt"},
        {"typ": "DPOP+JWT"},
        {"jwk": None},
        {"jwk": "a JWK"},
        {"crit": ["exp"]},
        {"jku": "https://evil.example.test/jwks"},
        {"b64": False},
    ],
)
def test_header_shapes(verifier: DPoPVerifier, client_key: Key, changes: dict[str, Any]) -> None:
    refused_proof(
        verifier, forge(header(client_key, **changes), payload(), client_key), InvalidDPoPProof
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"jti": None},
        {"jti": ""},
        {"jti": 7},
        {"jti": "j" * 257},
        {"htm": None},
        {"htu": None},
        {"htu": 3},
        {"iat": None},
        {"iat": "1700000000"},
        {"iat": True},
    ],
)
def test_claim_shapes(verifier: DPoPVerifier, client_key: Key, changes: dict[str, Any]) -> None:
    refused_proof(
        verifier, forge(header(client_key), payload(**changes), client_key), InvalidDPoPProof
    )


@pytest.mark.parametrize(
    "proof",
    ["", "a.b", "a.b.c.d", "é.é.é", "!!.!!.!!", "e30.e30.AAAA", "bnVsbA.bnVsbA.AA"],
)
def test_not_a_jws(verifier: DPoPVerifier, proof: str) -> None:
    refused_proof(verifier, proof, InvalidDPoPProof)


def test_signature_not_base64url(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(), client_key)
    refused_proof(verifier, proof + "=", InvalidDPoPProof)


# --- ath: the proof is for this access token -----------------------------------------------


def test_ath_mismatch(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(ath=ath("another-token")), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof, access_token="the-token")


def test_ath_missing_when_a_token_is_presented(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof, access_token="the-token")


def test_ath_of_a_non_ascii_token(verifier: DPoPVerifier, client_key: Key) -> None:
    proof = forge(header(client_key), payload(ath=ath("token")), client_key)
    refused_proof(verifier, proof, InvalidDPoPProof, access_token="tökén")


# --- nonces ---------------------------------------------------------------------------------


@pytest.fixture
def nonces(clock: FakeClock) -> DPoPNonces:
    return DPoPNonces(b"n" * 32, lifetime=60, clock=clock)


def test_missing_nonce(clock: FakeClock, nonces: DPoPNonces, client_key: Key) -> None:
    verifier = DPoPVerifier(nonces=nonces, clock=clock)
    error = refused_proof(verifier, forge(header(client_key), payload(), client_key), UseDPoPNonce)
    assert isinstance(error, UseDPoPNonce) and nonces.is_valid(error.nonce)
    verified(verifier, forge(header(client_key), payload(nonce=error.nonce), client_key))


def test_stale_nonce(clock: FakeClock, nonces: DPoPNonces, client_key: Key) -> None:
    verifier = DPoPVerifier(nonces=nonces, clock=clock)
    old = nonces.issue()
    clock.advance(121)
    proof = forge(header(client_key), payload(iat=clock(), nonce=old), client_key)
    refused_proof(verifier, proof, UseDPoPNonce)


def test_nonce_from_another_server(clock: FakeClock, nonces: DPoPNonces, client_key: Key) -> None:
    verifier = DPoPVerifier(nonces=nonces, clock=clock)
    foreign = DPoPNonces(b"x" * 32, lifetime=60, clock=clock).issue()
    for nonce in (foreign, "made-up", 42, foreign[:-1] + "A"):
        proof = forge(header(client_key), payload(jti=f"j-{nonce}", nonce=nonce), client_key)
        refused_proof(verifier, proof, UseDPoPNonce)


def test_reusing_a_nonce_does_not_replay_a_proof(
    clock: FakeClock, nonces: DPoPNonces, client_key: Key
) -> None:
    verifier = DPoPVerifier(nonces=nonces, clock=clock)
    nonce = nonces.issue()
    proof = forge(header(client_key), payload(nonce=nonce), client_key)
    verified(verifier, proof)
    refused_proof(verifier, proof, ReplayedDPoPProof)  # same nonce, same jti: refused
    verified(verifier, forge(header(client_key), payload(jti="j-2", nonce=nonce), client_key))


# --- bound access tokens --------------------------------------------------------------------


@pytest.fixture
def issued(clock: FakeClock) -> tuple[Signer, Validator]:
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    return (
        Signer(store, issuer=ISSUER, ttl=600, clock=clock),
        Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock),
    )


def _bound_token(signer: Signer, key: Key) -> str:
    return signer.issue("user-1", audience=AUDIENCE, confirmation=Confirmation.of_key(key))


def test_bound_token_with_its_proof(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key
) -> None:
    signer, validator = issued
    token = _bound_token(signer, client_key)
    maker = DPoPProofMaker(client_key, clock=lambda: NOW)
    proof = verified(verifier, maker.proof("GET", URI, access_token=token), access_token=token)
    assert validator.validate(token, confirmation=proof.confirmation).subject == "user-1"


def test_bound_token_with_no_proof(issued: tuple[Signer, Validator], client_key: Key) -> None:
    signer, validator = issued
    refused(validator, _bound_token(signer, client_key), InvalidConfirmation)


def test_bound_token_with_another_keys_proof(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key, other_key: Key
) -> None:
    signer, validator = issued
    token = _bound_token(signer, client_key)
    thief = DPoPProofMaker(other_key, clock=lambda: NOW)
    proof = verified(verifier, thief.proof("GET", URI, access_token=token), access_token=token)
    with pytest.raises(InvalidConfirmation) as info:
        validator.validate(token, confirmation=proof.confirmation)
    assert type(info.value) is InvalidConfirmation


def test_bearer_token_with_a_proof(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key
) -> None:
    signer, validator = issued
    token = signer.issue("user-1", audience=AUDIENCE)
    validated(validator, token)  # a bearer token as such is fine
    maker = DPoPProofMaker(client_key, clock=lambda: NOW)
    proof = verified(verifier, maker.proof("GET", URI, access_token=token), access_token=token)
    with pytest.raises(InvalidConfirmation):
        validator.validate(token, confirmation=proof.confirmation)


# --- the parser never crashes ---------------------------------------------------------------

_segments = st.one_of(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=80
    ),
    st.builds(lambda v: base64.urlsafe_b64encode(v).rstrip(b"=").decode(), st.binary(max_size=60)),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["typ", "alg", "jwk", "kty", "crv", "x", "jti"]), inner, max_size=5
            )
        ),
        max_leaves=12,
    ).map(segment),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_segments, min_size=1, max_size=4).map(".".join))
def test_the_proof_parser_refuses_garbage_with_its_own_error(
    verifier: DPoPVerifier, proof: str
) -> None:
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(proof, method="GET", uri=URI)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce", "exp"]),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    )
)
def test_signed_claims_of_any_shape_never_crash(
    verifier: DPoPVerifier, client_key: Key, claims: dict[str, Any]
) -> None:
    proof = forge(header(client_key), claims, client_key)
    try:
        verifier.verify(proof, method="GET", uri=URI, access_token="t")
    except InvalidDPoPProof:
        pass


# --- over HTTP, through the guard every adapter uses ----------------------------------------


def _authenticated(guard: Guard, *headers: tuple[str, str]) -> object:
    request = RequestFacts(
        method="GET",
        scheme="https",
        host="api.example.test",
        path="/orders",
        headers=headers,
        peer="203.0.113.7",
    )
    if Face.name == "validate":
        return guard.authenticate(request)
    assert Face.runner is not None
    return Face.runner.run(guard.aauthenticate(request))


def _refused_request(guard: Guard, error: type[TokensmithError], *headers: tuple[str, str]) -> None:
    with pytest.raises(error) as info:
        _authenticated(guard, *headers)
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value)}"
    assert guard.answer(info.value).status == 401


def test_a_bearer_token_with_the_dpop_scheme(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key
) -> None:
    signer, validator = issued
    token = signer.issue("user-1", audience=AUDIENCE)
    proof = DPoPProofMaker(client_key, clock=lambda: NOW).proof("GET", URI, access_token=token)
    guard = Guard(validator, dpop=verifier)
    _refused_request(
        guard, InvalidConfirmation, ("authorization", f"DPoP {token}"), ("dpop", proof)
    )


def test_a_bound_token_with_the_bearer_scheme(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key
) -> None:
    signer, validator = issued
    token = _bound_token(signer, client_key)
    proof = DPoPProofMaker(client_key, clock=lambda: NOW).proof("GET", URI, access_token=token)
    for guard in (Guard(validator, dpop=verifier), Guard(validator)):
        _refused_request(
            guard, InvalidConfirmation, ("authorization", f"Bearer {token}"), ("dpop", proof)
        )


def test_two_dpop_headers(
    issued: tuple[Signer, Validator], verifier: DPoPVerifier, client_key: Key
) -> None:
    signer, validator = issued
    token = _bound_token(signer, client_key)
    maker = DPoPProofMaker(client_key, clock=lambda: NOW)
    first, second = (maker.proof("GET", URI, access_token=token) for _ in range(2))
    guard = Guard(validator, dpop=verifier)
    _refused_request(
        guard,
        InvalidDPoPProof,
        ("authorization", f"DPoP {token}"),
        ("dpop", first),
        ("dpop", second),
    )
    _authenticated(guard, ("authorization", f"DPoP {token}"), ("dpop", first))
