"""DPoP at the token endpoint (RFC 9449 §5): the proof check, binding, token_type, §5.2."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.oauth._dpop_proofs import ProofRefused, TestProofVerifier, jwk_thumbprint, make_proof
from tests.support import AUDIENCE, ISSUER
from tokensmith import ConfigurationError, Confirmation, Key, MemoryKeyStore, Signer
from tokensmith.errors import (
    AuthorizationCodeKeyMismatch,
    AuthorizationCodeReused,
    DPoPProofRequired,
    InvalidConfirmation,
    InvalidRequest,
    TokenError,
)
from tokensmith.oauth import (
    BEARER_TOKEN_TYPE,
    DPOP_TOKEN_TYPE,
    ERROR_DESCRIPTIONS,
    AuthorizationCodes,
    Client,
    VerifiedDPoPProof,
    access_token_type,
    access_token_validator,
    averify_token_request_proof,
    client_credentials_grant,
    code_challenge,
    dpop_error_response,
    error_response,
    generate_code_verifier,
    issue_access_token,
    require_dpop,
    token_response,
    verify_token_request_proof,
)
from tokensmith.testing import FakeClock

TOKEN_ENDPOINT = "https://as.example.com/token"
GRANT = {"grant_type": "client_credentials", "scope": "orders:read"}
SERVICE = Client("billing", allowed_scopes=frozenset({"orders:read"}), audience=AUDIENCE)
DPOP_ONLY = Client(
    "mobile",
    allowed_scopes=frozenset({"orders:read"}),
    audience=AUDIENCE,
    dpop_bound_access_tokens=True,
)
CERT = Confirmation.of_certificate(b"a DER certificate")


@pytest.fixture
def verifier(clock: FakeClock) -> TestProofVerifier:
    return TestProofVerifier(clock)


@pytest.fixture
def client_key() -> Key:
    return Key.generate("ES256")


def _proof(key: Key, clock: FakeClock, **overrides: Any) -> str:
    options: dict[str, Any] = {"htm": "POST", "htu": TOKEN_ENDPOINT, "iat": clock()}
    options.update(overrides)
    return make_proof(key, **options)


def _validate(store: MemoryKeyStore, clock: FakeClock, token: str, **kwargs: Any) -> Any:
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    return validator.validate(token, **kwargs)


# --- verify_token_request_proof ----------------------------------------------------------------


def test_a_proof_gives_the_confirmation_of_its_key(
    verifier: TestProofVerifier, client_key: Key, clock: FakeClock
) -> None:
    confirmation = verify_token_request_proof(
        verifier, _proof(client_key, clock), token_endpoint=TOKEN_ENDPOINT
    )
    assert confirmation == Confirmation(jkt=client_key.thumbprint())
    assert confirmation.jkt == jwk_thumbprint(client_key.to_jwk())  # independent RFC 7638
    (call,) = verifier.calls  # RFC 9449 §5: POST to the token endpoint, no access token
    assert (call.method, call.uri, call.access_token) == ("POST", TOKEN_ENDPOINT, None)


def test_the_test_verifier_has_the_protocols_shape(
    verifier: TestProofVerifier, client_key: Key, clock: FakeClock
) -> None:
    proof = verifier.verify(_proof(client_key, clock), method="POST", uri=TOKEN_ENDPOINT)
    assert isinstance(proof, VerifiedDPoPProof)


@pytest.mark.parametrize("missing", [None, ""])
def test_no_proof_means_bearer(verifier: TestProofVerifier, missing: str | None) -> None:
    assert verify_token_request_proof(verifier, missing, token_endpoint=TOKEN_ENDPOINT) is None
    assert (
        verify_token_request_proof(verifier, missing, token_endpoint=TOKEN_ENDPOINT, client=SERVICE)
        is None
    )
    assert verifier.calls == []


@pytest.mark.parametrize("missing", [None, ""])
def test_a_dpop_bound_client_without_a_proof_is_refused(
    verifier: TestProofVerifier, missing: str | None
) -> None:
    with pytest.raises(DPoPProofRequired) as caught:
        verify_token_request_proof(
            verifier, missing, token_endpoint=TOKEN_ENDPOINT, client=DPOP_ONLY
        )
    assert type(caught.value) is DPoPProofRequired
    assert caught.value.code == "dpop_proof_required"
    status, _, body = error_response(caught.value)
    assert (status, body["error"]) == (400, "invalid_request")  # RFC 9449 §5.2, RFC 6749 §5.2


@pytest.mark.parametrize(
    "overrides",
    [
        {"htm": "GET"},
        {"htu": "https://as.example.com/other"},
        {"iat": -3600},
        {"ath": "x" * 43},
    ],
    ids=["method", "uri", "stale", "ath"],
)
def test_the_verifiers_refusal_propagates(
    verifier: TestProofVerifier, client_key: Key, clock: FakeClock, overrides: dict[str, Any]
) -> None:
    if "iat" in overrides:
        overrides["iat"] = clock() + overrides["iat"]
    with pytest.raises(ProofRefused):
        verify_token_request_proof(
            verifier, _proof(client_key, clock, **overrides), token_endpoint=TOKEN_ENDPOINT
        )


def test_a_replayed_proof_is_refused_by_the_verifier(
    verifier: TestProofVerifier, client_key: Key, clock: FakeClock
) -> None:
    proof = _proof(client_key, clock)
    verify_token_request_proof(verifier, proof, token_endpoint=TOKEN_ENDPOINT)
    with pytest.raises(ProofRefused):
        verify_token_request_proof(verifier, proof, token_endpoint=TOKEN_ENDPOINT)


def test_a_proof_must_be_text(verifier: TestProofVerifier) -> None:
    with pytest.raises(ConfigurationError):
        verify_token_request_proof(verifier, b"proof", token_endpoint=TOKEN_ENDPOINT)  # type: ignore[arg-type]


class _Broken:
    def __init__(self, result: object) -> None:
        self.result = result

    def verify(self, proof: str, *, method: str, uri: str, access_token: str | None = None) -> Any:
        return self.result


class _Result:
    def __init__(self, jkt: object, confirmation: object) -> None:
        self.jkt = jkt
        self.confirmation = confirmation


@pytest.mark.parametrize(
    "result",
    [
        object(),
        _Result("a" * 43, None),
        _Result("a" * 43, Confirmation(jkt="b" * 43)),
        _Result(None, CERT),
    ],
    ids=["nothing", "no-confirmation", "disagreeing", "certificate-only"],
)
def test_a_verifier_returning_something_else_is_a_configuration_error(result: object) -> None:
    with pytest.raises(ConfigurationError):
        verify_token_request_proof(_Broken(result), "p", token_endpoint=TOKEN_ENDPOINT)


def test_require_dpop() -> None:
    require_dpop(SERVICE, None)
    require_dpop(DPOP_ONLY, Confirmation(jkt="a" * 43))
    for unproven in (None, CERT):  # a client certificate is not a DPoP key
        with pytest.raises(DPoPProofRequired):
            require_dpop(DPOP_ONLY, unproven)


def test_client_metadata_is_a_bool() -> None:
    with pytest.raises(ConfigurationError):
        Client("x", dpop_bound_access_tokens="yes")  # type: ignore[arg-type]


# --- binding and token_type --------------------------------------------------------------------


def test_client_credentials_with_a_proof_issues_a_dpop_bound_token(
    signer: Signer,
    store: MemoryKeyStore,
    clock: FakeClock,
    verifier: TestProofVerifier,
    client_key: Key,
) -> None:
    confirmation = verify_token_request_proof(
        verifier, _proof(client_key, clock), token_endpoint=TOKEN_ENDPOINT, client=DPOP_ONLY
    )
    status, _, body = client_credentials_grant(signer, DPOP_ONLY, GRANT, confirmation=confirmation)
    assert status == 200
    assert body["token_type"] == DPOP_TOKEN_TYPE == "DPoP"  # RFC 9449 §5.1
    token = _validate(store, clock, body["access_token"], confirmation=confirmation)
    assert token.claims["cnf"] == {"jkt": client_key.thumbprint()}
    with pytest.raises(InvalidConfirmation):  # presented as a plain bearer token
        _validate(store, clock, body["access_token"])
    with pytest.raises(InvalidConfirmation):  # with another key's proof
        _validate(
            store,
            clock,
            body["access_token"],
            confirmation=Confirmation.of_key(Key.generate("ES256")),
        )


def test_client_credentials_without_a_proof_stays_bearer(signer: Signer) -> None:
    _, _, body = client_credentials_grant(signer, SERVICE, GRANT)
    assert body["token_type"] == BEARER_TOKEN_TYPE == "Bearer"


def test_a_dpop_bound_client_gets_no_token_without_a_proof(signer: Signer) -> None:
    for unproven in (None, CERT):
        with pytest.raises(DPoPProofRequired) as caught:
            client_credentials_grant(signer, DPOP_ONLY, GRANT, confirmation=unproven)
        assert type(caught.value) is DPoPProofRequired
        assert isinstance(caught.value, InvalidRequest)


def test_a_certificate_bound_token_is_still_bearer(signer: Signer) -> None:
    """RFC 8705 §3: certificate-bound tokens keep ``token_type`` Bearer."""
    _, _, body = client_credentials_grant(signer, SERVICE, GRANT, confirmation=CERT)
    assert body["token_type"] == "Bearer"


def test_issue_access_token_binds(signer: Signer, client_key: Key) -> None:
    bound = Confirmation.of_key(client_key)
    issued = issue_access_token(signer, client_id="c", audience=AUDIENCE, confirmation=bound)
    assert issued.claims["cnf"] == {"jkt": client_key.thumbprint()}
    assert access_token_type(issued) == "DPoP"
    assert token_response(issued).body["token_type"] == "DPoP"
    plain = issue_access_token(signer, client_id="c", audience=AUDIENCE)
    assert "cnf" not in plain.claims
    assert access_token_type(plain) == "Bearer"
    assert token_response(plain).body["token_type"] == "Bearer"


# --- authorization codes bound with dpop_jkt (RFC 9449 §10) ------------------------------------

REDIRECT = "https://app.example.test/callback"


def _code(codes: AuthorizationCodes, verifier: str, **kwargs: Any) -> str:
    return codes.issue(
        client_id="spa",
        redirect_uri=REDIRECT,
        subject="alice",
        scopes=["orders:read"],
        code_challenge=code_challenge(verifier),
        code_challenge_method="S256",
        **kwargs,
    )


def _redeem(codes: AuthorizationCodes, code: str, verifier: str, **kwargs: Any) -> Any:
    return codes.redeem(
        code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier, **kwargs
    )


def test_a_code_bound_with_dpop_jkt_redeems_with_a_proof_by_that_key(
    signer: Signer,
    store: MemoryKeyStore,
    clock: FakeClock,
    verifier: TestProofVerifier,
    client_key: Key,
) -> None:
    codes = AuthorizationCodes(clock=clock)
    pkce = generate_code_verifier()
    code = _code(codes, pkce, dpop_jkt=client_key.thumbprint())
    confirmation = verify_token_request_proof(
        verifier, _proof(client_key, clock), token_endpoint=TOKEN_ENDPOINT
    )
    grant = _redeem(codes, code, pkce, confirmation=confirmation)
    assert grant.dpop_jkt == client_key.thumbprint()
    issued = issue_access_token(
        signer, client_id=grant.client_id, audience=AUDIENCE, confirmation=confirmation
    )
    assert token_response(issued).body["token_type"] == "DPoP"
    _validate(store, clock, issued.token, confirmation=confirmation)


@pytest.mark.parametrize("presented", ["none", "other-key", "certificate"])
def test_a_code_bound_with_dpop_jkt_refuses_any_other_proof(
    clock: FakeClock, client_key: Key, presented: str
) -> None:
    codes = AuthorizationCodes(clock=clock)
    pkce = generate_code_verifier()
    code = _code(codes, pkce, dpop_jkt=client_key.thumbprint())
    wrong = {
        "none": None,
        "other-key": Confirmation.of_key(Key.generate("ES256")),
        "certificate": CERT,
    }[presented]
    with pytest.raises(AuthorizationCodeKeyMismatch) as caught:
        _redeem(codes, code, pkce, confirmation=wrong)
    assert type(caught.value) is AuthorizationCodeKeyMismatch
    assert error_response(caught.value).body["error"] == "invalid_grant"
    with pytest.raises(AuthorizationCodeReused):  # consumed, like every failed redemption
        _redeem(codes, code, pkce, confirmation=Confirmation.of_key(client_key))


def test_an_unbound_code_redeems_with_or_without_a_proof(clock: FakeClock, client_key: Key) -> None:
    codes = AuthorizationCodes(clock=clock)
    for confirmation in (None, Confirmation.of_key(client_key)):
        pkce = generate_code_verifier()
        grant = _redeem(codes, _code(codes, pkce), pkce, confirmation=confirmation)
        assert grant.dpop_jkt is None


@pytest.mark.parametrize("bad", ["short", "+" * 43, "a" * 44, 5, b"a" * 43])
def test_a_malformed_dpop_jkt_is_refused(clock: FakeClock, bad: Any) -> None:
    codes = AuthorizationCodes(clock=clock)
    with pytest.raises(InvalidRequest) as caught:
        _code(codes, generate_code_verifier(), dpop_jkt=bad)
    assert type(caught.value) is InvalidRequest


def test_redeem_takes_a_confirmation(clock: FakeClock) -> None:
    codes = AuthorizationCodes(clock=clock)
    pkce = generate_code_verifier()
    code = _code(codes, pkce)
    with pytest.raises(ConfigurationError):
        _redeem(codes, code, pkce, confirmation={"jkt": "a" * 43})
    assert _redeem(codes, code, pkce).client_id == "spa"  # the mistake consumed nothing


@given(st.text(max_size=60))
def test_any_dpop_jkt_text_is_a_thumbprint_or_invalid_request(value: str) -> None:
    codes = AuthorizationCodes(clock=FakeClock())
    thumbprint = len(value) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    if thumbprint:
        _code(codes, generate_code_verifier(), dpop_jkt=value)
    else:
        with pytest.raises(InvalidRequest) as caught:
            _code(codes, generate_code_verifier(), dpop_jkt=value)
        assert type(caught.value) is InvalidRequest


# --- the async twin ----------------------------------------------------------------------------


def test_the_async_twin_gives_the_same_answers(
    verifier: TestProofVerifier, client_key: Key, clock: FakeClock
) -> None:
    async def scenario() -> None:
        proof = _proof(client_key, clock)
        got = await averify_token_request_proof(verifier, proof, token_endpoint=TOKEN_ENDPOINT)
        assert got == Confirmation.of_key(client_key)
        assert verifier.calls[-1].method == "POST"
        assert (
            await averify_token_request_proof(verifier, None, token_endpoint=TOKEN_ENDPOINT) is None
        )
        with pytest.raises(DPoPProofRequired):
            await averify_token_request_proof(
                verifier, None, token_endpoint=TOKEN_ENDPOINT, client=DPOP_ONLY
            )
        with pytest.raises(ProofRefused):  # replayed
            await averify_token_request_proof(verifier, proof, token_endpoint=TOKEN_ENDPOINT)

    asyncio.run(scenario())


# --- refusals of the proof, as the token endpoint answers them ---------------------------------


class _ProofRefusal(TokenError):
    """Stands for the DPoP verifier's invalid_dpop_proof refusal."""

    code = "test_invalid_dpop_proof"
    error = "invalid_dpop_proof"


