"""One value, one line: how audit lines and JSON log lines write text they do not control.

Values in an audit line are quoted JSON strings with every unprintable character escaped, so a
``kid``, subject or client id can neither end the line nor pose as another ``key=value`` pair;
the JSON formatter escapes the same characters. Both use these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["escaped", "quote", "word"]

_ESCAPES: Final[Mapping[str, str]] = MappingProxyType(
    {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
)
_WORD: Final = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def escaped(char: str) -> str:
    """One character as it may appear inside a quoted value (JSON string escapes)."""
    known = _ESCAPES.get(char)
    if known is not None:
        return known
    if char.isprintable():
        return char
    code = ord(char)
    if code > 0xFFFF:  # JSON has no astral escape: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def quote(text: str) -> str:
    """``text`` as a double-quoted JSON string literal that holds no unprintable character.

    Quotes and backslashes are escaped, and so is every character that is not printable
    (``\\n``, ``\\r``, ``\\t``, other C0/C1 controls, U+2028/U+2029, lone surrogates...), so a
    value can neither end the line nor pose as another ``key=value`` pair. ``json.loads``
    reads it back to ``text``.
    """
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return '"' + "".join(map(escaped, text)) + '"'


def word(text: str) -> str:
    """``text`` bare when it is one plain word (an event kind, a class name), else quoted."""
    return text if _WORD.fullmatch(text) else quote(text)
