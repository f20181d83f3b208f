"""client_secret_basic: the header, built and parsed as RFC 6749 §2.3.1 / Appendix B say."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith.errors import ConfigurationError, MalformedClientCredentials
from tokensmith.oauth import (
    MAX_BASIC_CREDENTIALS_LENGTH,
    basic_authorization,
    parse_basic_authorization,
)


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode("ascii")


def refused(header: object) -> MalformedClientCredentials:
    with pytest.raises(MalformedClientCredentials) as info:
        parse_basic_authorization(header)
    assert type(info.value) is MalformedClientCredentials
    assert info.value.auth_scheme == "Basic"
    assert info.value.status_code == 401 and info.value.error == "invalid_client"
    return info.value


def test_plain_credentials() -> None:
    assert parse_basic_authorization(basic(b"billing:s3cret")) == ("billing", "s3cret")
    assert basic_authorization("billing", "s3cret") == basic(b"billing:s3cret")


@pytest.mark.parametrize(
    ("client_id", "secret", "encoded"),
    [
        ("a:b", "x", b"a%3Ab:x"),  # a colon in the id must be escaped, or the split is wrong
        ("app", "p:w", b"app:p%3Aw"),
        ("app", "a+b", b"app:a%2Bb"),  # '+' is a space in form encoding
        ("app", "a b", b"app:a+b"),
        ("app", "100%", b"app:100%25"),
        ("app", "nötig€", b"app:n%C3%B6tig%E2%82%AC"),
        ("app", "/=?&#", b"app:%2F%3D%3F%26%23"),
    ],
)
def test_form_urlencoding_both_ways(client_id: str, secret: str, encoded: bytes) -> None:
    assert basic_authorization(client_id, secret) == basic(encoded)
    assert parse_basic_authorization(basic(encoded)) == (client_id, secret)


def test_what_many_servers_get_wrong() -> None:
    # '+' read as a space and '%3A' as a colon: a server that skips the decoding sees other bytes
    assert parse_basic_authorization(basic(b"app:a+b%3Ac")) == ("app", "a b:c")
    # the split is at the first raw ':' only: the rest belongs to the secret
    assert parse_basic_authorization(basic(b"app:x:y")) == ("app", "x:y")


def test_scheme_is_case_insensitive_and_spaces_tolerated() -> None:
    raw = base64.b64encode(b"app:pw").decode()
    for header in (f"basic {raw}", f"BASIC {raw}", f"Basic   {raw}", f"Basic {raw} "):
        assert parse_basic_authorization(header) == ("app", "pw")


@pytest.mark.parametrize(
    "header",
    [
        None,
        b"Basic YXBwOnB3",  # bytes, not text
        "",
        "Basic",
        "Basic ",
        "Bearer YXBwOnB3",
        "Digest YXBwOnB3",
        "YXBwOnB3",
        "Basic YXBwOnB3 extra",
        "Basic YXBwOnB",  # bad padding
        "Basic YXBw*nB3",  # not base64
        "Basic YXBwOnB3====",
        "Basic\tYXBwOnB3",
        "Basic YXBwOnB3\r\n",
        basic(b"no-colon"),
        basic(b":secret"),  # empty id
        basic(b"app:"),  # empty secret
        basic(b"app:\xff\xfe"),  # not UTF-8
        basic(b"app:%zz"),  # '%' that is not an escape
        basic(b"app:50%"),
        basic(b"app:%C3"),  # escape that does not decode to UTF-8
        basic(b"%FF:pw"),
        "Basic " + "A" * MAX_BASIC_CREDENTIALS_LENGTH,  # huge
    ],
)
def test_malformed_headers(header: object) -> None:
    error = refused(header)
    assert "pw" not in error.message and "secret" not in error.message.replace("_secret", "")


def test_message_never_contains_credentials() -> None:
    error = refused(basic(b"app:hunter2-%zz"))
    assert "hunter2" not in str(error) and "app" not in str(error)


def test_builder_refuses_empty_parts() -> None:
    for client_id, secret in (("", "x"), ("x", ""), (1, "x"), ("x", None)):
        with pytest.raises(ConfigurationError):
            basic_authorization(client_id, secret)  # type: ignore[arg-type]


text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@given(text, text)
def test_round_trip(client_id: str, secret: str) -> None:
    assert parse_basic_authorization(basic_authorization(client_id, secret)) == (
        client_id,
        secret,
    )


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(basic)))
def test_parser_never_crashes(header: str) -> None:
    try:
        client_id, secret = parse_basic_authorization(header)
    except MalformedClientCredentials:
        return
    assert client_id and secret and isinstance(client_id, str) and isinstance(secret, str)