class _NonceRefusal(_ProofRefusal):
    """Stands for the DPoP verifier's use_dpop_nonce refusal."""

    code = "test_use_dpop_nonce"
    error = "use_dpop_nonce"

    def __init__(self, message: str | None = None, *, nonce: str = "") -> None:
        super().__init__(message)
        self.nonce = nonce


def test_an_invalid_proof_is_a_400_invalid_dpop_proof() -> None:
    status, headers, body = dpop_error_response(_ProofRefusal("bad signature, for the log"))
    assert status == 400  # RFC 9449 §5: an RFC 6749 §5.2 error response, not a 401
    assert body == {
        "error": "invalid_dpop_proof",
        "error_description": ERROR_DESCRIPTIONS["invalid_dpop_proof"],
    }
    assert "for the log" not in str(body)
    assert headers["Cache-Control"] == "no-store"
    assert "DPoP-Nonce" not in headers


def test_a_nonce_request_carries_the_new_nonce() -> None:
    status, headers, body = dpop_error_response(_NonceRefusal(nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v"))
    assert (status, body["error"]) == (400, "use_dpop_nonce")  # RFC 9449 §8
    assert headers["DPoP-Nonce"] == "eyJ7S_zG.eyJH0-Z.HX4w-7v"


@pytest.mark.parametrize("nonce", ["", 'a"b', "a b", "a\r\nSet-Cookie: x", "é"])
def test_a_nonce_that_is_not_nqchar_never_reaches_a_header(nonce: str) -> None:
    with pytest.raises(ConfigurationError):
        dpop_error_response(_NonceRefusal(nonce=nonce))


def test_only_proof_refusals_are_answered_here() -> None:
    for other in (DPoPProofRequired("x"), InvalidConfirmation("x"), ValueError("x")):
        with pytest.raises(ConfigurationError):
            dpop_error_response(other)  # type: ignore[arg-type]
