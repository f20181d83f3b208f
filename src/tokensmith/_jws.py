"""Reading the parts of a compact JWS (RFC 7515 §7.1): segment → bytes → one JSON object.

The validator, the client-assertion helpers and the CLI's ``inspect`` read token headers and
payloads the same way and refuse them with the same classes: a segment that is not canonical
unpadded base64url is :class:`~tokensmith.errors.InvalidEncoding`, bytes that are not one
strict JSON object (see :mod:`tokensmith._json`) are :class:`~tokensmith.errors.InvalidJSON`.
"""

from __future__ import annotations

from typing import Any

from ._b64 import b64url_decode
from ._json import StrictJSONError
from ._json import loads as strict_json
from .errors import InvalidEncoding, InvalidJSON

__all__ = ["json_object", "segment_object"]


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Exactly one strict JSON object, else :class:`InvalidJSON` naming ``what``."""
    try:
        value = strict_json(raw)
    except StrictJSONError as exc:
        raise InvalidJSON(f"the {what} is not strict JSON: {exc}") from None
    if value.__class__ is not dict:
        raise InvalidJSON(f"the {what} is not a JSON object")
    return value  # a dict (checked above)


def segment_object(segment: str, what: str) -> dict[str, Any]:
    """The JSON object a base64url segment encodes (a header, or a payload read unverified)."""
    try:
        raw = b64url_decode(segment)
    except ValueError:
        raise InvalidEncoding(f"the {what} is not canonical unpadded base64url") from None
    return json_object(raw, what)
