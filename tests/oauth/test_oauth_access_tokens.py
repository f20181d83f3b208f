from __future__ import annotations

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    ConfigurationError,
    InvalidClaim,
    InvalidTokenType,
    MemoryKeyStore,
    MissingClaim,
    Signer,
)
from tokensmith.oauth import (
    ACCESS_TOKEN_REQUIRED_CLAIMS,
    access_token_validator,
    issue_access_token,
)
from tokensmith.testing import FakeClock


def test_issue_and_validate_round_trip(
    signer: Signer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    issued = issue_access_token(
        signer, client_id="app", audience=AUDIENCE, subject="alice", scopes=["orders:read"]
    )
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    tok = validator.validate(issued.token, scopes=["orders:read"])
    assert tok.token_type == "at+jwt"
    assert tok.client_id == "app"
    assert tok.subject == "alice"
    assert set(tok.claims) >= ACCESS_TOKEN_REQUIRED_CLAIMS
    assert tok.claims["scope"] == "orders:read"


def test_subject_defaults_to_client_id(signer: Signer) -> None:
    issued = issue_access_token(signer, client_id="svc", audience=AUDIENCE)
    assert issued.subject == "svc"
    assert issued.claims["client_id"] == "svc"


def test_missing_typ_is_refused(signer: Signer, store: MemoryKeyStore, clock: FakeClock) -> None:
    token = signer.issue("alice", audience=AUDIENCE, claims={"client_id": "app"})  # typ JWT
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    with pytest.raises(InvalidTokenType):
        validator.validate(token)
    no_typ = Signer(store, issuer=ISSUER, clock=clock, token_type="at+jwt")
    assert validator.validate(no_typ.issue("a", audience=AUDIENCE, claims={"client_id": "c"}))


def test_application_at_jwt_is_accepted(store: MemoryKeyStore, clock: FakeClock) -> None:
    signer = Signer(store, issuer=ISSUER, clock=clock, token_type="application/at+jwt")
    token = signer.issue("a", audience=AUDIENCE, claims={"client_id": "c"})
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    assert validator.validate(token).client_id == "c"


def test_missing_required_claims_are_refused(
    store: MemoryKeyStore, clock: FakeClock, signer: Signer
) -> None:
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    token = signer.issue(None, audience=AUDIENCE, claims={"client_id": "c"}, token_type="at+jwt")
    with pytest.raises(MissingClaim) as info:
        validator.validate(token)
    assert info.value.claim == "sub"
    token = signer.issue("a", audience=AUDIENCE, token_type="at+jwt")
    with pytest.raises(MissingClaim) as info:
        validator.validate(token)
    assert info.value.claim == "client_id"


def test_client_id_must_be_a_string(
    store: MemoryKeyStore, clock: FakeClock, signer: Signer
) -> None:
    validator = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    token = signer.issue("a", audience=AUDIENCE, claims={"client_id": 7}, token_type="at+jwt")
    with pytest.raises(InvalidClaim) as info:
        validator.validate(token)
    assert type(info.value) is InvalidClaim
    assert info.value.claim == "client_id"


def test_extra_required_claims_and_checks_are_merged(
    store: MemoryKeyStore, clock: FakeClock, signer: Signer
) -> None:
    validator = access_token_validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        required_claims="tenant",
        checks=[lambda t: True],
    )
    assert "tenant" in validator.policy.required_claims
    assert "client_id" in validator.policy.required_claims
    issued = issue_access_token(signer, client_id="c", audience=AUDIENCE)
    with pytest.raises(MissingClaim):
        validator.validate(issued.token)


def test_profile_configuration_errors(store: MemoryKeyStore, signer: Signer) -> None:
    with pytest.raises(ConfigurationError):
        access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, token_types=["JWT"])
    with pytest.raises(ConfigurationError):
        access_token_validator(store, issuer=UNCHECKED, audience=AUDIENCE)  # type: ignore[arg-type]
    assert access_token_validator(store, issuer=ISSUER, audience=UNSAFE_ANY_AUDIENCE)
    with pytest.raises(ConfigurationError):
        issue_access_token(signer, client_id="", audience=AUDIENCE)
    with pytest.raises(ConfigurationError):
        issue_access_token(signer, client_id="c", audience=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        issue_access_token(signer, client_id="c", audience=AUDIENCE, claims={"client_id": "x"})
