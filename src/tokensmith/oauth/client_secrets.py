"""Registered client secrets, stored only as a slow, salted scrypt hash.

A client secret is a password a machine holds: if the registry leaks, a fast hash of a weak
secret falls to a GPU in minutes. The stored form is a PHC-style string that carries its own
parameters, ``$scrypt$ln=14,r=8,p=1$<salt>$<hash>`` (base64 without padding), so the cost can
be raised later without touching the clients: new secrets get the new cost, old hashes still
verify, and :func:`client_secret_needs_rehash` says which ones to replace at the next
successful authentication.

Defaults: scrypt (RFC 7914) with ``N = 2**14``, ``r = 8``, ``p = 1`` (16 MiB and a few tens of
milliseconds per check), a 16-byte random salt and a 32-byte hash. The cost is never below
those numbers: a stored hash with weaker parameters is refused as a configuration mistake.
Comparison is constant time (:func:`hmac.compare_digest`). Secrets shorter than
:data:`MIN_CLIENT_SECRET_LENGTH` are refused when hashed: generate them with
:func:`generate_client_secret`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final, NamedTuple

from .._secrets import secret_bytes
from ..errors import ConfigurationError

__all__ = [
    "MAX_CLIENT_SECRET_LENGTH",
    "MIN_CLIENT_SECRET_LENGTH",
    "SCRYPT_LOG2_N",
    "client_secret_needs_rehash",
    "generate_client_secret",
    "hash_client_secret",
    "verify_client_secret",
]

MIN_CLIENT_SECRET_LENGTH: Final = 32
"""Shortest secret :func:`hash_client_secret` accepts (characters): 128 bits even as hex."""

MAX_CLIENT_SECRET_LENGTH: Final = 1024
"""Longest secret accepted, at registration and when presented (characters)."""

SCRYPT_LOG2_N: Final = 14
"""Default (and minimum) scrypt cost, as ``log2(N)``; ``r = 8``, ``p = 1``."""

_R: Final = 8
_P: Final = 1
_MAX_LOG2_N: Final = 20  # 1 GiB with r = 8: anything above is a corrupt or hostile record
_SALT_BYTES: Final = 16
_HASH_BYTES: Final = 32
_FORMAT: Final = re.compile(
    r"\$scrypt\$ln=(?P<ln>[1-9][0-9]?),r=(?P<r>[1-9][0-9]?),p=(?P<p>[1-9][0-9]?)"
    r"\$(?P<salt>[A-Za-z0-9+/]{22})\$(?P<hash>[A-Za-z0-9+/]{43})"
)


class _Stored(NamedTuple):
    log2_n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def generate_client_secret() -> str:
    """A new random client secret: 256 bits, URL-safe (43 characters, nothing to encode)."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str, *, log2_n: int = SCRYPT_LOG2_N) -> str:
    """The string to store for ``secret`` (never store the secret itself).

    :param secret: at least :data:`MIN_CLIENT_SECRET_LENGTH` characters.
    :param log2_n: scrypt cost as ``log2(N)``, at least :data:`SCRYPT_LOG2_N`; raise it as
        hardware gets faster (old hashes keep verifying).
    :raises ~tokensmith.errors.ConfigurationError: a short, huge or non-string secret, or a cost
        out of range.
    """
    if not isinstance(secret, str):
        raise ConfigurationError("a client secret must be a string")
    if len(secret) < MIN_CLIENT_SECRET_LENGTH:
        raise ConfigurationError(
            f"a client secret must be at least {MIN_CLIENT_SECRET_LENGTH} characters: "
            "use generate_client_secret()"
        )
    if len(secret) > MAX_CLIENT_SECRET_LENGTH:
        raise ConfigurationError("a client secret is too long")
    _check_cost(log2_n, _R, _P)
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(secret_bytes(secret), _Stored(log2_n, _R, _P, salt, b""))
    return f"$scrypt$ln={log2_n},r={_R},p={_P}${_b64(salt)}${_b64(digest)}"


def verify_client_secret(stored: str, presented: object) -> bool:
    """Whether ``presented`` is the secret ``stored`` was made from (constant-time compare).

    A non-string or over-long ``presented`` is ``False`` after the same scrypt work, so the
    time taken says nothing about why it failed.

    :raises ~tokensmith.errors.ConfigurationError: ``stored`` is not a hash made by
        :func:`hash_client_secret` (or is weaker than its minimum).
    """
    record = _parse(stored)
    usable = isinstance(presented, str) and len(presented) <= MAX_CLIENT_SECRET_LENGTH
    candidate = secret_bytes(presented) if isinstance(presented, str) and usable else b"\x00"
    digest = _scrypt(candidate, record)
    return hmac.compare_digest(digest, record.digest) and usable


def client_secret_needs_rehash(stored: str, *, log2_n: int = SCRYPT_LOG2_N) -> bool:
    """Whether ``stored`` was made with a lower cost than ``log2_n``: re-hash the secret the
    client just presented (it verified) and store the new string."""
    record = _parse(stored)
    return (record.log2_n, record.r, record.p) < (log2_n, _R, _P)


def _parse(stored: object) -> _Stored:
    match = _FORMAT.fullmatch(stored) if isinstance(stored, str) else None
    if match is None:
        raise ConfigurationError("a stored client secret hash must come from hash_client_secret()")
    log2_n, r, p = int(match["ln"]), int(match["r"]), int(match["p"])
    _check_cost(log2_n, r, p)
    # the pattern fixes both lengths, so the padding below always makes valid base64
    salt = base64.b64decode(match["salt"] + "==", validate=True)
    digest = base64.b64decode(match["hash"] + "=", validate=True)
    return _Stored(log2_n, r, p, salt, digest)


def _check_cost(log2_n: object, r: object, p: object) -> None:
    if not isinstance(log2_n, int) or isinstance(log2_n, bool):
        raise ConfigurationError("log2_n must be an integer")
    if not SCRYPT_LOG2_N <= log2_n <= _MAX_LOG2_N or r != _R or p != _P:
        raise ConfigurationError(
            f"scrypt cost must be ln={SCRYPT_LOG2_N}..{_MAX_LOG2_N}, r={_R}, p={_P}"
        )


def _scrypt(secret: bytes, record: _Stored) -> bytes:
    n = 1 << record.log2_n
    maxmem = 129 * record.r * n * record.p + (1 << 20)
    return hashlib.scrypt(
        secret, salt=record.salt, n=n, r=record.r, p=record.p, maxmem=maxmem, dklen=_HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")
