"""The ``iss`` of a token *before* it is verified: what a multi-issuer validator routes on.

The value only chooses which issuer's keys and policy to try; it is never trusted. It is read
with the validator's own rules, so the router and the validator cannot disagree about what a
token says: the size limit first (before any decoding), exactly three segments, canonical
unpadded base64url (:mod:`tokensmith._b64`), one strict JSON object (:mod:`tokensmith._json`:
a duplicated ``iss`` member is refused, never "last one wins"). Nothing in a refusal echoes
the token or the claimed issuer.
"""

from __future__ import annotations

from typing import Final

from .._jws import segment_object
from ..errors import InvalidClaim, MalformedToken, MissingClaim, TokenTooLarge
from ..policy import DEFAULT_MAX_TOKEN_SIZE

__all__ = ["MAX_ISSUER_LENGTH", "unverified_issuer"]

MAX_ISSUER_LENGTH: Final = 512
"""The longest ``iss`` a token may claim to be routed (longer ones are refused as invalid)."""


def unverified_issuer(token: object, *, max_token_size: int = DEFAULT_MAX_TOKEN_SIZE) -> str:
    """The ``iss`` claim of ``token``, read but **not verified**: use it only to pick keys.

    :param token: a compact JWS, as text or ASCII bytes.
    :param max_token_size: longer tokens are refused before anything is decoded.
    :raises ~tokensmith.errors.MalformedToken: not a three-segment compact JWS (or not ASCII);
        :class:`~tokensmith.errors.TokenTooLarge`, :class:`~tokensmith.errors.InvalidEncoding`
        and :class:`~tokensmith.errors.InvalidJSON` (its subclasses) for the size, the
        base64url and the JSON.
    :raises ~tokensmith.errors.MissingClaim: no ``iss`` (or ``null``).
    :raises ~tokensmith.errors.InvalidClaim: an ``iss`` that is not a non-empty string of at
        most :data:`MAX_ISSUER_LENGTH` characters.
    """
    text = _text(token, max_token_size)
    first = text.find(".")
    second = text.find(".", first + 1)
    if first <= 0 or second < 0 or text.find(".", second + 1) >= 0:
        raise MalformedToken("a token must have exactly three segments")
    # The header and the signature are the validator's to judge (an unsecured "alg": "none"
    # token is refused there as what it is); only the payload is read here.
    payload = segment_object(text[first + 1 : second], "payload")
    iss = payload.get("iss")
    if iss is None:
        raise MissingClaim(
            "the token's 'iss' is null" if "iss" in payload else "the token has no 'iss'",
            claim="iss",
        )
    if iss.__class__ is not str or not iss or len(iss) > MAX_ISSUER_LENGTH:
        raise InvalidClaim(
            f"'iss' must be a non-empty string of at most {MAX_ISSUER_LENGTH} characters",
            claim="iss",
        )
    return iss  # a str (checked above)


def _text(token: object, max_token_size: int) -> str:
    """The token as text, its size checked before it is decoded."""
    if isinstance(token, str):
        if len(token) > max_token_size:
            raise TokenTooLarge(f"token longer than {max_token_size} characters")
        return token
    if not isinstance(token, bytes | bytearray):
        raise MalformedToken("a token must be a string")
    if len(token) > max_token_size:
        raise TokenTooLarge(f"token longer than {max_token_size} bytes")
    try:
        return bytes(token).decode("ascii")
    except UnicodeDecodeError:
        raise MalformedToken("a token must be ASCII") from None
