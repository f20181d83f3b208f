"""PKCE (RFC 7636), ``state`` and ``nonce``: the authorization-code flow's one-time secrets.

New verifiers are always S256. ``plain`` is refused unless a caller enables it by name
(``allow_plain=True``), because a ``plain`` challenge leaked with the authorization request
protects nothing. Every comparison of a secret is constant-time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from .._b64 import b64url_decode, b64url_encode
from .._options import integer
from .._secrets import secrets_equal
from ..errors import ConfigurationError, InvalidGrant, InvalidRequest, StateMismatch

__all__ = [
    "MAX_VERIFIER_LENGTH",
    "MIN_VERIFIER_LENGTH",
    "PKCEChallenge",
    "code_challenge",
    "generate_code_verifier",
    "generate_nonce",
    "generate_state",
    "parse_code_challenge",
    "verify_code_verifier",
    "verify_state",
]

MIN_VERIFIER_LENGTH: Final = 43
"""Shortest ``code_verifier`` RFC 7636 §4.1 allows (256 bits of base64url)."""

MAX_VERIFIER_LENGTH: Final = 128
"""Longest ``code_verifier`` RFC 7636 §4.1 allows."""

Method = Literal["S256", "plain"]

# RFC 7636 §4.1: 43*128 unreserved characters [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}", re.ASCII)
_S256_LENGTH: Final = 43  # base64url of a SHA-256 digest, unpadded
_SECRET_BYTES: Final = 32  # state and nonce: 256 bits


@dataclass(frozen=True, slots=True)
class PKCEChallenge:
    """A checked ``code_challenge`` and its method, as stored with an authorization code.

    ``repr()`` hides the challenge value (with ``plain`` it *is* the verifier).
    """

    challenge: str
    method: Method = "S256"

    def __repr__(self) -> str:
        return f"PKCEChallenge(method={self.method!r})"


def generate_code_verifier(length: int = 64) -> str:
    """A fresh random ``code_verifier`` of ``length`` characters (43-128; default 64 = 384 bits)."""
    integer("length", length, minimum=MIN_VERIFIER_LENGTH, maximum=MAX_VERIFIER_LENGTH)
    return secrets.token_urlsafe(length)[:length]


def _check_verifier(verifier: object) -> str:
    if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
        raise InvalidRequest("code_verifier must be 43-128 unreserved characters (RFC 7636)")
    return verifier


def _s256(verifier: str) -> str:
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def code_challenge(verifier: str, method: Method = "S256", *, allow_plain: bool = False) -> str:
    """The ``code_challenge`` for ``verifier`` (client side): ``BASE64URL(SHA256(verifier))``."""
    _check_verifier(verifier)
    if method == "S256":
        return _s256(verifier)
    if method == "plain" and allow_plain:
        return verifier
    raise ConfigurationError("method must be 'S256' (or 'plain' with allow_plain=True)")


def parse_code_challenge(
    challenge: object, method: object = None, *, allow_plain: bool = False
) -> PKCEChallenge:
    """Check an authorization request's ``code_challenge`` / ``code_challenge_method``.

    A missing method means ``plain`` (RFC 7636 §4.3), so it is refused unless ``allow_plain``.
    An S256 challenge must be exactly a base64url SHA-256 digest (43 characters).
    Refusal: :class:`~tokensmith.errors.InvalidRequest` (RFC 7636 §4.4.1).
    """
    if method is None:
        method = "plain"
    if method == "S256":
        if (
            not isinstance(challenge, str)
            or len(challenge) != _S256_LENGTH
            or not _decodes(challenge)
        ):
            raise InvalidRequest("code_challenge is not a base64url SHA-256 digest")
        return PKCEChallenge(challenge, "S256")
    if method == "plain":
        if not allow_plain:
            raise InvalidRequest("code_challenge_method must be S256")
        return PKCEChallenge(_check_challenge_verifier(challenge), "plain")
    raise InvalidRequest("code_challenge_method is not supported")


def _decodes(challenge: str) -> bool:
    try:
        b64url_decode(challenge)
    except ValueError:
        return False
    return True


def _check_challenge_verifier(challenge: object) -> str:
    if not isinstance(challenge, str) or not _VERIFIER.fullmatch(challenge):
        raise InvalidRequest("a plain code_challenge must be 43-128 unreserved characters")
    return challenge


def verify_code_verifier(
    verifier: object, challenge: PKCEChallenge, *, allow_plain: bool = False
) -> None:
    """Check a token request's ``code_verifier`` against the stored challenge (server side).

    Malformed or missing verifier: :class:`~tokensmith.errors.InvalidRequest`; a verifier that
    does not match: :class:`~tokensmith.errors.InvalidGrant` (RFC 7636 §4.6). A stored ``plain``
    challenge is honoured only with ``allow_plain=True``. The comparison is constant-time.
    """
    if not isinstance(challenge, PKCEChallenge):
        raise ConfigurationError("challenge must be a PKCEChallenge")
    checked = _check_verifier(verifier)
    if challenge.method == "S256":
        computed = _s256(checked)
    elif challenge.method == "plain" and allow_plain:
        computed = checked
    else:
        raise InvalidGrant("the stored code_challenge_method is not allowed")
    if not secrets_equal(computed, challenge.challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")


def generate_state() -> str:
    """A fresh ``state`` value (256 random bits): bind it to the user's session, then check it."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def generate_nonce() -> str:
    """A fresh OpenID Connect ``nonce`` (256 random bits), checked later in the ID token."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def verify_state(expected: str, received: object) -> None:
    """Check the ``state`` of an authorization response (client side, against CSRF).

    Raises :class:`~tokensmith.errors.StateMismatch` when it is missing or differs.
    """
    if not secrets_equal(expected, received):
        raise StateMismatch("the authorization response's state does not match")
