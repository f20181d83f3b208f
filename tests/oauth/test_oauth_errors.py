"""One policy for OAuth error bodies (issue 14, item 15).

``error_description`` is a fixed text per RFC 6749 error code: never the exception message, so
an unknown, a revoked, an expired and a reused refresh token get the very same body, and no
request data is ever echoed.
"""

from __future__ import annotations

import inspect
import re

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import ConfigurationError, KeySet, MemoryKeyStore, Signer, errors
from tokensmith.errors import (
    AuthorizationCodeReused,
    InvalidGrant,
    InvalidRefreshToken,
    InvalidRequest,
    OAuthError,
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
    StateMismatch,
    UnsupportedGrantType,
)
from tokensmith.oauth import (
    Client,
    access_token_validator,
    client_credentials_grant,
    error_response,
)
from tokensmith.refresh import MemoryRefreshStore, RefreshManager
from tokensmith.testing import FakeClock

OAUTH_ERRORS = [
    cls
    for name in errors.__all__
    if inspect.isclass(cls := getattr(errors, name)) and issubclass(cls, OAuthError)
]
# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
ECHO = 'rt_<script>alert(1)</script> "token=eyJ.eyJ.sig"'


def _instance(cls: type[OAuthError], message: str) -> OAuthError:
    if cls is AuthorizationCodeReused:
        return cls(message, grant_id="g", client_id="c", subject="s")
    if cls is RefreshTokenReused:
        return cls(message, session_id="s", subject="u", client_id=None)
    return cls(message)


@pytest.mark.parametrize("cls", OAUTH_ERRORS, ids=lambda c: c.__name__)
def test_the_description_is_fixed_per_error_code(cls: type[OAuthError]) -> None:
    body = error_response(_instance(cls, ECHO)).body
    same = error_response(_instance(cls, "something else entirely")).body
    assert body == same
    assert body["error"] == cls.error
    description = body["error_description"]
    assert DESCRIPTION.fullmatch(description), description
    assert "<script>" not in description and "eyJ" not in description
    # Every class sharing an error code shares the body.
    siblings = [c for c in OAUTH_ERRORS if c.error == cls.error]
    assert {error_response(_instance(c, ECHO)).body["error_description"] for c in siblings} == {
        description
    }


def test_describe_false_leaves_the_description_out() -> None:
    assert dict(error_response(InvalidGrant("x"), describe=False).body) == {
        "error": "invalid_grant"
    }
    assert error_response(StateMismatch("x")).body["error"] == "invalid_request"


def test_unknown_revoked_expired_and_reused_refresh_tokens_answer_alike(clock: FakeClock) -> None:
    keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    manager = RefreshManager(
        MemoryRefreshStore(clock=clock),
        Signer(keys, issuer=ISSUER, clock=clock),
        idle_ttl=60,
        clock=clock,
    )
    bodies = []

    def answer(token: str) -> None:
        with pytest.raises(InvalidRefreshToken) as caught:
            manager.refresh(token)
        response = error_response(caught.value)
        bodies.append((response.status, dict(response.body)))

    answer("rt_" + "A" * 43)  # unknown
    first = manager.start("u", audience=AUDIENCE)
    manager.refresh(first.refresh_token)
    answer(first.refresh_token)  # reused (revokes the family)
    revoked = manager.start("u", audience=AUDIENCE)
    manager.revoke_family(revoked.session_id)
    answer(revoked.refresh_token)  # revoked
    expired = manager.start("u", audience=AUDIENCE)
    clock.advance(61)
    answer(expired.refresh_token)  # expired
    assert len(bodies) == 4 and all(b == bodies[0] for b in bodies), bodies
    assert bodies[0][1]["error"] == "invalid_grant"
    for cls in (RefreshTokenReused, RefreshTokenRevoked, RefreshTokenExpired):
        assert cls.__doc__ is not None
        assert cls.__doc__.split("\n")[0] not in str(bodies)


@pytest.mark.parametrize(
    ("params", "refusal"),
    [
        ({}, InvalidRequest),
        ({"grant_type": ""}, InvalidRequest),  # RFC 6749 §3.1: empty means omitted
        ({"grant_type": None}, InvalidRequest),
        ({"scope": "orders:read"}, InvalidRequest),
        ({"grant_type": "password"}, UnsupportedGrantType),
        ({"grant_type": "Client_Credentials"}, UnsupportedGrantType),
    ],
)
def test_a_missing_grant_type_is_invalid_request(
    signer: Signer, params: dict[str, object], refusal: type[OAuthError]
) -> None:
    client = Client("svc", allowed_scopes=frozenset({"orders:read"}), audience=AUDIENCE)
    with pytest.raises(OAuthError) as caught:
        client_credentials_grant(signer, client, params)  # type: ignore[arg-type]
    assert type(caught.value) is refusal


def test_rfc9068_refresh_sessions_need_a_client(clock: FakeClock) -> None:
    keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    store = MemoryRefreshStore(clock=clock)
    for token_type in ("at+jwt", "AT+JWT", "application/at+jwt"):
        manager = RefreshManager(
            store, Signer(keys, issuer=ISSUER, clock=clock), token_type=token_type, clock=clock
        )
        with pytest.raises(ConfigurationError) as caught:
            manager.start("user-1", audience=AUDIENCE)
        assert type(caught.value) is ConfigurationError and "client_id" in caught.value.message
    assert len(store) == 0  # nothing was stored for the refused logins
    manager = RefreshManager(
        store, Signer(keys, issuer=ISSUER, clock=clock), token_type="at+jwt", clock=clock
    )
    pair = manager.start("user-1", audience=AUDIENCE, client_id="web-app")
    validator = access_token_validator(keys, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    assert validator.validate(pair.access_token).client_id == "web-app"
    renewed = manager.refresh(pair.refresh_token, client_id="web-app")
    assert validator.validate(renewed.access_token).client_id == "web-app"


def test_an_rfc9068_manager_does_not_renew_a_session_without_client(clock: FakeClock) -> None:
    """A family opened before the switch to at+jwt: refused before the token is consumed."""
    keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    store = MemoryRefreshStore(clock=clock)
    plain = RefreshManager(store, Signer(keys, issuer=ISSUER, clock=clock), clock=clock)
    strict = RefreshManager(
        store, Signer(keys, issuer=ISSUER, clock=clock), token_type="at+jwt", clock=clock
    )
    pair = plain.start("user-1", audience=AUDIENCE)
    with pytest.raises(ConfigurationError):
        strict.refresh(pair.refresh_token)
    assert plain.refresh(pair.refresh_token).session_id == pair.session_id  # not consumed
