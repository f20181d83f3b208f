from __future__ import annotations

import base64
import hashlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith import ConfigurationError
from tokensmith.errors import InvalidGrant, InvalidRequest, StateMismatch
from tokensmith.oauth import (
    PKCEChallenge,
    code_challenge,
    generate_code_verifier,
    generate_nonce,
    generate_state,
    parse_code_challenge,
    secrets_equal,
    verify_code_verifier,
    verify_state,
)

UNRESERVED = string.ascii_letters + string.digits + "-._~"
# RFC 7636 Appendix B
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

verifiers = st.text(alphabet=UNRESERVED, min_size=43, max_size=128)


def test_rfc7636_appendix_b_vector() -> None:
    assert code_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    verify_code_verifier(RFC_VERIFIER, parse_code_challenge(RFC_CHALLENGE, "S256"))


@given(verifiers)
def test_any_valid_verifier_round_trips(verifier: str) -> None:
    challenge = code_challenge(verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    verify_code_verifier(verifier, parse_code_challenge(challenge, "S256"))


@given(st.text(max_size=140))
def test_verifier_parsing_matches_the_grammar(candidate: str) -> None:
    valid = 43 <= len(candidate) <= 128 and all(c in UNRESERVED for c in candidate)
    challenge = parse_code_challenge(RFC_CHALLENGE, "S256")
    if valid:
        with pytest.raises(InvalidGrant):  # well-formed, wrong verifier
            verify_code_verifier(candidate, challenge)
    else:
        with pytest.raises(InvalidRequest):
            verify_code_verifier(candidate, challenge)


@given(st.text(max_size=60))
def test_s256_challenge_parsing(candidate: str) -> None:
    try:
        parsed = parse_code_challenge(candidate, "S256")
    except InvalidRequest:
        ok = False
    else:
        ok = True
        assert parsed.challenge == candidate
    if ok:
        raw = base64.urlsafe_b64decode(candidate + "=")
        assert len(raw) == 32
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == candidate


def test_generated_verifiers_are_valid_and_random() -> None:
    assert len(generate_code_verifier()) == 64
    for length in (43, 128):
        verifier = generate_code_verifier(length)
        assert len(verifier) == length
        code_challenge(verifier)
    assert generate_code_verifier() != generate_code_verifier()
    for bad in (42, 129, True, "64"):
        with pytest.raises(ConfigurationError):
            generate_code_verifier(bad)  # type: ignore[arg-type]


def test_plain_is_refused_unless_enabled() -> None:
    verifier = generate_code_verifier()
    with pytest.raises(InvalidRequest):
        parse_code_challenge(verifier, "plain")
    with pytest.raises(InvalidRequest):
        parse_code_challenge(verifier)  # a missing method means plain (RFC 7636 §4.3)
    with pytest.raises(ConfigurationError):
        code_challenge(verifier, "plain")
    challenge = parse_code_challenge(verifier, "plain", allow_plain=True)
    assert challenge.method == "plain"
    assert verifier not in repr(challenge)
    assert code_challenge(verifier, "plain", allow_plain=True) == verifier
    verify_code_verifier(verifier, challenge, allow_plain=True)
    with pytest.raises(InvalidGrant):
        verify_code_verifier(verifier, challenge)  # stored plain, no longer allowed
    with pytest.raises(InvalidRequest):
        parse_code_challenge("short", "plain", allow_plain=True)


def test_bad_challenges_and_methods() -> None:
    with pytest.raises(InvalidRequest):
        parse_code_challenge(RFC_CHALLENGE, "S512")
    with pytest.raises(InvalidRequest):
        parse_code_challenge(None, "S256")
    with pytest.raises(InvalidRequest):
        parse_code_challenge(RFC_CHALLENGE[:-1] + "!", "S256")
    with pytest.raises(InvalidRequest):
        parse_code_challenge(RFC_CHALLENGE[:-1] + "d", "S256")  # non-canonical tail
    with pytest.raises(ConfigurationError):
        verify_code_verifier(RFC_VERIFIER, RFC_CHALLENGE)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        verify_code_verifier(None, PKCEChallenge(RFC_CHALLENGE))


def test_state_and_nonce() -> None:
    state = generate_state()
    assert len(state) >= 43 and state != generate_state()
    assert len(generate_nonce()) >= 43
    verify_state(state, state)
    for bad in (state + "x", "", None, 5, state.encode()[:-1]):
        with pytest.raises(StateMismatch):
            verify_state(state, bad)
    assert secrets_equal(b"abc", b"abc")
    assert not secrets_equal("", "")
    assert not secrets_equal("é", "e")
