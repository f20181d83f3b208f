"""The JSON layer: duplicate member names, non-standard constants, deep nesting, huge numbers.

Header problems are found before any key is touched; payload problems only after the signature
verified (so an unauthenticated payload is never parsed)."""

from __future__ import annotations

import pytest

from tests.attacks._assert import refused, validated
from tests.attacks.conftest import validator_for
from tests.support.forge import b64, claims, segment, signed_raw
from tokensmith import InvalidClaim, InvalidJSON, InvalidSignature, Key, Validator
from tokensmith._json import MAX_DEPTH
from tokensmith.testing import FakeClock

GOOD_PAYLOAD = (
    '{"iss":"https://auth.example.test","aud":"orders-api","sub":"user-1",'
    '"iat":1700000000,"exp":1700000600'
)


def _token(key: Key, header_json: str, payload_json: str) -> str:
    return signed_raw(b64(header_json.encode()), b64(payload_json.encode()), key)


@pytest.mark.parametrize(
    "header_json",
    [
        '{"alg":"HS256","kid":"hs-1","alg":"none"}',
        '{"alg":"none","kid":"hs-1","alg":"HS256"}',
        '{"alg":"HS256","kid":"other","kid":"hs-1"}',
        '{"alg":"HS256","kid":"hs-1","typ":"JWT","typ":"at+jwt"}',
        '{"alg":"HS256","kid":"hs-1","crit":["x"],"crit":[]}',
        '{"alg":"HS256","kid":"hs-1","\\u0061lg":"HS256"}',  # same name, escaped
    ],
)
def test_duplicate_header_members(header_json: str, hs_key: Key, hs_validator: Validator) -> None:
    refused(hs_validator, _token(hs_key, header_json, GOOD_PAYLOAD + "}"), InvalidJSON)


@pytest.mark.parametrize(
    "extra",
    [
        ',"sub":"admin"',
        ',"iss":"https://evil.test"',
        ',"exp":9999999999',
        ',"aud":"orders-api"',
        ',"\\u0073ub":"admin"',
        ',"x":{"a":1,"a":2}',  # nested objects too
        ',"x":[{"a":1,"a":2}]',
    ],
)
def test_duplicate_payload_members(extra: str, hs_key: Key, hs_validator: Validator) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    refused(hs_validator, _token(hs_key, header, GOOD_PAYLOAD + extra + "}"), InvalidJSON)


def test_bad_payload_behind_a_bad_signature_is_a_signature_error(
    hs_key: Key, hs_validator: Validator
) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    token = _token(hs_key, header, GOOD_PAYLOAD + ',"sub":"admin"}')
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBA")
    refused(hs_validator, forged, InvalidSignature)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["header", "payload"])
def test_non_standard_constants(
    constant: str, where: str, hs_key: Key, hs_validator: Validator
) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"'
    payload = GOOD_PAYLOAD
    if where == "header":
        header += f',"x":{constant}'
    else:
        payload += f',"x":{constant}'
    refused(hs_validator, _token(hs_key, header + "}", payload + "}"), InvalidJSON)


@pytest.mark.parametrize(
    "payload_json",
    [
        "[]",
        '"a string"',
        "1",
        "null",
        "true",
        "",
        " ",
        "{",
        GOOD_PAYLOAD + "}{}",
        GOOD_PAYLOAD + "} x",
        GOOD_PAYLOAD + "}\x00",
        "\ufeff" + GOOD_PAYLOAD + "}",  # BOM
        GOOD_PAYLOAD + ",}",
        "{'iss': 'single quotes'}",
        GOOD_PAYLOAD + ',"x":01}',
        GOOD_PAYLOAD + ',"x":.5}',
        GOOD_PAYLOAD + ',"x":"\x01"}',  # raw control character
    ],
)
def test_payload_that_is_not_one_json_object(
    payload_json: str, hs_key: Key, hs_validator: Validator
) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    refused(hs_validator, _token(hs_key, header, payload_json), InvalidJSON)


