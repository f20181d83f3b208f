"""Header members tokensmith will not honour: ``crit`` (any), ``b64: false`` (RFC 7797) and
nested tokens (``cty: JWT``). All are refused even when the signature is genuine."""

from __future__ import annotations

import pytest

from tests.attacks._assert import refused, validated
from tests.support.forge import b64, claims, header_for, segment, signed, signed_raw
from tokensmith import Key, UnsupportedHeader, Validator

CRITS: list[object] = [
    ["exp"],  # a registered claim name, not a header parameter
    ["b64"],
    ["unknown-extension"],
    ["x", "x"],  # duplicated
    ["b64", "b64"],
    [],  # empty: forbidden by RFC 7515 §4.1.11
    "b64",  # not an array
    None,
    [1],
    ["alg"],  # names a parameter the spec defines: forbidden
]


@pytest.mark.parametrize("crit", CRITS)
def test_crit_is_refused(crit: object, hs_key: Key, hs_validator: Validator) -> None:
    header = header_for(hs_key)
    header["crit"] = crit
    if isinstance(crit, list):
        for name in crit:
            if isinstance(name, str) and name not in header:
                header[name] = True
    refused(hs_validator, signed(header, claims(), hs_key), UnsupportedHeader)


@pytest.mark.parametrize("b64_value", [False, 0, "false", None, [], "true", 1])
def test_b64_other_than_true_is_refused(
    b64_value: object, hs_key: Key, hs_validator: Validator
) -> None:
    header = header_for(hs_key, crit=["b64"])
    header["b64"] = b64_value
    refused(hs_validator, signed(header, claims(), hs_key), UnsupportedHeader)
    del header["crit"]
    refused(hs_validator, signed(header, claims(), hs_key), UnsupportedHeader)


def test_unencoded_payload_over_raw_json(hs_key: Key, hs_validator: Validator) -> None:
    # RFC 7797 signing input: header '.' raw payload. Refused whatever the payload segment.
    header = header_for(hs_key, b64=False, crit=["b64"])
    raw_payload = '{"iss":"https://auth.example.test"}'
    signing_input = f"{segment(header)}.{raw_payload}".encode()
    sig = b64(hs_key.sign(signing_input))
    refused(hs_validator, f"{segment(header)}..{sig}", UnsupportedHeader)
    refused(hs_validator, f"{segment(header)}.{segment(claims())}.{sig}", UnsupportedHeader)


def test_b64_true_is_the_default_and_accepted(hs_key: Key, hs_validator: Validator) -> None:
    token = signed(header_for(hs_key, b64=True), claims(), hs_key)
    assert validated(hs_validator, token).subject == "user-1"


@pytest.mark.parametrize(
    "cty", ["JWT", "jwt", "Jwt", "application/jwt", "APPLICATION/JWT", 1, [], {}, True]
)
def test_nested_jwt_is_refused(cty: object, hs_key: Key, hs_validator: Validator) -> None:
    inner = signed(header_for(hs_key), claims(), hs_key)
    header = header_for(hs_key, cty=cty)
    # The inner JWT as payload (RFC 7519 §5.2 nesting) and as a normal claims payload.
    refused(
        hs_validator, signed_raw(segment(header), b64(inner.encode()), hs_key), UnsupportedHeader
    )
    refused(hs_validator, signed(header, claims(), hs_key), UnsupportedHeader)


def test_other_content_types_are_only_informational(hs_key: Key, hs_validator: Validator) -> None:
    token = signed(header_for(hs_key, cty="application/example+json"), claims(), hs_key)
    assert validated(hs_validator, token).header["cty"] == "application/example+json"
