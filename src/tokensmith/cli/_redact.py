"""Error lines quote what was typed (``unrecognized arguments: ...``): what is secret in them is
redacted, and nothing else.

What is redacted: a compact JWS/JWE (3 or 5 base64url segments whose header or payload is a JSON
object), a refresh token (``rt_`` + 43 characters, see :mod:`tokensmith.refresh`), a long run of
token characters (no ``/`` or ``:``, so paths and URLs stay), and the value of any option that
is not one of ours and whose name reads like a secret (see ``_secret_option``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Final

from .._jws import segment_object
from ..errors import InvalidEncoding, InvalidJSON

__all__ = ["Redactor", "one_line", "option_strings"]

_WORD_EDGE: Final = r"(?<![A-Za-z0-9_\-.])", r"(?![A-Za-z0-9_\-.])"
_JOSE: Final = re.compile(
    _WORD_EDGE[0]
    + r"[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){2}(?:(?:\.[A-Za-z0-9_\-]*){2})?"
    + _WORD_EDGE[1]
)
_OPAQUE: Final = re.compile(  # not inside a path or a URL: no "/" or ":" around it
    r"(?<![A-Za-z0-9_\-.~+/:])(?:rt_[A-Za-z0-9_\-]{43}|[A-Za-z0-9_\-.~+]{65,}={0,2})"
    r"(?![A-Za-z0-9_\-.~+/:=])"
)
_SECRET_STEMS: Final = (
    "pass",
    "pw",
    "secret",
    "token",
    "key",
    "cred",
    "private",
    "pepper",
    "auth",
    "bearer",
    "apikey",
    "api-key",
    "cookie",
    "session",
)
_NAME_PREFIXES: Final = ("new-", "old-", "current-", "client-")
_REDACTED: Final = "<redacted>"


class Redactor:
    """Removes secrets from a line about to be printed; everything else is left as typed."""

    def __init__(self, argv: Sequence[str], options: frozenset[str]) -> None:
        values = _secret_option_values(argv, options)
        self._values = (
            re.compile("|".join(rf"(?<![^\s'\"=,]){re.escape(v)}(?![^\s'\",])" for v in values))
            if values
            else None
        )

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(_REDACTED, text)
        text = _JOSE.sub(lambda m: _REDACTED if _is_jose(m.group()) else m.group(), text)
        return _OPAQUE.sub(_REDACTED, text)


def _is_jose(text: str) -> bool:
    """A compact JWS or JWE: its header (or, if that was mangled, its payload) is JSON."""
    parts = text.split(".")
    return any(_json_object_segment(part) for part in parts[:2])


def _json_object_segment(segment: str) -> bool:
    try:
        segment_object(segment, "segment")
    except (InvalidEncoding, InvalidJSON):
        return False
    return True


def _secret_option(flag: str, ours: frozenset[str]) -> bool:
    """True when ``flag`` is not one of our options and its name reads like a secret's.

    That is: an abbreviation of one of our passphrase options (``--pass``, ``--p``), or a name
    starting (after ``new-``, ``old-``, ``current-``, ``client-``) with a secret-bearing word:
    ``--passphrase``, ``--password``, ``--secret``, ``--token``, ``--api-key``...
    """
    if flag in ours:
        return False
    name = flag.lstrip("-").lower().replace("_", "-")
    if not name:
        return False
    if any(o.lstrip("-").startswith(name) for o in ours if "passphrase" in o):
        return True
    for prefix in _NAME_PREFIXES:
        name = name.removeprefix(prefix)
    return name.startswith(_SECRET_STEMS)


def _secret_option_values(argv: Sequence[str], ours: frozenset[str]) -> list[str]:
    """The values given to secret-looking options: ``--secret=VALUE`` or ``--secret VALUE``."""
    values: list[str] = []
    for index, item in enumerate(argv):
        if not item.startswith("-") or item in ("-", "--"):
            continue
        flag, sep, value = item.partition("=")
        if not _secret_option(flag, ours):
            continue
        if not sep and index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            value = argv[index + 1]
        if value:
            values.append(value)
    return sorted(set(values), key=len, reverse=True)


def option_strings(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every option string of ``parser`` and its sub-commands (``--keys``, ``--help``...)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= option_strings(child)
    return frozenset(found)


def one_line(text: str) -> str:
    """Messages are printed on one line, whatever a backend put in them."""
    return " ".join(text.split())
