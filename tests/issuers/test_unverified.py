"""The unverified ``iss`` reader: the validator's strict parsing, every refusal its exact class."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.forge import b64, compact, forge, segment
from tokensmith import KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.errors import (
    InvalidClaim,
    InvalidEncoding,
    InvalidJSON,
    MalformedToken,
    MissingClaim,
    TokenError,
    TokenTooLarge,
)
from tokensmith.issuers import MAX_ISSUER_LENGTH, unverified_issuer
from tokensmith.testing import FakeClock

ISS = "https://a.example"
HEADER = {"alg": "HS256", "typ": "JWT"}


def token_with(payload: object) -> str:
    return compact(HEADER, payload, b"signature")


def refused(token: object, error: type[TokenError], **kwargs: int) -> TokenError:
    with pytest.raises(error) as info:
        unverified_issuer(token, **kwargs)
    assert type(info.value) is error
    return info.value


def test_reads_the_claimed_issuer_from_text_and_bytes() -> None:
    token = token_with({"iss": ISS, "sub": "u"})
    assert unverified_issuer(token) == ISS
    assert unverified_issuer(token.encode()) == ISS
    assert unverified_issuer(bytearray(token.encode())) == ISS


def test_the_signature_and_header_are_left_to_the_validator() -> None:
    # an unsecured token is refused by the issuer's validator as what it is (alg none)
    unsecured = f"{segment({'alg': 'none'})}.{segment({'iss': ISS})}."
    assert unverified_issuer(unsecured) == ISS


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, MalformedToken),
        (42, MalformedToken),
        ("", MalformedToken),
        ("abc", MalformedToken),
        ("a.b", MalformedToken),
        ("a.b.c.d", MalformedToken),
        ("a.b.c.d.e", MalformedToken),
        (".b.c", MalformedToken),
        ("é.b.c".encode(), MalformedToken),
        ("a..c", InvalidJSON),
        ("a.!!!!.c", InvalidEncoding),
        ("a.é.c", InvalidEncoding),
        ("a." + b64(b'{"iss": 1}') + "=.c", InvalidEncoding),
        ("a." + b64(b"not json") + ".c", InvalidJSON),
        ("a." + b64(b'["iss"]') + ".c", InvalidJSON),
        ("a." + b64(b'{"iss": "x", "iss": "y"}') + ".c", InvalidJSON),
        ("a." + b64(b"[" * 40 + b"]" * 40) + ".c", InvalidJSON),
        ("a." + b64(b'{"iss": NaN}') + ".c", InvalidJSON),
    ],
)
def test_malformed_tokens_are_refused_with_the_validators_classes(
    token: object, error: type[TokenError]
) -> None:
    refused(token, error)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, MissingClaim),
        ({"iss": None}, MissingClaim),
        ({"iss": 1}, InvalidClaim),
        ({"iss": ["a", "b"]}, InvalidClaim),
        ({"iss": ""}, InvalidClaim),
        ({"iss": "x" * (MAX_ISSUER_LENGTH + 1)}, InvalidClaim),
    ],
)
def test_an_unusable_iss_is_refused(payload: object, error: type[TokenError]) -> None:
    exc = refused(token_with(payload), error)
    assert getattr(exc, "claim", None) == "iss"


def test_the_size_limit_comes_before_any_decoding() -> None:
    token = token_with({"iss": ISS})
    refused(token, TokenTooLarge, max_token_size=len(token) - 1)
    refused(token.encode(), TokenTooLarge, max_token_size=len(token) - 1)
    refused("x" * 100_000, TokenTooLarge)  # not even split
    assert unverified_issuer(token, max_token_size=len(token)) == ISS


def test_no_refusal_quotes_the_token_or_the_claimed_issuer() -> None:
    secret_issuer = "https://claimed.example/SECRET"
    for token in (token_with({"iss": secret_issuer, "x": "SECRET"}) + ".x",):
        exc = refused(token, MalformedToken)
        assert "SECRET" not in str(exc)
    exc = refused(token_with({"iss": ["SECRET"]}), InvalidClaim)
    assert "SECRET" not in str(exc)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_arbitrary_input_is_an_issuer_or_a_token_error(data: str | bytes) -> None:
    try:
        issuer = unverified_issuer(data)
    except TokenError:
        return
    assert isinstance(issuer, str) and 0 < len(issuer) <= MAX_ISSUER_LENGTH


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), _JSON, max_size=4),
    st.one_of(st.none(), st.text(max_size=40), _JSON),
)
def test_arbitrary_payloads_agree_with_what_the_payload_says(
    payload: dict[str, object], iss: object
) -> None:
    if iss is not None:
        payload = {**payload, "iss": iss}
    try:
        found = unverified_issuer(token_with(payload))
    except (MissingClaim, InvalidClaim):
        assert not (isinstance(payload.get("iss"), str) and 0 < len(payload["iss"]) <= 512)  # type: ignore[arg-type]
        return
    assert found == payload["iss"]


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_what_is_read_unverified_is_what_the_validator_verifies(issuer: str) -> None:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    token = Signer(store, issuer=issuer, clock=clock).issue("u", audience="api")
    verified = Validator(store, issuer=issuer, audience="api", clock=clock).validate(token)
    assert unverified_issuer(token) == verified.issuer == issuer


def test_forged_payload_helpers_round_trip() -> None:
    # the forge helper builds what a real attacker sends; the reader sees its claimed iss
    assert unverified_issuer(forge(HEADER, {"iss": ISS})) == ISS
