"""Only the compact serialization, in canonical unpadded base64url, ASCII, bounded in size."""

from __future__ import annotations

import json
import time

import pytest

from tests.attacks._assert import refused, validated
from tests.support.forge import b64, claims, header_for, segment, signed, signed_raw
from tokensmith import (
    InvalidEncoding,
    Key,
    MalformedToken,
    TokenTooLarge,
    Validator,
)

# --- JWE and JSON serializations -------------------------------------------------------------


def test_jwe_five_segments_is_refused(hs_key: Key, hs_validator: Validator) -> None:
    jwe_header = segment({"alg": "dir", "enc": "A256GCM", "kid": hs_key.kid})
    for token in (
        f"{jwe_header}..{b64(b'iv' * 6)}.{b64(b'ciphertext')}.{b64(b't' * 16)}",
        f"{jwe_header}.{b64(b'k' * 32)}.{b64(b'iv' * 6)}.{b64(b'ct')}.{b64(b't' * 16)}",
        "a.b.c.d.e",
    ):
        error = refused(hs_validator, token, MalformedToken)
        assert "JWE" in str(error)


@pytest.mark.parametrize("form", ["flattened", "general", "polyglot"])
def test_json_serialization_is_refused(form: str, hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key)
    protected, payload, signature = good.split(".")
    if form == "flattened":
        document: object = {"payload": payload, "protected": protected, "signature": signature}
    elif form == "general":
        document = {
            "payload": payload,
            "signatures": [{"protected": protected, "signature": signature}],
        }
    else:  # CVE-2022-39227: a JSON document whose keys smuggle a compact token
        forged = segment(claims(sub="admin"))
        document = {
            f"{protected}.{forged}.": "",
            "protected": protected,
            "payload": payload,
            "signature": signature,
        }
    text = json.dumps(document)
    # The polyglot splits into three "segments" at the smuggled dots; its first one is not
    # base64url, so it is refused as an encoding error (a MalformedToken subclass).
    error = InvalidEncoding if form == "polyglot" else MalformedToken
    for token in (text, " " + text, text.encode()):
        refused(hs_validator, token, error)


# --- segments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "...",
        "a",
        "a.b",
        ".b.c",
        "a.b.c.d",
        "a.b.c.",
        "a..b.c",
        "eyJhbGciOiJIUzI1NiJ9",
    ],
)
def test_wrong_number_of_segments(token: str, hs_validator: Validator) -> None:
    refused(hs_validator, token, MalformedToken)


def test_stripped_signature(hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key)
    signing_input = good.rsplit(".", 1)[0]
    refused(hs_validator, signing_input + ".", MalformedToken)  # empty signature
    refused(hs_validator, signing_input, MalformedToken)  # missing segment
    refused(hs_validator, signing_input + "..", MalformedToken)


def test_extra_dots(hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key)
    h, p, s = good.split(".")
    for token in (
        f"{h}.{p}.{s}.",
        f".{h}.{p}.{s}",
        f"{h}..{p}.{s}",
        f"{h}.{p}..{s}",
        f"{h}.{p}.{s}.{s}",
    ):
        refused(hs_validator, token, MalformedToken)


