from __future__ import annotations

from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    UNSAFE_ANY_AUDIENCE,
    BackendUnavailable,
    ConfigurationError,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    VerifiedToken,
)
from tokensmith.oauth import (
    Client,
    access_token_validator,
    introspection_response,
    issue_access_token,
    revocation_response,
)
from tokensmith.testing import FakeClock

RS = Client(AUDIENCE)  # the resource server authenticates with its resource identifier
APP = Client("app", allowed_scopes=frozenset({"orders:read"}), audience=AUDIENCE)


@pytest.fixture
def revocations(clock: FakeClock) -> MemoryRevocationList:
    return MemoryRevocationList(clock=clock)


@pytest.fixture
def at_validator(store: MemoryKeyStore, clock: FakeClock, revocations: MemoryRevocationList) -> Any:
    return access_token_validator(
        store, issuer=ISSUER, audience=UNSAFE_ANY_AUDIENCE, clock=clock, revocation=revocations
    )


def access_token(signer: Signer, **kw: Any) -> str:
    args: dict[str, Any] = {
        "client_id": "app",
        "audience": AUDIENCE,
        "subject": "alice",
        "scopes": ["orders:read"],
    }
    args.update(kw)
    return issue_access_token(signer, **args).token


class FailingRevocations(MemoryRevocationList):
    def is_revoked(self, token: VerifiedToken) -> bool:
        raise ConnectionError("down")


def test_introspect_active(signer: Signer, at_validator: Any) -> None:
    token = access_token(signer)
    status, headers, body = introspection_response(
        {"token": token}, caller=RS, validator=at_validator
    )
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert body["active"] is True
    assert body["sub"] == "alice" and body["client_id"] == "app" and body["aud"] == AUDIENCE
    assert body["scope"] == "orders:read" and body["token_type"] == "Bearer"
    assert {"exp", "iat", "jti", "iss"} <= set(body)
    assert introspection_response({"token": token}, caller=APP, validator=at_validator).body[
        "active"
    ]


def test_introspect_inactive_never_says_why(
    signer: Signer, at_validator: Any, clock: FakeClock, revocations: MemoryRevocationList
) -> None:
    cases = [
        "garbage",
        signer.issue("alice", audience=AUDIENCE, claims={"client_id": "app"}),  # typ JWT
        access_token(signer, ttl=10),
    ]
    revoked = access_token(signer)
    revocations.revoke(at_validator.validate(revoked).jti, issuer=ISSUER, expires_at=clock() + 600)
    cases.append(revoked)
    clock.advance(60)
    for token in cases:
        response = introspection_response({"token": token}, caller=RS, validator=at_validator)
        assert response.status == 200
        assert response == (response.status, response.headers, {"active": False})
    other = Client("another-api")
    body = introspection_response(
        {"token": access_token(signer)}, caller=other, validator=at_validator
    ).body
    assert body == {"active": False}