def test_surrounding_whitespace_is_plain_json(hs_key: Key, hs_validator: Validator) -> None:
    header = ' \r\n{"alg":"HS256","kid":"hs-1","typ":"JWT"}\t'
    assert validated(hs_validator, _token(hs_key, header, "\n" + GOOD_PAYLOAD + "} \n"))


@pytest.fixture
def big_validator(hs_key: Key, clock: FakeClock) -> Validator:
    """Allows the largest tokens a policy may (1 MiB), so the JSON layer itself is hit."""
    return validator_for(hs_key, clock=clock, max_token_size=1 << 20)


@pytest.mark.parametrize("where", ["header", "payload"])
def test_nesting_limit_is_the_documented_depth_on_every_python(
    where: str, hs_key: Key, big_validator: Validator
) -> None:
    """MAX_DEPTH levels pass and one more is refused, whatever the interpreter's own limit."""
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"'
    for open_, close in (("[", "]"), ('{"a":', "}")):
        for depth, accepted in ((MAX_DEPTH - 1, True), (MAX_DEPTH, False)):
            # the outer object is one level: MAX_DEPTH - 1 more reach the limit exactly
            nested = ',"x":' + open_ * depth + "1" + close * depth
            head, payload = header, GOOD_PAYLOAD
            if where == "header":
                head += nested
            else:
                payload += nested
            token = _token(hs_key, head + "}", payload + "}")
            if accepted:
                assert validated(big_validator, token)
            else:
                refused(big_validator, token, InvalidJSON)


def test_brackets_inside_strings_do_not_count(hs_key: Key, big_validator: Validator) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    payload = GOOD_PAYLOAD + ',"x":"' + "[{" * 500 + '\\"]"}'
    assert validated(big_validator, _token(hs_key, header, payload))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("where", ["header", "payload"])
def test_deep_nesting(depth: int, where: str, hs_key: Key, big_validator: Validator) -> None:
    for open_, close in (("[", "]"), ('{"a":', "}")):
        nested = open_ * depth + "1" + close * depth
        header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"'
        payload = GOOD_PAYLOAD
        if where == "header":
            header += ',"x":' + nested
        else:
            payload += ',"x":' + nested
        refused(big_validator, _token(hs_key, header + "}", payload + "}"), InvalidJSON)


@pytest.mark.parametrize(
    "number",
    [
        "1" + "0" * 5000,  # 10**5000: over Python's int-parsing limit
        "-" + "9" * 5000,
        "1" * 100_000,
    ],
)
@pytest.mark.parametrize("where", ["header", "payload-claim", "payload-exp"])
def test_huge_integers(number: str, where: str, hs_key: Key, big_validator: Validator) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"'
    payload = GOOD_PAYLOAD
    if where == "header":
        header += f',"x":{number}'
    elif where == "payload-claim":
        payload += f',"x":{number}'
    else:
        payload = payload.replace("1700000600", number)
    refused(big_validator, _token(hs_key, header + "}", payload + "}"), InvalidJSON)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1e999999999", "1" * 400 + ".0"])
def test_huge_floats_in_time_claims(number: str, hs_key: Key, big_validator: Validator) -> None:
    # Parsed as +/-inf or a float beyond year 9999: a time claim out of range.
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    payload = GOOD_PAYLOAD.replace("1700000600", number) + "}"
    refused(big_validator, _token(hs_key, header, payload), InvalidClaim)


def test_huge_floats_elsewhere_are_just_data(hs_key: Key, big_validator: Validator) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    tok = validated(big_validator, _token(hs_key, header, GOOD_PAYLOAD + ',"x":1e400}'))
    assert tok.claims["x"] == float("inf")


def test_long_strings_and_many_members(hs_key: Key, big_validator: Validator) -> None:
    header = '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'
    members = ",".join(f'"m{i}":{i}' for i in range(20_000))
    tok = validated(big_validator, _token(hs_key, header, GOOD_PAYLOAD + "," + members + "}"))
    assert tok.claims["m19999"] == 19999
    assert segment(claims())  # the helper stays importable for readers
