"""Comparing secrets: constant time, whatever text or bytes a client sent.

Every comparison of a secret a client presents (PKCE verifiers, ``state``, ``nonce``, token
hashes, CSRF tokens) goes through :func:`secrets_equal`; ``tokensmith.oauth`` exports it for
applications' own secrets.
"""

from __future__ import annotations

import hmac

__all__ = ["secret_bytes", "secrets_equal"]


def secret_bytes(text: str | bytes) -> bytes:
    """The bytes of ``text``: UTF-8 of any ``str``, lone surrogates included (a JSON body can
    carry ``"\\ud800"``), so no input makes the comparison raise."""
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text


def secrets_equal(expected: str | bytes, received: object) -> bool:
    """Constant-time equality of two secrets; ``False`` for a missing or non-string value."""
    if not isinstance(received, str | bytes):
        return False
    expected_bytes = secret_bytes(expected)
    if not expected_bytes:
        return False  # an empty expected value would make any empty input "match"
    return hmac.compare_digest(expected_bytes, secret_bytes(received))
