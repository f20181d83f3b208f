"""Every helper that takes request data answers bad input with tokensmith's own refusal.

Issue 14, item 8. Request data is whatever a client can put on the wire, after the framework
parsed it: any JSON value (a JSON body), lone surrogates (``json.loads('"\\ud800"')``), lists
where one string is expected (``parse_qs``, repeated form fields), bytes, huge values. For each
helper a hypothesis test feeds such values and accepts only a refusal: a
:class:`~tokensmith.errors.TokensmithError` that is not a
:class:`~tokensmith.errors.ConfigurationError` (that would be a 500 for the client's fault).
Never a bare ``TypeError``, ``AttributeError``, ``UnicodeEncodeError``...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    Validator,
)
from tokensmith.errors import (
    ConfigurationError,
    InvalidRequest,
    InvalidScope,
    MalformedAuthorization,
    TokensmithError,
)
from tokensmith.oauth import (
    MAX_PARAM_LENGTH,
    AuthorizationCodes,
    Client,
    IDTokenValidator,
    authenticate_client,
    client_credentials_grant,
    code_challenge,
    grant_scopes,
    introspection_response,
    parse_code_challenge,
    parse_scope,
    request_param,
    revocation_response,
    unverified_client_id,
    validate_client_assertion,
    verify_code_verifier,
    verify_state,
)
from tokensmith.refresh import MemoryRefreshStore, RefreshManager
from tokensmith.replay import MemoryJtiReplayStore
from tokensmith.testing import FakeClock
from tokensmith.web import (
    CSRFProtector,
    bearer_token,
    client_address,
    extract_token,
    form_token,
    refuse_query_token,
)

# --- what a client can send --------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # surrogates included
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(ANY_CHAR, max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "é", "\x00", "Bearer \ud800", "x.y.z", "", " "]),
    st.builds(lambda c, n: c * n, st.sampled_from("aé\ud800.%="), st.integers(8_000, 70_000)),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
HOSTILE = st.one_of(JSON, st.binary(max_size=40), st.tuples(TEXT, TEXT))
FIELDS = (
    "grant_type",
    "scope",
    "token",
    "token_type_hint",
    "client_id",
    "client_assertion",
    "client_assertion_type",
    "access_token",
    "code",
    "redirect_uri",
    "code_verifier",
)
PARAMS = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS) | TEXT, HOSTILE, max_size=5),
    HOSTILE,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

NOW = 1_700_000_000.0


def refused(action: Callable[[], object]) -> None:
    """Run ``action``: it may return, or refuse with tokensmith's own (non-500) error."""
    try:
        action()
    except ConfigurationError as exc:  # the server's fault: never for something a client sent
        raise AssertionError(f"request data raised ConfigurationError: {exc.message}") from exc
    except TokensmithError:
        pass


# --- one shared, cheap world -------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(NOW)
        self.keys = MemoryKeyStore(KeySet.generate("ES256"), clock=self.clock)
        self.signer = Signer(self.keys, issuer=ISSUER, clock=self.clock)
        self.revocations = MemoryRevocationList(clock=self.clock)
        self.validator = Validator(self.keys, issuer=ISSUER, audience=AUDIENCE, clock=self.clock)
        self.client = Client(
            "svc",
            allowed_scopes=frozenset({"orders:read"}),
            default_scopes=frozenset({"orders:read"}),
            audience=AUDIENCE,
        )
        self.csrf = CSRFProtector(b"k" * 32, clock=self.clock)
        self.codes = AuthorizationCodes(clock=self.clock)
        self.verifier = "v" * 43
        self.code = self.codes.issue(
            client_id="svc",
            redirect_uri="https://app.example/cb",
            subject="u",
            code_challenge=code_challenge(self.verifier),
            code_challenge_method="S256",
        )
        self.manager = RefreshManager(
            MemoryRefreshStore(clock=self.clock), self.signer, clock=self.clock
        )
        self.id_tokens = IDTokenValidator(
            self.keys, issuer=ISSUER, client_id=AUDIENCE, clock=self.clock
        )


WORLD = World()


# --- tokensmith.web.bearer ------------------------------------------------------------------------------


