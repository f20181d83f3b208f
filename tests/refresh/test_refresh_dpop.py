"""DPoP-bound refresh tokens (RFC 9449 §5.8) through RefreshManager, on every refresh store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.oauth._dpop_proofs import TestProofVerifier, make_proof
from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    ConfigurationError,
    Confirmation,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
)
from tokensmith.errors import (
    BackendUnavailable,
    InvalidConfirmation,
    InvalidGrant,
    RefreshTokenKeyMismatch,
    RefreshTokenReused,
    RefreshTokenRevoked,
)
from tokensmith.oauth import token_response, verify_token_request_proof
from tokensmith.observability import AuditEvent
from tokensmith.refresh import (
    MemoryRefreshStore,
    RefreshFamily,
    RefreshManager,
    RefreshStore,
    refresh_token_hash,
)
from tokensmith.refresh.redis import RedisRefreshStore
from tokensmith.refresh.sqlite import SQLiteRefreshStore
from tokensmith.testing import FakeClock

TOKEN_ENDPOINT = "https://auth.example.test/token"
CERT = Confirmation.of_certificate(b"a DER certificate")


class Env:
    def __init__(self, store: RefreshStore, clock: FakeClock) -> None:
        self.clock = clock
        self.store = store
        self.keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
        signer = Signer(self.keys, issuer=ISSUER, clock=clock)
        self.events: list[AuditEvent] = []
        self.manager = RefreshManager(store, signer, clock=clock, audit=self.events.append)
        self.validator = Validator(self.keys, issuer=ISSUER, audience=AUDIENCE, clock=clock)
        self.verifier = TestProofVerifier(clock)

    def prove(self, key: Key) -> Confirmation:
        """A token request's proof by ``key``, through the token endpoint helper."""
        proof = make_proof(key, htm="POST", htu=TOKEN_ENDPOINT, iat=self.clock())
        confirmation = verify_token_request_proof(
            self.verifier, proof, token_endpoint=TOKEN_ENDPOINT
        )
        assert confirmation is not None
        return confirmation


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def env(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[Env]:
    if request.param == "memory":
        store: Any = MemoryRefreshStore(clock=clock)
    elif request.param == "sqlite":
        store = SQLiteRefreshStore(tmp_path / "rt.db")
    else:
        store = RedisRefreshStore.from_url(request.getfixturevalue("redis_url"), clock=clock)
    yield Env(store, clock)
    close = getattr(store, "close", None)
    if close is not None:
        close()


@pytest.fixture
def key() -> Key:
    return Key.generate("ES256")


def _refused(error: type[Exception], call: Any, *args: Any, **kwargs: Any) -> Exception:
    with pytest.raises(error) as caught:
        call(*args, **kwargs)
    assert type(caught.value) is error
    return caught.value


# --- public clients: the family is bound to the key -------------------------------------------


def test_a_public_clients_refresh_needs_a_proof_by_the_same_key(env: Env, key: Key) -> None:
    first = env.manager.start(
        "user-1", audience=AUDIENCE, client_id="spa", confirmation=env.prove(key)
    )
    assert (
        token_response(first.access, refresh_token=first.refresh_token).body["token_type"] == "DPoP"
    )
    assert env.validator.validate(first.access_token, confirmation=Confirmation.of_key(key))
    env.clock.advance(60)
    second = env.manager.refresh(first.refresh_token, client_id="spa", confirmation=env.prove(key))
    token = env.validator.validate(second.access_token, confirmation=Confirmation.of_key(key))
    assert token.claims["cnf"] == {"jkt": key.thumbprint()}
    assert token_response(second.access).body["token_type"] == "DPoP"
    _refused(InvalidConfirmation, env.validator.validate, second.access_token)


@pytest.mark.parametrize("presented", ["none", "other-key", "certificate"])
def test_a_bound_refresh_token_without_its_key_is_refused_and_not_consumed(
    env: Env, key: Key, presented: str
) -> None:
    pair = env.manager.start(
        "user-1", audience=AUDIENCE, client_id="spa", confirmation=env.prove(key)
    )
    wrong = {
        "none": None,
        "other-key": env.prove(Key.generate("ES256")),
        "certificate": CERT,
    }[presented]
    error = _refused(
        RefreshTokenKeyMismatch,
        env.manager.refresh,
        pair.refresh_token,
        client_id="spa",
        confirmation=wrong,
    )
    assert isinstance(error, InvalidGrant)  # RFC 6749 §5.2 invalid_grant
    assert error.code == "refresh_token_key_mismatch"
    assert pair.refresh_token not in str(error)
    refused = env.events[-1]  # audited: someone holds the refresh token but not its key
    assert (refused.kind, refused.code) == ("token.refused", "refresh_token_key_mismatch")
    assert refused.fingerprint == pair.refresh_fingerprint
    assert refused.detail["sid"] == pair.session_id
    # nothing was consumed: the legitimate client still refreshes (no reuse alarm)
    env.manager.refresh(pair.refresh_token, client_id="spa", confirmation=env.prove(key))


def test_the_binding_is_stored(env: Env, key: Key) -> None:
    both = env.prove(key).plus(CERT)
    pair = env.manager.start("user-1", audience=AUDIENCE, confirmation=both)
    record = env.store.find(refresh_token_hash(pair.refresh_token), family_id=pair.session_id)
    assert record is not None
    # only the DPoP key binds the family (RFC 9449 §5.8); the access token carries both
    assert record.family.confirmation == Confirmation(jkt=key.thumbprint())
    assert env.validator.validate(pair.access_token, confirmation=both)


# --- confidential clients: bound to client authentication -------------------------------------


def test_a_confidential_clients_refresh_is_bound_to_its_authentication(env: Env, key: Key) -> None:
    first = env.manager.start(
        "svc",
        audience=AUDIENCE,
        client_id="backend",
        confirmation=env.prove(key),
        confidential_client=True,
    )
    assert env.validator.validate(first.access_token, confirmation=Confirmation.of_key(key))
    other = Key.generate("ES256")  # the client may rotate its DPoP key between refreshes
    second = env.manager.refresh(
        first.refresh_token, client_id="backend", confirmation=env.prove(other)
    )
    assert env.validator.validate(second.access_token, confirmation=Confirmation.of_key(other))
    third = env.manager.refresh(second.refresh_token, client_id="backend")  # no proof: bearer
    assert "cnf" not in env.validator.validate(third.access_token).claims
    assert token_response(third.access).body["token_type"] == "Bearer"


def test_confidential_client_is_a_bool(env: Env) -> None:
    _refused(
        ConfigurationError,
        env.manager.start,
        "svc",
        audience=AUDIENCE,
        client_id="backend",
        confidential_client="yes",
    )


def test_reuse_of_a_bound_token_revokes_the_family_key_or_not(env: Env, key: Key) -> None:
    pair = env.manager.start("u", audience=AUDIENCE, confirmation=env.prove(key))
    renewed = env.manager.refresh(pair.refresh_token, confirmation=env.prove(key))
    _refused(RefreshTokenReused, env.manager.refresh, pair.refresh_token, confirmation=None)
    _refused(
        RefreshTokenRevoked, env.manager.refresh, renewed.refresh_token, confirmation=env.prove(key)
    )


def test_confidential_needs_a_client_id(env: Env, key: Key) -> None:
    _refused(
        ConfigurationError,
        env.manager.start,
        "svc",
        audience=AUDIENCE,
        confirmation=env.prove(key),
        confidential_client=True,
    )


# --- unbound families ---------------------------------------------------------------------------


def test_an_unbound_family_refreshed_with_a_proof_binds_only_the_access_token(
    env: Env, key: Key
) -> None:
    """RFC 9449 §5.8 binds refresh tokens issued *with* a proof; one issued without stays a
    bearer refresh token (binding it now would let whoever refreshes first, perhaps a thief,
    lock the other party out). The new access token is bound to the proof, as §5 asks."""
    first = env.manager.start("user-1", audience=AUDIENCE)
    second = env.manager.refresh(first.refresh_token, confirmation=env.prove(key))
    assert env.validator.validate(second.access_token, confirmation=Confirmation.of_key(key))
    assert token_response(second.access).body["token_type"] == "DPoP"
    third = env.manager.refresh(second.refresh_token)
    assert token_response(third.access).body["token_type"] == "Bearer"


def test_a_certificate_alone_does_not_bind_the_family(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, confirmation=CERT)
    assert env.validator.validate(pair.access_token, confirmation=CERT)
    env.manager.refresh(pair.refresh_token)


@pytest.mark.parametrize("bad", ["jkt", {"jkt": "a" * 43}, 1])
def test_confirmation_must_be_a_confirmation(env: Env, bad: Any) -> None:
    _refused(ConfigurationError, env.manager.start, "u", audience=AUDIENCE, confirmation=bad)
    pair = env.manager.start("u", audience=AUDIENCE)
    _refused(ConfigurationError, env.manager.refresh, pair.refresh_token, confirmation=bad)


# --- stored records: old ones stay readable, damaged ones are refused --------------------------


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "family_id": "f",
        "subject": "s",
        "audience": ["a"],
        "scopes": [],
        "client_id": None,
        "created_at": 1.0,
        "expires_at": 2.0,
        "claims": {},
    }
    document.update(changes)
    return document


