"""Sender-constrained tokens (``cnf``, RFC 7800): the signer binds, the validator checks.

Every refusal is :class:`InvalidConfirmation` exactly, through both faces and on a cache hit.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import claims as forged_claims
from tests.support.forge import header_for, signed
from tokensmith import (
    Confirmation,
    Key,
    MemoryKeyStore,
    Signer,
    ValidatedTokenCache,
    Validator,
    VerifiedToken,
)
from tokensmith.confirmation import JKT, X5T_S256, check_confirmation
from tokensmith.errors import ConfigurationError, InvalidConfirmation, ReservedClaim
from tokensmith.testing import FakeClock

PROOF_KEY = Key.generate("ES256")
OTHER_KEY = Key.generate("ES256")
DPOP = Confirmation.of_key(PROOF_KEY)
OTHER = Confirmation.of_key(OTHER_KEY)


def _certificate() -> x509.Certificate:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )


CERT = _certificate()
MTLS = Confirmation.of_certificate(CERT)


def _validate(validator: Validator, token: str, face: str, **kw: Any) -> VerifiedToken:
    if face == "validate":
        return validator.validate(token, **kw)
    return asyncio.run(validator.avalidate(token, **kw))


@pytest.fixture(params=["validate", "avalidate"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[False, True], ids=["no-cache", "cache"])
def bound_validator(
    request: pytest.FixtureRequest, store: MemoryKeyStore, clock: FakeClock
) -> Validator:
    cache = ValidatedTokenCache() if request.param else None
    return Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache)


def test_the_thumbprints_are_the_rfc_ones() -> None:
    assert DPOP.jkt == PROOF_KEY.thumbprint()
    der = CERT.public_bytes(Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert MTLS.x5t_s256 == expected
    assert Confirmation.of_certificate(der) == MTLS
    assert Confirmation.of_jwk_thumbprint(DPOP.jkt or "") == DPOP
    assert DPOP.claim() == {JKT: DPOP.jkt}
    assert DPOP.plus(MTLS).claim() == {JKT: DPOP.jkt, X5T_S256: MTLS.x5t_s256}


@pytest.mark.parametrize("proof", [DPOP, MTLS, DPOP.plus(MTLS)], ids=["dpop", "mtls", "both"])
def test_a_bound_token_is_accepted_with_its_proof(
    signer: Signer, bound_validator: Validator, face: str, proof: Confirmation
) -> None:
    token = signer.issue("alice", audience=AUDIENCE, confirmation=proof)
    for _ in range(2):  # the second time from the cache, where there is one
        verified = _validate(bound_validator, token, face, confirmation=proof)
        assert verified.claims["cnf"] == proof.claim()


@pytest.mark.parametrize(
    ("bound", "presented"),
    [
        (DPOP, None),  # a DPoP-bound token presented as a bearer token (RFC 9449 §7.2)
        (DPOP, OTHER),  # another key's proof
        (DPOP, MTLS),  # the wrong kind of proof
        (MTLS, None),  # a certificate-bound token without a certificate (RFC 8705 §3)
        (MTLS, DPOP),
        (DPOP.plus(MTLS), DPOP),  # bound twice: both must be proven
        (DPOP.plus(MTLS), MTLS),
        (None, DPOP),  # a bearer token presented with a DPoP proof (RFC 9449 §7.1)
    ],
)
def test_a_missing_or_wrong_proof_is_refused(
    signer: Signer,
    bound_validator: Validator,
    face: str,
    bound: Confirmation | None,
    presented: Confirmation | None,
) -> None:
    token = signer.issue("alice", audience=AUDIENCE, confirmation=bound)
    if presented is not None and bound is not None:
        _validate(bound_validator, token, face, confirmation=bound)  # fill the cache first
    with pytest.raises(InvalidConfirmation) as caught:
        _validate(bound_validator, token, face, confirmation=presented)
    assert type(caught.value) is InvalidConfirmation and caught.value.claim == "cnf"
    assert caught.value.code == "invalid_confirmation"


def test_a_client_certificate_does_not_need_a_bound_token(
    signer: Signer, bound_validator: Validator, face: str
) -> None:
    token = signer.issue("alice", audience=AUDIENCE)
    assert _validate(bound_validator, token, face, confirmation=MTLS).subject == "alice"


DIGEST = "A" * 43


@pytest.mark.parametrize(
    "cnf",
    [
        None,
        {},
        [],
        "jkt",
        {"jwk": {"kty": "EC"}},  # a binding tokensmith cannot verify is refused, not ignored
        {"jkt": DIGEST, "kid": "x"},
        {"jkt": None},
        {"jkt": 1},
        {"jkt": DIGEST + "A"},
        {"jkt": "A" * 42 + "="},
        {"jkt": "A" * 42 + "é"},
        {"x5t#S256": ["x"]},
    ],
)
def test_a_malformed_or_unverifiable_cnf_is_refused(
    store: MemoryKeyStore, clock: FakeClock, cnf: object
) -> None:
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    key = store.signing_key()
    token = signed(header_for(key), {**forged_claims(), "cnf": cnf}, key)
    for presented in (None, Confirmation(jkt=DIGEST, x5t_s256=DIGEST)):
        with pytest.raises(InvalidConfirmation) as caught:
            validator.validate(token, confirmation=presented)
        assert type(caught.value) is InvalidConfirmation


def test_the_comparison_is_exact() -> None:
    check_confirmation({"cnf": {"jkt": DIGEST}}, Confirmation(jkt=DIGEST))
    with pytest.raises(InvalidConfirmation):
        check_confirmation({"cnf": {"jkt": DIGEST}}, Confirmation(jkt="B" + DIGEST[1:]))


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.text(max_size=50) | st.integers(), st.lists, max_leaves=4))
def test_any_cnf_value_is_a_refusal_or_a_match(value: object) -> None:
    for cnf in (value, {"jkt": value}, {"x5t#S256": value}):
        try:
            check_confirmation({"cnf": cnf}, Confirmation(jkt=DIGEST, x5t_s256=DIGEST))
        except InvalidConfirmation:
            continue
        assert cnf in ({"jkt": DIGEST}, {"x5t#S256": DIGEST})


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"jkt": "short"}, {"jkt": 1}, {"x5t_s256": "+" * 43}, {"jkt": None, "x5t_s256": None}],
)
def test_a_confirmation_is_checked_when_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Confirmation(**kwargs)


def test_bad_inputs_to_the_builders_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Confirmation.of_certificate(b"")
    with pytest.raises(ConfigurationError):
        Confirmation.of_certificate("not a certificate")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        DPOP.plus(OTHER)
    with pytest.raises(ConfigurationError):
        DPOP.plus("x")  # type: ignore[arg-type]
    assert DPOP.plus(DPOP) == DPOP


def test_the_signer_reserves_cnf(store: MemoryKeyStore, clock: FakeClock) -> None:
    signer = Signer(store, issuer=ISSUER, clock=clock)
    with pytest.raises(ReservedClaim):
        signer.issue("alice", claims={"cnf": {"jkt": DPOP.jkt}})
    with pytest.raises(ConfigurationError):
        signer.issue("alice", confirmation={"jkt": DPOP.jkt})  # type: ignore[arg-type]
    issued = signer.issue_token("alice", confirmation=DPOP)
    assert issued.claims["cnf"] == {"jkt": DPOP.jkt}


def test_repr_and_equality() -> None:
    assert repr(DPOP) == f"Confirmation(jkt={DPOP.jkt!r}, x5t_s256=None)"
    assert Confirmation(jkt=DPOP.jkt) == DPOP and hash(DPOP) == hash(Confirmation(jkt=DPOP.jkt))
