"""A custom RevocationList persisted with the stdlib ``shelve`` module (one file, one process).

Four methods make a revocation list (see ``tokensmith.RevocationList``). The rules every
backend shares, and that ``tokensmith.testing.RevocationListContract`` checks:

* entries are keyed on ``(issuer, jti)``, never on the token string;
* subject and session revocations are *watermarks*: tokens issued at or before
  ``before + skew`` are revoked (``watermark`` checks both and adds them: ``skew`` covers an
  issuer whose clock runs ahead; ``covered_by_watermark`` implements the one-second ``iat``
  rule and fails closed when a token has no ``iat``); the latest applicable watermark wins;
* every entry expires (``expires_at`` plus a grace for validators' leeway), so the list stays
  bounded;
* bad arguments raise ``ConfigurationError``.

Run it: ``python examples/custom_revocation.py``.
"""

from __future__ import annotations

import json
import math
import shelve
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokensmith import (
    ConfigurationError,
    KeySet,
    MemoryKeyStore,
    Signer,
    TokenError,
    Validator,
    VerifiedToken,
    revoke_token,
)
from tokensmith.policy import DEFAULT_LEEWAY
from tokensmith.revocation.base import covered_by_watermark, watermark

GRACE = 300.0  # keep entries this long past expiry: validators allow up to 300 s of leeway


class ShelveRevocationList:
    """Revocations in a ``shelve`` file: survives restarts of a single-process service."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._db: shelve.Shelf[tuple[float, float]] = shelve.open(str(path))  # noqa: SIM115 - closed by close()
        self._clock = clock
        self._lock = threading.Lock()

    # --- what a validator calls ---------------------------------------------------------------

    def is_revoked(self, token: VerifiedToken) -> bool:
        """Revoked by jti, or covered by the latest subject/session watermark."""
        issuer = token.issuer or ""
        now = self._clock()
        if token.jti is not None and self._live(("jti", issuer, token.jti), now) is not None:
            return True
        marks = [
            mark
            for kind, value in (("sub", token.subject), ("sid", token.session_id))
            if value is not None and (mark := self._live((kind, issuer, value), now)) is not None
        ]
        return bool(marks) and covered_by_watermark(token.issued_at, max(marks))

    # --- what an application calls --------------------------------------------------------------

    def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        """Revoke one token until it expires."""
        self._put(("jti", issuer, jti), math.inf, expires_at)

    def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of ``subject`` issued at or before ``before + skew``."""
        self._put(("sub", issuer, subject), watermark(before, skew), expires_at)

    def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        """Revoke every token of a session (issued at or before ``before + skew``)."""
        self._put(("sid", issuer, session_id), watermark(before, skew), expires_at)

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._db.close()

    # --- storage ----------------------------------------------------------------------------------

    @staticmethod
    def _key(entry: tuple[str, str, str]) -> str:
        return json.dumps(entry)  # unambiguous whatever characters the ids contain

    def _live(self, entry: tuple[str, str, str], now: float) -> float | None:
        """The watermark of a live entry, or None."""
        with self._lock:
            found = self._db.get(self._key(entry))
        if found is None or found[1] <= now:
            return None
        return found[0]

    def _put(self, entry: tuple[str, str, str], mark: Any, expires_at: Any) -> None:
        if not isinstance(entry[2], str) or not entry[2]:
            raise ConfigurationError(f"{entry[0]} must be a non-empty string")
        for name, value in (("expires_at", expires_at), ("before", mark)):
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ConfigurationError(f"{name} must be a time in seconds")
        now = self._clock()
        until = expires_at + GRACE
        if until <= now:
            return  # every token it covers has expired already
        key = self._key(entry)
        with self._lock:
            old = self._db.get(key)
            if old is not None and old[1] > now:  # watermarks only move forward
                mark, until = max(mark, old[0]), max(until, old[1])
            self._db[key] = (float(mark), float(until))
            for stale in [k for k, (_, end) in self._db.items() if end <= now]:
                del self._db[stale]  # a full scan: fine for a small single-process list


def main() -> int:
    issuer = "https://auth.example.com"
    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=issuer, ttl=600)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "revocations"
        revocations = ShelveRevocationList(path)
        validator = Validator(store, issuer=issuer, audience="api", revocation=revocations)
        token = signer.issue("user-123", audience="api")
        revoke_token(revocations, validator.validate(token))
        revocations.close()

        reopened = ShelveRevocationList(path)  # the revocation survives a restart
        validator = Validator(store, issuer=issuer, audience="api", revocation=reopened)
        try:
            validator.validate(token)
        except TokenError as exc:
            print(f"after a restart the revoked token is still refused: {exc.code}")
        finally:
            reopened.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