def test_records_written_before_bindings_existed_read_as_unbound() -> None:
    family = RefreshFamily.from_json(json.dumps(_document()))
    assert family.confirmation is None
    assert "cnf" not in json.loads(family.to_json())  # and unbound ones are written the same


def test_a_bound_record_round_trips() -> None:
    bound = Confirmation(jkt="a" * 43, x5t_s256="b" * 43)
    document = _document(cnf={"jkt": "a" * 43, "x5t#S256": "b" * 43})
    family = RefreshFamily.from_json(json.dumps(document))
    assert family.confirmation == bound
    assert json.loads(family.to_json()) == document


@pytest.mark.parametrize(
    "cnf", [[], "a" * 43, {}, {"jwk": {}}, {"jkt": "short"}, {"jkt": 5}, {"jkt": "a" * 43, "x": 1}]
)
def test_a_damaged_binding_is_a_backend_fault(cnf: Any) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        RefreshFamily.from_json(json.dumps(_document(cnf=cnf)))
    assert type(caught.value) is BackendUnavailable


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
        ),
        max_leaves=6,
    )
)
def test_any_stored_cnf_reads_as_a_binding_or_a_backend_fault(cnf: Any) -> None:
    try:
        family = RefreshFamily.from_json(json.dumps(_document(cnf=cnf)))
    except BackendUnavailable:
        return
    assert family.confirmation is None or isinstance(family.confirmation, Confirmation)
