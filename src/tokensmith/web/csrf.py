"""Signed double-submit CSRF tokens for cookie-carried tokens (OWASP "signed double submit")."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import time
from collections.abc import Callable
from typing import Final

from .._b64 import b64url_decode, b64url_encode
from .._options import seconds
from .._secrets import secret_bytes, secrets_equal
from ..errors import ConfigurationError, CSRFCheckFailed, CSRFTokenExpired, WeakKey
from ._cookie import SameSite, set_cookie

__all__ = ["CSRFProtector"]

_CSRF_CONTEXT: Final = b"tokensmith-csrf-v1\x00"
_CSRF_SHAPE: Final = re.compile(
    r"([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})", re.ASCII
)


class CSRFProtector:
    """Signed double-submit CSRF tokens for cookie-carried tokens (OWASP "signed double submit").

    :meth:`issue` makes ``<issued-at>.<nonce>.<HMAC-SHA256>`` bound to the session id; the app
    sets it in a cookie readable by its own JavaScript (:meth:`cookie`), which echoes it in a
    header (e.g. ``X-CSRF-Token``). :meth:`verify` checks that the cookie and the echoed value
    are equal, the MAC matches this session (constant-time), and the token is younger than
    ``max_age``. A cross-site attacker can neither read the cookie nor forge a MAC.

    :param secret: at least 32 random bytes (``secrets.token_bytes(32)``), shared by replicas.
    """

    __slots__ = ("_clock", "_key", "max_age")

    def __init__(
        self,
        secret: bytes,
        *,
        max_age: float = 2 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(secret, bytes | bytearray):
            raise ConfigurationError("the CSRF secret must be bytes")
        if len(secret) < 32:
            raise WeakKey("the CSRF secret must be at least 256 bits (32 bytes)")
        seconds("max_age", max_age, positive=True, finite=False)
        # A derived key: the CSRF MAC can never be confused with any other use of the secret.
        self._key = hmac.new(bytes(secret), b"tokensmith csrf key", hashlib.sha256).digest()
        self.max_age = float(max_age)
        self._clock = clock

    def __repr__(self) -> str:
        return f"CSRFProtector(max_age={self.max_age!r})"

    def _mac(self, session_id: str, issued_at: str, nonce: str) -> bytes:
        message = b"\x00".join(
            (_CSRF_CONTEXT, secret_bytes(session_id), issued_at.encode(), nonce.encode())
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue(self, session_id: str) -> str:
        """A fresh CSRF token for ``session_id`` (cookie-safe, about 80 characters)."""
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError("session_id must be a non-empty string")
        issued_at = str(int(self._clock()))
        nonce = b64url_encode(os.urandom(16))
        mac = b64url_encode(self._mac(session_id, issued_at, nonce))
        return f"{issued_at}.{nonce}.{mac}"

    def cookie(self, token: str, *, name: str = "csrf", same_site: SameSite = "Strict") -> str:
        """The ``Set-Cookie`` value for a CSRF token: ``__Host-``, ``Secure``, NOT ``HttpOnly``.

        The page's own script must read it to echo it; it is useless to anyone else.
        """
        return set_cookie(
            name,
            token,
            max_age=math.ceil(self.max_age),
            path="/",
            domain=None,
            same_site=same_site,
            host_prefix=True,
            http_only=False,
        )

    def verify(self, session_id: str, cookie_value: str | None, submitted: str | None) -> None:
        """Check a double-submitted CSRF token; raise :class:`CSRFCheckFailed` or return.

        ``cookie_value`` is the CSRF cookie, ``submitted`` the header or form value. Expired
        (or future-dated beyond 60 s) tokens raise :class:`CSRFTokenExpired`.
        """
        if not cookie_value or not submitted:
            raise CSRFCheckFailed("the CSRF cookie or the submitted CSRF token is missing")
        if not isinstance(cookie_value, str) or not isinstance(submitted, str):
            raise CSRFCheckFailed("the CSRF token must be text")
        if not secrets_equal(cookie_value, submitted):
            raise CSRFCheckFailed("the submitted CSRF token does not match the cookie")
        if not isinstance(session_id, str) or not session_id:
            raise CSRFCheckFailed("no session to bind the CSRF token to")
        match = _CSRF_SHAPE.fullmatch(submitted)
        if match is None:
            raise CSRFCheckFailed("the CSRF token is malformed")
        issued_at, nonce, mac = match.groups()
        try:
            given = b64url_decode(mac)
        except ValueError:
            raise CSRFCheckFailed("the CSRF token is malformed") from None
        if not hmac.compare_digest(given, self._mac(session_id, issued_at, nonce)):
            raise CSRFCheckFailed("the CSRF token is not valid for this session")
        age = self._clock() - int(issued_at)
        if age >= self.max_age or age < -60:
            raise CSRFTokenExpired("the CSRF token has expired; fetch a new one")
