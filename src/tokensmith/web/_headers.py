"""Reading request headers given in any of the shapes adapters have: a mapping (a dict, a WSGI
``environ``) or ``(name, value)`` pairs (ASGI, :class:`~tokensmith.web.RequestFacts`), names
in any case, values as text or bytes (Latin-1, one character per octet)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from ..errors import MalformedAuthorization

__all__ = ["header_pairs", "header_text", "header_values"]


def header_text(value: str | bytes | bytearray) -> str:
    """A header name or value as text (bytes are Latin-1)."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else value


def header_pairs(headers: object) -> list[tuple[object, object]]:
    """``(name, value)`` pairs of a mapping or an ASGI-style list; anything else is refused."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    if isinstance(headers, str | bytes | bytearray) or not isinstance(headers, Iterable):
        raise MalformedAuthorization("the request headers are not names and values")
    pairs = list(headers)
    if not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise MalformedAuthorization("the request headers are not names and values")
    return [(name, value) for name, value in pairs]


def header_values(headers: object, names: Collection[str]) -> list[str]:
    """Every value of the headers called one of ``names`` (lower case, WSGI spellings
    included), in order; a multi-valued container counts each of its values."""
    values: list[str] = []
    for name, value in header_pairs(headers):
        if not isinstance(name, str | bytes | bytearray):
            continue
        if header_text(name).lower() not in names:
            continue
        if isinstance(value, str | bytes | bytearray):
            values.append(header_text(value))
        elif isinstance(value, list | tuple):  # multi-valued header containers
            values.extend(header_text(v) for v in value if isinstance(v, str | bytes | bytearray))
        else:
            raise MalformedAuthorization(f"the {header_text(name)} header value is not text")
    return values
