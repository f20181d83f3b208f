"""``alg: none`` in every spelling, with and without a signature, against every key family."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.attacks._assert import refused
from tests.attacks.conftest import validator_for
from tests.support.forge import b64, claims, compact, segment
from tokensmith import (
    AlgorithmNotAllowed,
    ConfigurationError,
    Key,
    MalformedToken,
    TokenTooLarge,
    Validator,
    fingerprint,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.observability import AuditEvent, Fanout, LoggingSink
from tokensmith.testing import FakeClock

SPELLINGS = ["none", "None", "NONE", "nOnE", "NoNe", "none ", " none", "none\x00"]

# RFC 7519 §6.1 / RFC 7515 Appendix A.5, the canonical unsecured JWT (empty signature).
RFC7515_A5 = (
    "eyJhbGciOiJub25lIn0"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
)


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
def test_alg_none_without_a_signature_is_refused_by_alg(
    alg: str, hs_validator: Validator, hs_key: Key, clock: FakeClock
) -> None:
    # "header.payload." is the unsecured JWS itself: the header is read before the empty
    # signature is judged, so the refusal names the attack (issue 13 item 5).
    token = f"{segment({'alg': alg})}.{segment(claims())}."
    refused(hs_validator, token, AlgorithmNotAllowed)
    cached = validator_for(hs_key, clock=clock, cache=ValidatedTokenCache())
    refused(cached, token, AlgorithmNotAllowed)
    refused(cached, token.encode(), AlgorithmNotAllowed)
    with pytest.raises(AlgorithmNotAllowed) as info:
        asyncio.run(hs_validator.avalidate(token))
    assert type(info.value) is AlgorithmNotAllowed
    # ... and without the trailing dot it is not a JWS at all.
    refused(hs_validator, token[:-1], MalformedToken)


def test_rfc7515_unsecured_example_is_refused(hs_validator: Validator) -> None:
    # RFC 7519 §6.1 / RFC 7515 A.5, the canonical unsecured JWT.
    refused(hs_validator, RFC7515_A5, AlgorithmNotAllowed)
    refused(hs_validator, RFC7515_A5 + b64(b"sig"), AlgorithmNotAllowed)


def test_an_empty_signature_under_a_real_alg_is_still_malformed(
    hs_key: Key, hs_validator: Validator
) -> None:
    token = compact({"alg": "HS256", "kid": hs_key.kid}, claims(), b"")
    assert token.endswith(".")
    refused(hs_validator, token, MalformedToken)


def test_the_size_limit_still_comes_first(hs_validator: Validator) -> None:
    padding = "x" * hs_validator.policy.max_token_size
    token = f"{segment({'alg': 'none', 'pad': padding})}.{segment(claims())}."
    refused(hs_validator, token, TokenTooLarge)


def test_alg_none_is_named_in_the_audit_event_and_the_log_line(
    hs_key: Key, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[AuditEvent] = []
    validator = validator_for(
        hs_key, clock=clock, audit=Fanout(events.append, LoggingSink("tokensmith.audit.test"))
    )
    with caplog.at_level(logging.INFO, logger="tokensmith.audit.test"):
        refused(validator, RFC7515_A5, AlgorithmNotAllowed)
    (event,) = events
    assert (event.kind, event.code) == ("token.refused", "algorithm_not_allowed")
    assert event.fingerprint == fingerprint(RFC7515_A5)
    (record,) = [r for r in caplog.records if r.name == "tokensmith.audit.test"]
    assert record.audit["code"] == "algorithm_not_allowed"  # type: ignore[attr-defined]
    assert "algorithm_not_allowed" in record.getMessage() and "malformed" not in record.getMessage()
    assert RFC7515_A5 not in caplog.text and RFC7515_A5.split(".")[1] not in caplog.text


@pytest.mark.parametrize("alg", [None, 0, True, [], {}, ["HS256"], "", "HS256 ", "hs256", "RS1"])
def test_missing_or_odd_alg_is_refused(alg: object, hs_validator: Validator) -> None:
    header = {"typ": "JWT"} if alg is None else {"alg": alg}
    refused(hs_validator, compact(header, claims(), b"x" * 32), AlgorithmNotAllowed)


def test_none_can_never_be_configured(hs_key: Key, clock: FakeClock) -> None:
    for algs in (["none"], ["HS256", "none"], ["NONE"]):
        with pytest.raises(ConfigurationError) as info:
            validator_for(hs_key, clock=clock, algorithms=algs)
        assert type(info.value) is ConfigurationError
