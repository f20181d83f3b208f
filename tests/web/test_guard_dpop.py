"""The guard with DPoP (RFC 9449 §7): ``Authorization: DPoP`` plus a proof, the audiences that
require it, the challenges naming both schemes, and the nonce answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    ConfigurationError,
    Confirmation,
    InvalidConfirmation,
    InvalidDPoPProof,
    Key,
    KeySet,
    MalformedAuthorization,
    MemoryKeyStore,
    MissingToken,
    MultipleCredentials,
    ReplayedDPoPProof,
    Signer,
    TokenError,
    TokenTooLarge,
    UseDPoPNonce,
    Validator,
)
from tokensmith.dpop import DPoPNonces, DPoPProofMaker, DPoPVerifier
from tokensmith.testing import FakeClock
from tokensmith.web import (
    Guard,
    RequestFacts,
    TransportSecurity,
    dpop_challenge,
    dpop_proof,
    dpop_token,
)

URI = "https://api.example.test/orders"
OTHER_AUDIENCE = "reports-api"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def parts(clock: FakeClock) -> tuple[Signer, Validator]:
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock)
    validator = Validator(store, issuer=ISSUER, audience=[AUDIENCE, OTHER_AUDIENCE], clock=clock)
    return signer, validator


@pytest.fixture(scope="module")
def client_key() -> Key:
    return Key.generate("ES256")


@pytest.fixture
def maker(client_key: Key, clock: FakeClock) -> DPoPProofMaker:
    return DPoPProofMaker(client_key, clock=clock)


def facts(*headers: tuple[str, str], method: str = "GET", path: str = "/orders") -> RequestFacts:
    return RequestFacts(
        method=method,
        scheme="https",
        host="api.example.test",
        path=path,
        query="page=2",
        headers=headers,
        peer="203.0.113.7",
    )


def dpop_request(maker: DPoPProofMaker, token: str, **extra: Any) -> RequestFacts:
    proof = maker.proof("GET", URI, access_token=token)
    return facts(("authorization", f"DPoP {token}"), ("dpop", proof), **extra)


def bound(signer: Signer, maker: DPoPProofMaker, audience: str = AUDIENCE) -> str:
    return signer.issue("user-1", audience=audience, confirmation=maker.confirmation)


def refused(call: Callable[[], object], error: type[Exception]) -> Exception:
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error, type(info.value)
    return info.value


# --- accepted ---------------------------------------------------------------------------------


def test_a_bound_token_with_its_proof(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    assert guard.authenticate(dpop_request(maker, token)).subject == "user-1"
    assert guard.credentials(dpop_request(maker, token)) == (token, False)
    verified = asyncio.run(guard.aauthenticate(dpop_request(maker, token)))
    assert verified.claims["cnf"] == {"jkt": maker.jkt}


def test_the_proof_uri_follows_a_trusted_proxy(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(
        validator,
        dpop=DPoPVerifier(clock=clock),
        transport=TransportSecurity(trusted_proxies=["10.0.0.1"]),
    )
    token = bound(signer, maker)
    request = RequestFacts(
        method="GET",
        scheme="http",
        host="api.example.test",
        path="/orders",
        headers=[
            ("authorization", f"DPoP {token}"),
            ("dpop", maker.proof("GET", URI, access_token=token)),
            ("x-forwarded-proto", "https"),
        ],
        peer="10.0.0.1",
    )
    assert guard.authenticate(request).subject == "user-1"


def test_bearer_tokens_still_work_unless_dpop_is_required(
    parts: tuple[Signer, Validator], clock: FakeClock
) -> None:
    signer, validator = parts
    token = signer.issue("user-1", audience=AUDIENCE)
    request = facts(("authorization", f"Bearer {token}"))
    assert Guard(validator, dpop=DPoPVerifier(clock=clock)).authenticate(request).subject
    only = Guard(validator, dpop=DPoPVerifier(clock=clock), dpop_required=True)
    refused(lambda: only.authenticate(request), InvalidConfirmation)
    answer = only.answer(InvalidConfirmation("x"))
    assert answer.status == 401
    assert answer.header("WWW-Authenticate") == (
        'DPoP realm="api", error="invalid_token", error_description='
        f'"{_description(InvalidConfirmation)}", algs="{_algs()}"'
    )


def test_audiences_that_require_dpop(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock), dpop_required=[AUDIENCE])
    orders = signer.issue("user-1", audience=AUDIENCE)
    reports = signer.issue("user-1", audience=OTHER_AUDIENCE)
    refused(
        lambda: guard.authenticate(facts(("authorization", f"Bearer {orders}"))),
        InvalidConfirmation,
    )
    refused(
        lambda: asyncio.run(guard.aauthenticate(facts(("authorization", f"Bearer {orders}")))),
        InvalidConfirmation,
    )
    assert guard.authenticate(facts(("authorization", f"Bearer {reports}"))).audience == (
        OTHER_AUDIENCE,
    )
    assert guard.authenticate(dpop_request(maker, bound(signer, maker))).subject == "user-1"
    one = Guard(validator, dpop=DPoPVerifier(clock=clock), dpop_required=AUDIENCE)
    refused(
        lambda: one.authenticate(facts(("authorization", f"Bearer {orders}"))),
        InvalidConfirmation,
    )


# --- refused ----------------------------------------------------------------------------------


def test_a_bound_token_as_a_bearer_token(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    request = facts(("authorization", f"Bearer {token}"), ("dpop", maker.proof("GET", URI)))
    error = refused(lambda: guard.authenticate(request), InvalidConfirmation)
    assert guard.answer(error).status == 401
    plain = Guard(validator)  # without DPoP support the binding is still enforced
    refused(
        lambda: plain.authenticate(facts(("authorization", f"Bearer {token}"))), InvalidConfirmation
    )


def test_a_bearer_token_with_the_dpop_scheme(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = signer.issue("user-1", audience=AUDIENCE)
    refused(lambda: guard.authenticate(dpop_request(maker, token)), InvalidConfirmation)


def test_the_dpop_scheme_without_dpop_support_is_no_credential(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker
) -> None:
    signer, validator = parts
    token = bound(signer, maker)
    refused(lambda: Guard(validator).authenticate(dpop_request(maker, token)), MissingToken)


def test_another_keys_proof(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    thief = DPoPProofMaker(Key.generate("ES256"), clock=clock)
    refused(lambda: guard.authenticate(dpop_request(thief, token)), InvalidConfirmation)


@pytest.mark.parametrize(
    "proofs",
    [(), ("a.b.c", "a.b.c"), ("a.b.c, d.e.f",), ("",), ("x" * 9000,)],
    ids=["none", "two", "joined", "empty", "huge"],
)
def test_the_dpop_header_must_be_one_proof(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock, proofs: tuple[str]
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    request = facts(("authorization", f"DPoP {token}"), *(("dpop", p) for p in proofs))
    error = refused(lambda: guard.authenticate(request), InvalidDPoPProof)
    answer = guard.answer(error)
    assert answer.status == 401
    assert answer.header("WWW-Authenticate") == (
        'Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", '
        f'error_description="{_description(InvalidDPoPProof)}", algs="{_algs()}"'
    )
    assert json.loads(answer.body)["error"] == "invalid_dpop_proof"


def test_two_real_proofs_in_two_headers(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    proofs = [maker.proof("GET", URI, access_token=token) for _ in range(2)]
    request = facts(("authorization", f"DPoP {token}"), *(("dpop", p) for p in proofs))
    refused(lambda: guard.authenticate(request), InvalidDPoPProof)


def test_a_replayed_request(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    request = dpop_request(maker, bound(signer, maker))
    guard.authenticate(request)
    refused(lambda: guard.authenticate(request), ReplayedDPoPProof)


def test_a_proof_for_another_path_or_method(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    token = bound(signer, maker)
    refused(lambda: guard.authenticate(dpop_request(maker, token, path="/admin")), InvalidDPoPProof)
    refused(lambda: guard.authenticate(dpop_request(maker, token, method="POST")), InvalidDPoPProof)


def test_the_nonce_answer(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    signer, validator = parts
    nonces = DPoPNonces(b"k" * 32, clock=clock)
    guard = Guard(validator, dpop=DPoPVerifier(nonces=nonces, clock=clock), dpop_required=True)
    token = bound(signer, maker)
    error = refused(lambda: guard.authenticate(dpop_request(maker, token)), UseDPoPNonce)
    answer = guard.answer(error)
    assert answer.status == 401
    assert answer.header("DPoP-Nonce") == nonces.issue()
    assert answer.header("WWW-Authenticate") == (
        'DPoP realm="api", error="use_dpop_nonce", '
        f'error_description="{_description(UseDPoPNonce)}", algs="{_algs()}"'
    )
    maker.remember_nonce(URI, nonces.issue())
    assert guard.authenticate(dpop_request(maker, token)).subject == "user-1"


def test_challenges_without_credentials(parts: tuple[Signer, Validator], clock: FakeClock) -> None:
    _, validator = parts
    verifier = DPoPVerifier(algorithms=["ES256", "EdDSA"], clock=clock)
    answer = Guard(validator, dpop=verifier).answer(None)
    assert (
        answer.header("WWW-Authenticate")
        == 'Bearer realm="api", DPoP realm="api", algs="ES256 EdDSA"'
    )
    only = Guard(validator, dpop=verifier, dpop_required=True, realm="orders")
    assert only.answer(MissingToken()).header("WWW-Authenticate") == (
        'DPoP realm="orders", algs="ES256 EdDSA"'
    )
    assert only.answer(RuntimeError()).status == 500


def test_configuration(parts: tuple[Signer, Validator]) -> None:
    _, validator = parts
    for bad in (
        lambda: Guard(validator, dpop_required=True),
        lambda: Guard(validator, dpop_required=[AUDIENCE]),
        lambda: Guard(validator, dpop="yes"),  # type: ignore[arg-type]
        lambda: Guard(validator, dpop=DPoPVerifier(), dpop_required=[""]),
        lambda: DPoPVerifier(algorithms=["HS256"]),
        lambda: DPoPVerifier(algorithms=[]),
        lambda: DPoPVerifier(nonces="n"),  # type: ignore[arg-type]
        lambda: DPoPVerifier(replay="r"),  # type: ignore[arg-type]
        lambda: DPoPVerifier(max_age=0),
        lambda: dpop_challenge(None, realm="api", algorithms=[]),
        lambda: dpop_challenge(None, realm="api", algorithms=['ES256"']),
    ):
        refused(bad, ConfigurationError)
    assert Guard(validator, dpop=DPoPVerifier(), dpop_required=False).dpop is not None


# --- the header helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("Bearer abc", MissingToken),
        ("Basic abc", MissingToken),
        ("DPoP", MalformedAuthorization),
        ("DPoP a b", MalformedAuthorization),
        ("DPoPabc", MalformedAuthorization),
        ("DPoP abc, Bearer def", MultipleCredentials),
        ("Bad(scheme) abc", MalformedAuthorization),
        ("DPoP " + "a" * 9000, TokenTooLarge),
    ],
)
def test_dpop_token_refusals(value: str, error: type[TokenError]) -> None:
    refused(lambda: dpop_token([("Authorization", value)]), error)


def test_dpop_token_forms() -> None:
    assert dpop_token({"HTTP_AUTHORIZATION": "dpop  Kz~8mXK1.gxU="}) == "Kz~8mXK1.gxU="
    assert dpop_token([(b"authorization", b" DPoP abc ")]) == "abc"
    refused(lambda: dpop_token([]), MissingToken)
    refused(
        lambda: dpop_token([("authorization", "DPoP a"), ("authorization", "DPoP b")]),
        MultipleCredentials,
    )
    refused(lambda: dpop_token([("authorization", "DPoP " + "a" * 8200)]), TokenTooLarge)
    assert dpop_proof({"HTTP_DPOP": " a.b.c "}) == "a.b.c"
    refused(lambda: dpop_proof([("dpop", 3)]), InvalidDPoPProof)  # type: ignore[list-item]


def _description(cls: type[TokenError]) -> str:
    from tokensmith._text import class_description

    return class_description(cls("x"))


def _algs() -> str:
    return " ".join(sorted(DPoPVerifier().algorithms))


def test_confirmation_of_the_maker(maker: DPoPProofMaker) -> None:
    assert maker.confirmation == Confirmation(jkt=maker.jkt)


def test_a_token_bound_to_a_dpop_key_and_a_certificate(
    parts: tuple[Signer, Validator], maker: DPoPProofMaker, clock: FakeClock
) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime(2023, 11, 14, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    der = certificate.public_bytes(Encoding.DER)
    signer, validator = parts
    guard = Guard(validator, dpop=DPoPVerifier(clock=clock))
    both = maker.confirmation.plus(Confirmation.of_certificate(der))
    token = signer.issue("user-1", audience=AUDIENCE, confirmation=both)

    def request(cert: bytes | None) -> RequestFacts:
        proof = maker.proof("GET", URI, access_token=token)
        return RequestFacts(
            method="GET",
            scheme="https",
            host="api.example.test",
            path="/orders",
            headers=[("authorization", f"DPoP {token}"), ("dpop", proof)],
            peer="203.0.113.7",
            client_cert=cert,
        )

    assert guard.authenticate(request(der)).subject == "user-1"
    assert asyncio.run(guard.aauthenticate(request(der))).subject == "user-1"
    refused(lambda: guard.authenticate(request(None)), InvalidConfirmation)
