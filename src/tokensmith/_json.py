"""The one strict JSON reader: every document tokensmith parses from outside goes through it.

Token headers and payloads, JWKS documents, discovery metadata and the CLI's inputs all follow
the same rules:

* UTF-8 text holding exactly one JSON value (surrounding whitespace is allowed);
* object member names unique (RFC 7515 §5.2, RFC 8725 §3.6: no "last one wins" ambiguity);
* no ``NaN``/``Infinity``/``-Infinity`` constants (not JSON, RFC 8259 §6);
* nesting at most :data:`MAX_DEPTH` arrays/objects deep, checked *before* parsing, the same on
  every Python version. The interpreter's own recursion guard moved between versions (3.11
  refused 1,000 levels, 3.12 and later accept them), so the limit cannot be left to it.

The depth check costs two ``str.count`` calls for any document with at most ``MAX_DEPTH``
opening brackets (every real token), because a document cannot be nested deeper than it has
brackets; only documents with more brackets than that get the exact scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any, Final

__all__ = ["MAX_DEPTH", "StrictJSONError", "loads", "loads_object"]

MAX_DEPTH: Final = 32
"""The deepest nesting of arrays and objects accepted in any JSON document."""


class StrictJSONError(ValueError):
    """The text is not one strict JSON value (each caller turns it into its own refusal)."""


def _reject_constant(name: str) -> Any:
    raise StrictJSONError(f"non-standard JSON constant {name}")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise StrictJSONError("duplicate member name")
    return result


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_members, parse_constant=_reject_constant
)
# The C scanner behind JSONDecoder.decode, called directly: it skips decode()'s whitespace
# regular expressions, which is most of the cost for a token-sized object.
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
# A string, or an unterminated one up to the end: the optional closing quote keeps the scan
# linear (a required one would retry from every later quote on unterminated input).
_STRINGS: Final = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS: Final = re.compile(r"[^\[\]{}]+")
_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}
_WHITESPACE: Final = " \t\r\n"


def too_deep(text: str) -> bool:
    """True when ``text`` nests arrays/objects more than :data:`MAX_DEPTH` levels deep.

    Brackets inside strings do not count. On text that is not valid JSON the answer may be
    either; the parser refuses such text anyway.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def loads(data: bytes | str) -> Any:
    """One strict JSON value from UTF-8 bytes or text; :class:`StrictJSONError` otherwise."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        if too_deep(text):
            raise StrictJSONError(f"nested deeper than {MAX_DEPTH} levels")
        if text[:1] in ("{", "["):  # the common case: straight to the C scanner
            value, end = _SCAN(text, 0)
            if end != len(text) and text[end:].strip(_WHITESPACE):
                raise StrictJSONError("data after the JSON value")
            return value
        return _DECODER.decode(text)
    except StrictJSONError:
        raise
    except (ValueError, RecursionError, StopIteration):  # UnicodeDecodeError is a ValueError
        raise StrictJSONError("not valid JSON") from None


def loads_object(data: bytes | str) -> dict[str, Any]:
    """Like :func:`loads`, and the value must be a JSON object."""
    value = loads(data)
    if value.__class__ is not dict:
        raise StrictJSONError("not a JSON object")
    return value  # a dict (checked above)
