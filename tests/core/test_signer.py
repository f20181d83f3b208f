from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import unb64
from tokensmith import (
    ConfigurationError,
    Key,
    KeySet,
    MemoryKeyStore,
    NoSigningKey,
    ReservedClaim,
    RotationPolicy,
    Signer,
    Validator,
)
from tokensmith.signer import _JSON, REGISTERED_CLAIMS
from tokensmith.testing import FakeClock


def decode(token: str) -> tuple[dict[str, object], dict[str, object]]:
    h, p, _ = token.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p))


def test_registered_claims_and_headers(
    signer: Signer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    issued = signer.issue_token(
        "user-1",
        audience=["a", "b"],
        scopes=["read", "write", "read"],
        claims={"tenant": "acme"},
        not_before=clock() + 5,
    )
    header, payload = decode(issued.token)
    assert header == {"alg": "ES256", "kid": store.signing_key().kid, "typ": "JWT"}
    assert payload["iss"] == ISSUER
    assert payload["sub"] == "user-1"
    assert payload["aud"] == ["a", "b"]
    assert payload["iat"] == int(clock())
    assert payload["exp"] == int(clock()) + 600
    assert payload["nbf"] == int(clock()) + 5
    assert payload["scope"] == "read write"
    assert payload["tenant"] == "acme"
    assert issued.jti == payload["jti"]
    assert issued.expires_in == 600
    assert issued.key_id == header["kid"]


def test_jti_is_random_and_long(signer: Signer) -> None:
    jtis = {signer.issue_token("u").jti for _ in range(200)}
    assert len(jtis) == 200
    assert all(len(unb64(j)) >= 16 for j in jtis)


def test_single_audience_is_a_string_and_scopes_string_splits(signer: Signer) -> None:
    _, payload = decode(signer.issue("u", audience=["only"], scopes="a b"))
    assert payload["aud"] == "only"
    assert payload["scope"] == "a b"


def test_token_type_and_jti_overrides(signer: Signer) -> None:
    header, payload = decode(signer.issue("u", token_type="at+jwt", jti="fixed", ttl=30))
    assert header["typ"] == "at+jwt"
    assert payload["jti"] == "fixed"


@pytest.mark.parametrize("name", sorted(REGISTERED_CLAIMS))
def test_custom_claims_cannot_override_registered(signer: Signer, name: str) -> None:
    with pytest.raises(ReservedClaim):
        signer.issue("u", claims={name: "x"})


_CYCLE: list[object] = []
_CYCLE.append(_CYCLE)

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _JSON_VALUES, max_size=6))
def test_claims_encoder_writes_what_the_stdlib_writes(value: dict[str, object]) -> None:
    stdlib = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert _JSON(value) == stdlib
    assert json.loads(_JSON(value)) == value


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttl": 0},
        {"ttl": -5},
        {"ttl": float("nan")},
        {"ttl": True},
        {"ttl": 10**9},
        {"audience": ""},
        {"audience": []},
        {"audience": ["a", 3]},
        {"scopes": ["has space"]},
        {"scopes": [""]},
        {"not_before": float("inf")},
        {"not_before": "soon"},
        {"not_before": 1e12},
        {"jti": ""},
        {"token_type": ""},
        {"claims": {"bad": float("nan")}},
        {"claims": {"bad": object()}},
        {"claims": {"bad": float("inf")}},
        {"claims": {"cycle": _CYCLE}},
    ],
)
def test_bad_issue_arguments(signer: Signer, kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        signer.issue("u", **kwargs)  # type: ignore[arg-type]


def test_bad_subject(signer: Signer) -> None:
    with pytest.raises(ConfigurationError):
        signer.issue("")
    assert "sub" not in decode(signer.issue(None))[1]


@pytest.mark.parametrize(
    "kwargs",
    [{"issuer": ""}, {"issuer": None}, {"ttl": 0}, {"token_type": ""}, {"ttl": 400 * 86400}],
)
def test_bad_signer_configuration(store: MemoryKeyStore, kwargs: dict[str, object]) -> None:
    options: dict[str, object] = {"issuer": "i", **kwargs}
    with pytest.raises(ConfigurationError):
        Signer(store, **options)  # type: ignore[arg-type]


def test_lifetime_may_not_outlive_the_key(clock: FakeClock) -> None:
    policy = RotationPolicy(rotate_every=3600, publish_ahead=60, verify_for=600, alg="HS256")
    store = MemoryKeyStore(policy=policy, clock=clock)
    signer = Signer(store, issuer="i", clock=clock, ttl=300)
    signer.issue("u")
    clock.advance(3500)
    with pytest.raises(ConfigurationError):
        signer.issue("u", ttl=3600)


def test_no_signing_key(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet([Key.generate("ES256").public_key()]), clock=clock)
    with pytest.raises(NoSigningKey):
        Signer(store, issuer="i", clock=clock).issue("u")


def test_repr_never_shows_the_token(signer: Signer) -> None:
    issued = signer.issue_token("u")
    for text in (repr(issued), str(issued), repr(signer)):
        assert issued.token not in text
        assert issued.token.split(".")[2] not in text
    assert issued.fingerprint in str(issued)


@pytest.mark.parametrize(
    "alg", ["HS256", "HS384", "HS512", "RS256", "PS384", "ES384", "ES512", "EdDSA"]
)
def test_every_algorithm_round_trips(alg: str, clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate(alg), clock=clock)
    token = Signer(store, issuer=ISSUER, clock=clock).issue("u", audience=AUDIENCE)
    tok = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(token)
    assert tok.algorithm == alg