def test_introspect_request_errors(
    at_validator: Any, store: MemoryKeyStore, clock: FakeClock
) -> None:
    status, headers, body = introspection_response(
        {"token": "x"}, caller=None, validator=at_validator
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"].startswith("Basic")
    status, _, body = introspection_response({}, caller=RS, validator=at_validator)
    assert (status, body["error"]) == (400, "invalid_request")
    with pytest.raises(ConfigurationError):
        introspection_response({"token": "x"}, caller=RS, validator=object())  # type: ignore[arg-type]


def test_introspect_backend_outage_is_503(
    signer: Signer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    validator = access_token_validator(
        store,
        issuer=ISSUER,
        audience=UNSAFE_ANY_AUDIENCE,
        clock=clock,
        revocation=FailingRevocations(),
    )
    status, headers, body = introspection_response(
        {"token": access_token(signer)}, caller=RS, validator=validator
    )
    assert (status, body["error"], headers["Retry-After"]) == (503, "temporarily_unavailable", "1")


def test_revoke_access_token(
    signer: Signer, at_validator: Any, revocations: MemoryRevocationList
) -> None:
    token = access_token(signer)
    for hint in (None, "access_token"):
        params = {"token": token} if hint is None else {"token": token, "token_type_hint": hint}
        status, headers, body = revocation_response(
            params, caller=APP, validator=at_validator, revocations=revocations
        )
        assert (status, dict(body)) == (200, {})
        assert headers["Cache-Control"] == "no-store"
    assert introspection_response({"token": token}, caller=RS, validator=at_validator).body == {
        "active": False
    }


def test_revoke_only_your_own_tokens(
    signer: Signer, at_validator: Any, revocations: MemoryRevocationList
) -> None:
    token = access_token(signer)
    status, _, _ = revocation_response(
        {"token": token}, caller=RS, validator=at_validator, revocations=revocations
    )
    assert status == 200
    assert at_validator.validate(token)  # not revoked: RS is not the client it was issued to


def test_revoke_unknown_and_invalid_tokens_is_200(
    at_validator: Any, revocations: MemoryRevocationList
) -> None:
    for token in ("garbage", "a.b.c"):
        assert (
            revocation_response(
                {"token": token}, caller=APP, validator=at_validator, revocations=revocations
            ).status
            == 200
        )
    assert len(revocations) == 0


def test_revoke_refresh_tokens(
    signer: Signer, at_validator: Any, revocations: MemoryRevocationList
) -> None:
    seen: list[tuple[str, str]] = []

    def refresh_revoker(token: str, client_id: str) -> bool:
        seen.append((token, client_id))
        return token == "rt-1"

    kw: dict[str, Any] = {
        "caller": APP,
        "validator": at_validator,
        "revocations": revocations,
        "refresh_revoker": refresh_revoker,
    }
    assert (
        revocation_response({"token": "rt-1", "token_type_hint": "refresh_token"}, **kw).status
        == 200
    )
    assert revocation_response({"token": "rt-2"}, **kw).status == 200
    at = access_token(signer)
    assert (
        revocation_response({"token": at, "token_type_hint": "refresh_token"}, **kw).status == 200
    )
    assert seen == [("rt-1", "app"), ("rt-2", "app"), (at, "app")]
    assert introspection_response({"token": at}, caller=RS, validator=at_validator).body == {
        "active": False
    }
    fresh = access_token(signer)
    assert (
        revocation_response({"token": fresh}, **kw).status == 200
    )  # found as an access token first
    assert len(seen) == 3
    only_refresh = revocation_response(
        {"token": "rt-1"}, caller=APP, refresh_revoker=refresh_revoker
    )
    assert only_refresh.status == 200
    status, _, body = revocation_response(
        {"token": "x", "token_type_hint": "access_token"},
        caller=APP,
        refresh_revoker=refresh_revoker,
    )
    assert (status, body["error"]) == (400, "unsupported_token_type")


def test_revoke_request_errors(at_validator: Any, revocations: MemoryRevocationList) -> None:
    kw: dict[str, Any] = {"validator": at_validator, "revocations": revocations}
    status, headers, body = revocation_response({"token": "x"}, caller=None, **kw)
    assert (status, body["error"]) == (401, "invalid_client")
    status, _, body = revocation_response({}, caller=APP, **kw)
    assert (status, body["error"]) == (400, "invalid_request")
    for hint in ("refresh_token", "id_token", "bogus"):
        status, _, body = revocation_response(
            {"token": "x", "token_type_hint": hint}, caller=APP, **kw
        )
        assert (status, body["error"]) == (400, "unsupported_token_type")
    with pytest.raises(ConfigurationError):
        revocation_response({"token": "x"}, caller=APP, validator=at_validator)
    with pytest.raises(ConfigurationError):
        revocation_response({"token": "x"}, caller=APP)


def test_revoke_backend_outage_is_503(
    signer: Signer, at_validator: Any, revocations: MemoryRevocationList
) -> None:
    def broken(token: str, client_id: str) -> bool:
        raise BackendUnavailable("refresh store down")

    status, headers, _ = revocation_response(
        {"token": "rt", "token_type_hint": "refresh_token"}, caller=APP, refresh_revoker=broken
    )
    assert (status, headers["Retry-After"]) == (503, "1")
