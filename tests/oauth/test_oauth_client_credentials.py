from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tokensmith import ConfigurationError, MemoryKeyStore, Signer
from tokensmith.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from tokensmith.oauth import (
    Client,
    access_token_validator,
    client_credentials_grant,
    error_response,
    grant_scopes,
    parse_scope,
)
from tokensmith.testing import FakeClock

SERVICE = Client(
    "billing",
    allowed_scopes=frozenset({"orders:read", "orders:write"}),
    audience=AUDIENCE,
    default_scopes=frozenset({"orders:read"}),
)

scope_tokens = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'),
    min_size=1,
    max_size=8,
)


def test_token_response(signer: Signer, store: MemoryKeyStore, clock: FakeClock) -> None:
    status, headers, body = client_credentials_grant(
        signer, SERVICE, {"grant_type": "client_credentials", "scope": "orders:read"}
    )
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["Pragma"] == "no-cache"
    assert headers["Content-Type"].startswith("application/json")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "orders:read"
    tok = access_token_validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(
        body["access_token"]
    )
    assert tok.subject == "billing" and tok.client_id == "billing"


def test_response_serialises_and_hides_the_token_in_repr(signer: Signer) -> None:
    response = client_credentials_grant(signer, SERVICE, {"grant_type": "client_credentials"})
    assert json.loads(response.body_bytes())["scope"] == "orders:read"
    assert response.body["access_token"] not in repr(response)


def test_scope_rule() -> None:
    assert grant_scopes(SERVICE, None) == ("orders:read",)
    assert grant_scopes(SERVICE, "") == ("orders:read",)
    assert grant_scopes(SERVICE, "orders:write admin orders:write") == ("orders:write",)
    with pytest.raises(InvalidScope):
        grant_scopes(SERVICE, "admin")
    with pytest.raises(InvalidScope):
        grant_scopes(SERVICE, "orders:read admin", strict_scopes=True)
    with pytest.raises(InvalidScope):
        grant_scopes(Client("x", allowed_scopes=frozenset({"a"})), None)
    for malformed in ("a  b", " a", "a ", 'a"b', "a\\b", "a\tb", "é", 5):
        with pytest.raises(InvalidScope):
            parse_scope(malformed)


@given(st.lists(scope_tokens, max_size=6), st.frozensets(scope_tokens, max_size=6))
def test_scope_intersection_property(requested: list[str], allowed: frozenset[str]) -> None:
    client = Client("c", allowed_scopes=allowed, audience="api")
    scope = " ".join(requested)
    expected = tuple(dict.fromkeys(s for s in requested if s in allowed))
    if expected:
        assert grant_scopes(client, scope) == expected
    else:
        with pytest.raises(InvalidScope):
            grant_scopes(client, scope)


def test_grant_errors(signer: Signer) -> None:
    with pytest.raises(UnsupportedGrantType):
        client_credentials_grant(signer, SERVICE, {"grant_type": "password"})
    with pytest.raises(InvalidRequest) as missing:  # RFC 6749 §5.2
        client_credentials_grant(signer, SERVICE, {})
    assert type(missing.value) is InvalidRequest
    spa = Client(
        "spa",
        allowed_scopes=frozenset({"a"}),
        audience="api",
        grant_types=frozenset({"authorization_code"}),
    )
    with pytest.raises(UnauthorizedClient):
        client_credentials_grant(signer, spa, {"grant_type": "client_credentials"})
    with pytest.raises(InvalidScope):
        client_credentials_grant(
            signer, SERVICE, {"grant_type": "client_credentials", "scope": "x"}
        )
    no_aud = Client("x", allowed_scopes=frozenset({"a"}), default_scopes=frozenset({"a"}))
    with pytest.raises(ConfigurationError):
        client_credentials_grant(signer, no_aud, {"grant_type": "client_credentials"})
    with pytest.raises(ConfigurationError):
        client_credentials_grant(signer, "billing", {"grant_type": "client_credentials"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (InvalidRequest(), 400, "invalid_request"),
        (InvalidClient(), 401, "invalid_client"),
        (InvalidGrant(), 400, "invalid_grant"),
        (UnauthorizedClient(), 400, "unauthorized_client"),
        (UnsupportedGrantType(), 400, "unsupported_grant_type"),
        (InvalidScope(), 400, "invalid_scope"),
    ],
)
def test_error_responses(exc: OAuthError, status: int, error: str) -> None:
    got_status, headers, body = error_response(exc)
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]
    assert headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in headers


def test_invalid_client_challenge() -> None:
    _, headers, _ = error_response(InvalidClient(), auth_scheme="Basic")
    assert headers["WWW-Authenticate"] == 'Basic realm="token"'
    _, headers, _ = error_response(InvalidScope(), auth_scheme="Basic")
    assert "WWW-Authenticate" not in headers
    with pytest.raises(ConfigurationError):
        error_response(InvalidClient(), auth_scheme='Basic"\r\nX: y')


def test_client_registration_checks() -> None:
    with pytest.raises(ConfigurationError):
        Client("")
    with pytest.raises(ConfigurationError):
        Client("c", allowed_scopes=frozenset({"a b"}))
    with pytest.raises(ConfigurationError):
        Client("c", allowed_scopes=frozenset({"a"}), default_scopes=frozenset({"b"}))
    with pytest.raises(ConfigurationError):
        Client("c", audience=("api", ""))
    assert Client("c", allowed_scopes="a", audience=["x", "y"]).audience == ("x", "y")  # type: ignore[arg-type]
