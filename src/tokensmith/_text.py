"""Text rules shared across groups: what an HTTP token is, what Unicode text is, and the fixed
description of an error class that answers may carry without echoing any input.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import TokensmithError

__all__ = ["DESCRIPTION_CHARS", "HTTP_TOKEN", "SCOPE_TOKEN", "class_description", "is_unicode"]

HTTP_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", re.ASCII)
"""RFC 9110 §5.6.2 ``token``: an authentication scheme, a cookie name."""

SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+", re.ASCII)
"""RFC 6749 §3.3 ``scope-token``: one scope name (what a ``scope=`` challenge may carry)."""

DESCRIPTION_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
"""The characters of an RFC 6750 §3 / RFC 6749 §5.2 ``error_description``."""


def class_description(exc: TokensmithError) -> str:
    """A fixed text per class (first line of its docstring): never the message, never input."""
    doc = (type(exc).__doc__ or exc.code).strip().splitlines()[0]
    doc = doc.replace("``", "")
    return "".join(c for c in doc if c in DESCRIPTION_CHARS).strip() or exc.code


def is_unicode(value: str) -> bool:
    """False when ``value`` holds a lone surrogate (text no UTF-8 encoder would write)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