@FUZZ
@given(
    value=HOSTILE, name=st.sampled_from(["Authorization", "HTTP_AUTHORIZATION", b"authorization"])
)
def test_bearer_token(value: Any, name: Any) -> None:
    refused(lambda: bearer_token({name: value}))
    refused(lambda: bearer_token([(name, value)]))
    refused(lambda: bearer_token(value))


@FUZZ
@given(query=HOSTILE, body=HOSTILE, method=HOSTILE, content_type=HOSTILE)
def test_extract_and_form_token(query: Any, body: Any, method: Any, content_type: Any) -> None:
    refused(lambda: refuse_query_token(query))
    refused(lambda: form_token(body, method=method, content_type=content_type))
    refused(lambda: form_token({"access_token": body}, method="POST", content_type=_FORM))
    refused(
        lambda: extract_token(
            {}, query=query, method=method, body=body, content_type=content_type, allow_form=True
        )
    )


_FORM = "application/x-www-form-urlencoded"


@FUZZ
@given(session_id=HOSTILE, cookie=HOSTILE, submitted=HOSTILE)
def test_csrf_verify(session_id: Any, cookie: Any, submitted: Any) -> None:
    csrf = WORLD.csrf
    refused(lambda: csrf.verify(session_id, cookie, submitted))
    refused(lambda: csrf.verify(session_id, cookie, cookie))
    if isinstance(session_id, str) and session_id:
        token = csrf.issue(session_id)
        csrf.verify(session_id, token, token)  # any text session id works, surrogates too


@FUZZ
@given(peer=HOSTILE, forwarded=HOSTILE)
def test_client_address(peer: Any, forwarded: Any) -> None:
    refused(lambda: client_address(peer, forwarded, trusted_proxies=["10.0.0.0/8"]))
    refused(lambda: client_address("10.0.0.1", forwarded, trusted_proxies=["10.0.0.0/8"]))


# --- tokensmith.oauth ---------------------------------------------------------------------------


@FUZZ
@given(params=PARAMS, name=st.sampled_from(FIELDS))
def test_request_param(params: Any, name: str) -> None:
    refused(lambda: request_param(params, name))
    refused(lambda: request_param(params, name, required=True))


@FUZZ
@given(params=PARAMS)
def test_token_endpoint_client_credentials(params: Any) -> None:
    refused(lambda: client_credentials_grant(WORLD.signer, WORLD.client, params))
    if isinstance(params, dict):
        with_grant = {**params, "grant_type": "client_credentials"}
        refused(lambda: client_credentials_grant(WORLD.signer, WORLD.client, with_grant))


@FUZZ
@given(scope=HOSTILE)
def test_scopes(scope: Any) -> None:
    refused(lambda: parse_scope(scope))
    refused(lambda: grant_scopes(WORLD.client, scope))


@FUZZ
@given(params=PARAMS)
def test_introspection_and_revocation(params: Any) -> None:
    refused(lambda: introspection_response(params, caller=WORLD.client, validator=WORLD.validator))
    refused(
        lambda: revocation_response(
            params,
            caller=WORLD.client,
            validator=WORLD.validator,
            revocations=WORLD.revocations,
            refresh_revoker=WORLD.manager.revoke,
        )
    )
    if isinstance(params, dict):
        hinted = {**params, "token": "x.y.z"}
        refused(
            lambda: revocation_response(
                hinted,
                caller=WORLD.client,
                validator=WORLD.validator,
                revocations=WORLD.revocations,
            )
        )


