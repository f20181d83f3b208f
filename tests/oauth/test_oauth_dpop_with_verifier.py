"""The token endpoint helpers with tokensmith's own DPoP proof maker and verifier.

``tokensmith.dpop`` comes from another branch; until it is merged this module is skipped, and
``test_oauth_dpop_binding.py`` covers the same helpers with an independent test verifier.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import Confirmation, Key, MemoryKeyStore, Signer
from tokensmith.errors import RefreshTokenKeyMismatch
from tokensmith.oauth import (
    Client,
    access_token_validator,
    averify_token_request_proof,
    client_credentials_grant,
    dpop_error_response,
    verify_token_request_proof,
)
from tokensmith.refresh import MemoryRefreshStore, RefreshManager
from tokensmith.testing import FakeClock

dpop: Any = pytest.importorskip("tokensmith.dpop")

TOKEN_ENDPOINT = "https://auth.example.test/token"
GRANT = {"grant_type": "client_credentials", "scope": "orders:read"}
CLIENT = Client(
    "mobile",
    allowed_scopes=frozenset({"orders:read"}),
    audience=AUDIENCE,
    dpop_bound_access_tokens=True,
)


def test_a_real_proof_binds_the_issued_token(
    signer: Signer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    key = Key.generate("ES256")
    maker = dpop.DPoPProofMaker(key, clock=clock)
    verifier = dpop.DPoPVerifier(clock=clock)
    confirmation = verify_token_request_proof(
        verifier, maker.proof("POST", TOKEN_ENDPOINT), token_endpoint=TOKEN_ENDPOINT, client=CLIENT
    )
    assert confirmation == Confirmation.of_key(key) == maker.confirmation
    _, _, body = client_credentials_grant(signer, CLIENT, GRANT, confirmation=confirmation)
    assert body["token_type"] == "DPoP"
    # the resource server's side: a proof with ath for this token, by the same key
    api_proof = maker.proof(
        "GET", "https://api.example.test/orders", access_token=body["access_token"]
    )
    proven = verifier.verify(
        api_proof,
        method="GET",
        uri="https://api.example.test/orders",
        access_token=body["access_token"],
    )
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    assert validator.validate(body["access_token"], confirmation=proven.confirmation)


def test_a_real_refusal_is_answered_as_the_token_endpoint_must(clock: FakeClock) -> None:
    maker = dpop.DPoPProofMaker(Key.generate("ES256"), clock=clock)
    verifier = dpop.DPoPVerifier(clock=clock)
    with pytest.raises(dpop_errors().InvalidDPoPProof) as caught:  # proof for another URI
        verify_token_request_proof(
            verifier,
            maker.proof("POST", "https://elsewhere.test/token"),
            token_endpoint=TOKEN_ENDPOINT,
        )
    status, _, body = dpop_error_response(caught.value)
    assert (status, body["error"]) == (400, "invalid_dpop_proof")


def test_a_real_nonce_round_trip(clock: FakeClock) -> None:
    nonces = dpop.DPoPNonces(b"n" * 32, clock=clock)
    verifier = dpop.DPoPVerifier(nonces=nonces, clock=clock)
    maker = dpop.DPoPProofMaker(Key.generate("ES256"), clock=clock)
    with pytest.raises(dpop_errors().UseDPoPNonce) as caught:
        verify_token_request_proof(
            verifier, maker.proof("POST", TOKEN_ENDPOINT), token_endpoint=TOKEN_ENDPOINT
        )
    status, headers, body = dpop_error_response(caught.value)
    assert (status, body["error"]) == (400, "use_dpop_nonce")
    retry = maker.proof("POST", TOKEN_ENDPOINT, nonce=headers["DPoP-Nonce"])
    assert verify_token_request_proof(verifier, retry, token_endpoint=TOKEN_ENDPOINT) is not None


def test_a_real_refresh_binding(signer: Signer, clock: FakeClock) -> None:
    key = Key.generate("ES256")
    maker = dpop.DPoPProofMaker(key, clock=clock)
    thief = dpop.DPoPProofMaker(Key.generate("ES256"), clock=clock)
    verifier = dpop.DPoPVerifier(clock=clock)
    sessions = RefreshManager(MemoryRefreshStore(clock=clock), signer, clock=clock)

    def prove(who: Any) -> Confirmation | None:
        return asyncio.run(
            averify_token_request_proof(
                verifier, who.proof("POST", TOKEN_ENDPOINT), token_endpoint=TOKEN_ENDPOINT
            )
        )

    login = sessions.start("user-1", audience=AUDIENCE, client_id="spa", confirmation=prove(maker))
    with pytest.raises(RefreshTokenKeyMismatch):
        sessions.refresh(login.refresh_token, client_id="spa", confirmation=prove(thief))
    renewed = sessions.refresh(login.refresh_token, client_id="spa", confirmation=prove(maker))
    assert renewed.access.claims["cnf"] == {"jkt": key.thumbprint()}


def dpop_errors() -> Any:
    from tokensmith import errors

    return errors
