"""``alg: none`` in every spelling, with and without a signature, against every key family."""

from __future__ import annotations

import pytest

from tests.attacks._assert import refused
from tests.attacks.conftest import validator_for
from tests.attacks.forge import b64, claims, compact, segment
from tokensmith import AlgorithmNotAllowed, ConfigurationError, Key, MalformedToken, Validator
from tokensmith.testing import FakeClock

SPELLINGS = ["none", "None", "NONE", "nOnE", "NoNe", "none ", " none", "none\x00"]


@pytest.mark.parametrize("alg", SPELLINGS)
@pytest.mark.parametrize("family", ["hs", "rsa", "ec"])
def test_alg_none_with_a_signature_is_refused_by_alg(
    alg: str, family: str, hs_key: Key, rsa_key: Key, ec_keys: dict[str, Key], clock: FakeClock
) -> None:
    key = {"hs": hs_key, "rsa": rsa_key, "ec": ec_keys["ES256"]}[family]
    validator = validator_for(key, clock=clock)
    for header in ({"alg": alg}, {"alg": alg, "kid": key.kid}, {"alg": alg, "typ": "JWT"}):
        token = compact(header, claims(), b"\x00" * 32)
        error = refused(validator, token, AlgorithmNotAllowed)
        assert "none" in str(error) or "not allowed" in str(error)


@pytest.mark.parametrize("alg", SPELLINGS)
def test_alg_none_without_a_signature_is_refused_as_unsigned(
    alg: str, hs_validator: Validator
) -> None:
    # "header.payload." has no signature: refused before the header is even decoded.
    token = f"{segment({'alg': alg})}.{segment(claims())}."
    refused(hs_validator, token, MalformedToken)
    # ... and without the trailing dot it is not a JWS at all.
    refused(hs_validator, token[:-1], MalformedToken)


def test_rfc7519_unsecured_example_is_refused(hs_validator: Validator) -> None:
    # RFC 7519 §6.1 / RFC 7515 A.5, the canonical unsecured JWT.
    token = (
        "eyJhbGciOiJub25lIn0"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    )
    refused(hs_validator, token, MalformedToken)
    refused(hs_validator, token + b64(b"sig"), AlgorithmNotAllowed)


@pytest.mark.parametrize("alg", [None, 0, True, [], {}, ["HS256"], "", "HS256 ", "hs256", "RS1"])
def test_missing_or_odd_alg_is_refused(alg: object, hs_validator: Validator) -> None:
    header = {"typ": "JWT"} if alg is None else {"alg": alg}
    refused(hs_validator, compact(header, claims(), b"x" * 32), AlgorithmNotAllowed)


def test_none_can_never_be_configured(hs_key: Key, clock: FakeClock) -> None:
    for algs in (["none"], ["HS256", "none"], ["NONE"]):
        with pytest.raises(ConfigurationError) as info:
            validator_for(hs_key, clock=clock, algorithms=algs)
        assert type(info.value) is ConfigurationError
