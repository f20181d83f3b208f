"""Build tokens by hand (any header, any payload, any signature) to test refusals."""

from __future__ import annotations

import json
from typing import Any

from tokensmith import Key
from tokensmith.keys import b64url_encode


def segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url_encode(raw)


def forge(header: Any, payload: Any, key: Key | None = None, signature: bytes | None = None) -> str:
    """A compact JWS; signed with ``key`` unless ``signature`` is given."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64url_encode(signature)}"