@FUZZ
@given(params=PARAMS, assertion=HOSTILE)
def test_client_assertions(params: Any, assertion: Any) -> None:
    store = MemoryJtiReplayStore(clock=WORLD.clock)
    refused(lambda: unverified_client_id(assertion))
    refused(
        lambda: authenticate_client(
            params,
            client_keys=lambda client_id: WORLD.keys,
            token_endpoint="https://as.example/token",
            replay_store=store,
            clock=WORLD.clock,
        )
    )
    if isinstance(params, dict):
        typed = {
            **params,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        refused(
            lambda: authenticate_client(
                typed,
                client_keys=lambda client_id: WORLD.keys,
                token_endpoint="https://as.example/token",
                replay_store=store,
                clock=WORLD.clock,
            )
        )
    refused(
        lambda: validate_client_assertion(
            assertion,
            client_keys=WORLD.keys,
            client_id="svc",
            token_endpoint="https://as.example/token",
            replay_store=store,
            clock=WORLD.clock,
        )
    )


@FUZZ
@given(challenge=HOSTILE, method=HOSTILE, verifier=HOSTILE, state=HOSTILE)
def test_pkce_and_state(challenge: Any, method: Any, verifier: Any, state: Any) -> None:
    refused(lambda: parse_code_challenge(challenge, method))
    refused(lambda: parse_code_challenge(challenge, method, allow_plain=True))
    stored = parse_code_challenge(code_challenge(WORLD.verifier), "S256")
    refused(lambda: verify_code_verifier(verifier, stored))
    refused(lambda: verify_state("expected-state", state))


@FUZZ
@given(code=HOSTILE, redirect_uri=HOSTILE, verifier=HOSTILE, challenge=HOSTILE, method=HOSTILE)
def test_authorization_codes(
    code: Any, redirect_uri: Any, verifier: Any, challenge: Any, method: Any
) -> None:
    codes = WORLD.codes
    refused(
        lambda: codes.redeem(
            code, client_id="svc", redirect_uri=redirect_uri, code_verifier=verifier
        )
    )
    refused(
        lambda: codes.issue(
            client_id="svc",
            redirect_uri="https://app.example/cb",
            subject="u",
            code_challenge=challenge,
            code_challenge_method=method,
        )
    )


@FUZZ
@given(id_token=HOSTILE, access_token=HOSTILE, code=HOSTILE)
def test_id_tokens(id_token: Any, access_token: Any, code: Any) -> None:
    refused(lambda: WORLD.id_tokens.validate(id_token))
    token = WORLD.signer.issue("u", audience=AUDIENCE, claims={"at_hash": "x", "c_hash": "y"})
    refused(lambda: WORLD.id_tokens.validate(token, access_token=access_token, code=code))


@FUZZ
@given(token=HOSTILE, scopes=HOSTILE, client_id=HOSTILE)
def test_refresh_grant(token: Any, scopes: Any, client_id: Any) -> None:
    manager = WORLD.manager
    refused(lambda: manager.refresh(token, scopes=scopes, client_id=client_id))
    refused(lambda: manager.revoke(token, client_id))
    pair = manager.start("u", audience=AUDIENCE, scopes=["a", "b"])
    refused(lambda: manager.refresh(pair.refresh_token, scopes=scopes, client_id=None))


@pytest.mark.parametrize(
    "value",
    ["\ud800", ["a", "b"], {"a": 1}, None, 7, 1.5, True, b"\xff", "é" * 10, "a" * 100_000],
)
def test_the_classic_cases(value: Any) -> None:
    """The two bugs the review found, and their siblings, as plain examples."""
    csrf = WORLD.csrf
    token = csrf.issue("session-1")
    refused(lambda: csrf.verify("session-1", value, value))
    refused(lambda: csrf.verify(value, token, token))
    refused(
        lambda: revocation_response(
            {"token": "x.y.z", "token_type_hint": value},
            caller=WORLD.client,
            validator=WORLD.validator,
            revocations=WORLD.revocations,
        )
    )


# --- the exact answers, by example --------------------------------------------------------------


class MultiDict(dict[str, list[str]]):
    """The shape of Werkzeug's / Starlette's / Django's multi-dicts: get() hides repeats."""

    def get(self, key: str, default: Any = None) -> Any:
        values = super().get(key)
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        return list(super().get(key, []))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, None),
        ({"scope": None}, None),
        ({"scope": ""}, None),  # RFC 6749 §3.1: sent without a value = omitted
        ({"scope": []}, None),
        ({"scope": "a b"}, "a b"),
        ({"scope": ["a b"]}, "a b"),  # parse_qs shape
        (MultiDict(scope=["a"]), "a"),
        ({"scope": "é"}, "é"),
    ],
)
def test_request_param_values(params: Any, expected: str | None) -> None:
    assert request_param(params, "scope") == expected


