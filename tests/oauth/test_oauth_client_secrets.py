"""Registered client secrets: scrypt hashes that carry their parameters, verified in constant
time, never weaker than the floor."""

from __future__ import annotations

import hashlib
import re

import pytest

from tokensmith.errors import ConfigurationError
from tokensmith.oauth import (
    MAX_CLIENT_SECRET_LENGTH,
    MIN_CLIENT_SECRET_LENGTH,
    SCRYPT_LOG2_N,
    client_secret_needs_rehash,
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)

SECRET = "correct horse battery staple, 2026!"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_client_secret(SECRET)


def test_format_carries_its_parameters(stored: str) -> None:
    assert re.fullmatch(r"\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", stored)
    assert SECRET not in stored
    assert hash_client_secret(SECRET) != stored  # salted


def test_verify(stored: str) -> None:
    assert verify_client_secret(stored, SECRET)
    assert not verify_client_secret(stored, SECRET + "x")
    assert not verify_client_secret(stored, SECRET.upper())
    for wrong in (None, 42, b"bytes", "", "x" * (MAX_CLIENT_SECRET_LENGTH + 1), "\ud800"):
        assert not verify_client_secret(stored, wrong)


def test_known_answer() -> None:
    """The stored hash is plain scrypt (RFC 7914) of the UTF-8 secret: portable to any stack."""
    import base64

    stored = hash_client_secret(SECRET)
    _, _, params, salt, digest = stored.split("$")
    expected = hashlib.scrypt(
        SECRET.encode(), salt=base64.b64decode(salt + "=="), n=2**14, r=8, p=1, dklen=32
    )
    assert base64.b64decode(digest + "=") == expected and params == "ln=14,r=8,p=1"


def test_cost_can_be_raised_later(stored: str) -> None:
    stronger = hash_client_secret(SECRET, log2_n=SCRYPT_LOG2_N + 1)
    assert stronger.startswith("$scrypt$ln=15,")
    assert verify_client_secret(stronger, SECRET)
    assert client_secret_needs_rehash(stored, log2_n=SCRYPT_LOG2_N + 1)
    assert not client_secret_needs_rehash(stored)
    assert not client_secret_needs_rehash(stronger)


def test_short_or_odd_secrets_refused_at_registration() -> None:
    for secret in ("x" * (MIN_CLIENT_SECRET_LENGTH - 1), "", "x" * (MAX_CLIENT_SECRET_LENGTH + 1)):
        with pytest.raises(ConfigurationError):
            hash_client_secret(secret)
    with pytest.raises(ConfigurationError):
        hash_client_secret(b"x" * 40)  # type: ignore[arg-type]


@pytest.mark.parametrize("log2_n", [SCRYPT_LOG2_N - 1, 21, 14.0, True, "14"])
def test_cost_out_of_range(log2_n: object) -> None:
    with pytest.raises(ConfigurationError):
        hash_client_secret(SECRET, log2_n=log2_n)  # type: ignore[arg-type]


def test_generated_secrets() -> None:
    secret = generate_client_secret()
    assert len(secret) >= MIN_CLIENT_SECRET_LENGTH and secret != generate_client_secret()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", secret)  # nothing to form-encode


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        SECRET,  # a plain secret stored by mistake
        "$scrypt$ln=13,r=8,p=1$" + "A" * 22 + "$" + "A" * 43,  # below the floor
        "$scrypt$ln=14,r=4,p=1$" + "A" * 22 + "$" + "A" * 43,
        "$scrypt$ln=14,r=8,p=2$" + "A" * 22 + "$" + "A" * 43,
        "$scrypt$ln=14,r=8,p=1$" + "A" * 21 + "$" + "A" * 43,
        "$scrypt$ln=14,r=8,p=1$" + "A" * 22 + "$" + "A" * 44,
        "$scrypt$ln=14,r=8,p=1$" + "A" * 22 + "$" + "A" * 42 + "-",
        "$pbkdf2$ln=14,r=8,p=1$" + "A" * 22 + "$" + "A" * 43,
    ],
)
def test_stored_hash_must_be_ours(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        verify_client_secret(bad, SECRET)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        client_secret_needs_rehash(bad)  # type: ignore[arg-type]