def _flip_unused_bits(segment_text: str) -> str:
    """Same bytes, different text: set the unused low bits of the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rest = len(segment_text) % 4
    assert rest in (2, 3), "choose a segment whose length leaves unused bits"
    value = alphabet.index(segment_text[-1]) | (0b1111 if rest == 2 else 0b11)
    return segment_text[:-1] + alphabet[value]


def test_non_canonical_base64url_in_each_segment(hs_key: Key, hs_validator: Validator) -> None:
    header = header_for(hs_key)
    h, p = segment(header), segment(claims())
    # Pad the JSON so each segment length leaves unused bits.
    while len(h) % 4 not in (2, 3):
        header["x"] = header.get("x", "") + "a"
        h = segment(header)
    body = claims()
    while len(p) % 4 not in (2, 3):
        body["pad"] = body.get("pad", "") + "a"
        p = segment(body)
    good = signed_raw(h, p, hs_key)
    assert validated(hs_validator, good)
    s = good.rsplit(".", 1)[1]  # 32-byte HMAC: 43 characters, 2 unused bits
    # Re-signed over the altered text, so only the encoding is at fault.
    refused(hs_validator, signed_raw(_flip_unused_bits(h), p, hs_key), InvalidEncoding)
    refused(hs_validator, signed_raw(h, _flip_unused_bits(p), hs_key), InvalidEncoding)
    refused(hs_validator, f"{h}.{p}.{_flip_unused_bits(s)}", InvalidEncoding)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s + "=",
        lambda s: s + "==",
        lambda s: s[:4] + " " + s[4:],
        lambda s: s[:4] + "\n" + s[4:],
        lambda s: s[:4] + "\t" + s[4:],
        lambda s: s + "\r\n",
        lambda s: s.replace("-", "+").replace("_", "/") if ("-" in s or "_" in s) else s + "+",
        lambda s: s[:4] + "/" + s[5:],
        lambda s: s[:4] + "+" + s[5:],
        lambda s: s[:4] + "!" + s[5:],
        lambda s: s[:4] + "%3D" + s[4:],
        lambda s: s + "A" * ((1 - len(s)) % 4),  # length % 4 == 1 can never be base64
    ],
    ids=[
        "pad1",
        "pad2",
        "space",
        "newline",
        "tab",
        "crlf",
        "std-alphabet",
        "slash",
        "plus",
        "bang",
        "percent",
        "len-mod-4-1",
    ],
)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_padding_whitespace_and_foreign_alphabet(
    mutate: object, which: int, hs_key: Key, hs_validator: Validator
) -> None:
    good = signed(header_for(hs_key), claims(sub="user-1~~~~"), hs_key)
    parts = good.split(".")
    parts[which] = mutate(parts[which])  # type: ignore[operator]
    # Header/payload changes are re-signed over the altered text: only the encoding is at fault.
    token = ".".join(parts) if which == 2 else signed_raw(parts[0], parts[1], hs_key)
    refused(hs_validator, token, InvalidEncoding)


def test_whitespace_around_the_token(hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key)
    for token in (" " + good, good + " ", good + "\n", "\t" + good, "Bearer " + good):
        refused(hs_validator, token, InvalidEncoding)


# --- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True])
def test_megabyte_tokens_are_refused_before_decoding(
    as_bytes: bool, hs_key: Key, hs_validator: Validator, record_property: object
) -> None:
    big_claims = claims(blob="A" * 1_000_000)
    tokens: list[str | bytes] = [
        signed(header_for(hs_key), big_claims, hs_key),  # genuinely signed
        "A" * 1_048_576 + ".B.C",
        ".".join(["A" * 400_000] * 3),
        "\xff" * 2_000_000,  # non-ASCII as well: size comes first
    ]
    for token in tokens:
        raw = token.encode("latin-1") if as_bytes and isinstance(token, str) else token
        start = time.perf_counter()
        refused(hs_validator, raw, TokenTooLarge)
        elapsed = time.perf_counter() - start
        record_property(f"refusal_seconds_{len(raw)}", elapsed)  # type: ignore[operator]


def test_size_limit_is_exact(hs_key: Key, clock: object) -> None:
    from tests.attacks.conftest import validator_for

    validator = validator_for(hs_key, clock=clock, max_token_size=1024)  # type: ignore[arg-type]
    token = signed(header_for(hs_key), claims(), hs_key)
    pad = 1024 - len(token)
    body = claims(p="x" * max(0, pad))
    # Grow the claim until the token is exactly at / just over the limit.
    token = signed(header_for(hs_key), body, hs_key)
    while len(token) > 1024:
        body["p"] = body["p"][:-1]
        token = signed(header_for(hs_key), body, hs_key)
    assert validated(validator, token)
    longer = token
    while len(longer) <= 1024:
        body["p"] += "x"
        longer = signed(header_for(hs_key), body, hs_key)
    refused(validator, longer, TokenTooLarge)


# --- non-ASCII and non-UTF-8 ------------------------------------------------------------------


def test_non_ascii_bytes_are_malformed(hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key).encode()
    for token in (
        b"\xff" + good,
        good + b"\x80",
        good.replace(b".", b"\xc0\xae", 1),
        b"\xef\xbb\xbf" + good,
        "é".encode("latin-1") * 10,
    ):
        refused(hs_validator, token, MalformedToken)


def test_non_ascii_text_is_invalid_encoding(hs_key: Key, hs_validator: Validator) -> None:
    good = signed(header_for(hs_key), claims(), hs_key)
    h, p, s = good.split(".")
    for token in (
        f"{h}.{p}.{s}\ud800",  # lone surrogate
        f"\udcff{h}.{p}.{s}",
        f"{h}.{p}é.{s}",
        f"{h}.{p}.{s[:-1]}\uff21",  # fullwidth A
        f"{h}\u0660.{p}.{s}",  # Arabic-Indic digit zero
        f"{h}.{p}\x00.{s}",
    ):
        refused(hs_validator, token, InvalidEncoding)
    for fullwidth_dot in (f"{h}\uff0e{p}.{s}", f"{h}\u2024{p}.{s}"):
        refused(hs_validator, fullwidth_dot, MalformedToken)


@pytest.mark.parametrize("what", ["header", "payload"])
def test_non_utf8_json_is_invalid_json(what: str, hs_key: Key, hs_validator: Validator) -> None:
    from tokensmith import InvalidJSON

    header = json.dumps(header_for(hs_key)).encode()
    payload = json.dumps(claims()).encode()
    if what == "header":
        header = header[:-1] + b',"x":"\xff\xfe"}'
    else:
        payload = payload[:-1] + b',"x":"\xed\xa0\x80"}'  # UTF-8-encoded surrogate
    refused(hs_validator, signed_raw(b64(header), b64(payload), hs_key), InvalidJSON)


def test_non_string_input(hs_validator: Validator) -> None:
    for token in (None, 1, 1.5, ["a.b.c"], {"token": "a.b.c"}, memoryview(b"a.b.c")):
        refused(hs_validator, token, MalformedToken)  # type: ignore[arg-type]