@pytest.mark.parametrize(
    "params",
    [
        {"scope": ["a", "b"]},
        {"scope": ("a", "a")},
        MultiDict(scope=["a", "b"]),  # get() alone would have hidden the repeat
        {"scope": 7},
        {"scope": {"a": "b"}},
        {"scope": b"a"},
        {"scope": ["a", None]},
        {"scope": [["a"]]},
        {"scope": "\ud800"},
        {"scope": "a" * (MAX_PARAM_LENGTH + 1)},
        ["scope", "a"],
        "scope=a",
        None,
    ],
)
def test_request_param_refusals(params: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_param(params, "scope")
    assert type(caught.value) is InvalidRequest
    assert "\ud800" not in caught.value.message and "aaaa" not in caught.value.message


def test_required_request_param() -> None:
    for params in ({}, {"grant_type": ""}, {"grant_type": [None]}):
        with pytest.raises(InvalidRequest, match="grant_type parameter is missing"):
            request_param(params, "grant_type", required=True)


def test_endpoints_answer_bad_parameters_with_400() -> None:
    for params in (
        {"token": "x.y.z", "token_type_hint": ["access_token", "refresh_token"]},
        {"token": ["a", "b"]},
        {"token": "\ud800"},
        {"token": {"nested": "object"}},
    ):
        status, _, body = revocation_response(
            params,  # type: ignore[arg-type]  # the wrong shapes on purpose
            caller=WORLD.client,
            validator=WORLD.validator,
            revocations=WORLD.revocations,
        )
        assert (status, body["error"]) == (400, "invalid_request"), params
        if params["token"] == "x.y.z":
            continue  # introspection ignores the hint
        status, _, body = introspection_response(
            params,  # type: ignore[arg-type]  # the wrong shapes on purpose
            caller=WORLD.client,
            validator=WORLD.validator,
        )
        assert (status, body["error"]) == (400, "invalid_request"), params


def test_a_repeated_grant_type_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        client_credentials_grant(
            WORLD.signer,
            WORLD.client,
            {"grant_type": ["client_credentials"] * 2},  # type: ignore[dict-item]  # repeated
        )
    assert type(caught.value) is InvalidRequest
    response = client_credentials_grant(
        WORLD.signer,
        WORLD.client,
        {"grant_type": ["client_credentials"]},  # type: ignore[dict-item]  # a framework's list
    )
    assert response.status == 200


def test_authorization_code_scopes_and_nonce() -> None:
    codes = AuthorizationCodes(require_pkce=False, clock=WORLD.clock)

    def grant(**options: Any) -> Any:
        code = codes.issue(
            client_id="svc", redirect_uri="https://app.example/cb", subject="u", **options
        )
        return codes.redeem(code, client_id="svc", redirect_uri="https://app.example/cb")

    # The request's scope string is split, not taken character by character.
    assert grant(scopes="openid orders:read openid").scopes == ("openid", "orders:read")
    assert grant(scopes=["openid", "orders:read"]).scopes == ("openid", "orders:read")
    for scopes in (["a b"], [1], "a  b", b"openid", {"openid": 1}, 5):
        with pytest.raises(InvalidScope):
            grant(scopes=scopes)
    for nonce in (["n"], 5, "\ud800"):
        with pytest.raises(InvalidRequest):
            grant(nonce=nonce)
    assert grant(nonce="n-1").nonce == "n-1"


def test_form_token_edges() -> None:
    assert form_token({"access_token": []}, method="POST", content_type=_FORM) is None
    assert form_token({"access_token": [None]}, method="POST", content_type=_FORM) is None
    for method, content_type in ((None, _FORM), ("POST", None), ("POST", 5), (b"POST", _FORM)):
        with pytest.raises(MalformedAuthorization):
            form_token({"access_token": "abc"}, method=method, content_type=content_type)  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(MalformedAuthorization):
        bearer_token([("Authorization", "Bearer a", "extra")])  # type: ignore[list-item]
    with pytest.raises(MalformedAuthorization):
        refuse_query_token(["access_token=abc"])  # type: ignore[arg-type]
