"""Reading one parameter of an OAuth request, whatever the client sent.

Web frameworks hand over a request's form (or query, or JSON body) as a mapping of names to a
string, to a list of strings (``parse_qs``) or as a multi-dict (``getlist``); a JSON body can
put any JSON value there. :func:`request_param` turns all of that into one string or ``None``,
or refuses with :class:`~tokensmith.errors.InvalidRequest`, so that no endpoint helper ever
meets a list, a number or a lone surrogate where it expects text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._text import is_unicode
from ..errors import InvalidRequest

__all__ = ["MAX_PARAM_LENGTH", "request_param"]

MAX_PARAM_LENGTH: Final = 64 * 1024
"""Longest parameter value accepted (characters); far beyond any token tokensmith accepts."""


def request_param(params: object, name: str, *, required: bool = False) -> str | None:
    """The value of parameter ``name``: one non-empty string, or ``None`` when absent.

    ``params`` is the request's parsed form as your framework gives it: a mapping of names to
    strings, or to lists of strings, or a multi-dict with ``getlist`` (Werkzeug, Starlette,
    Django). RFC 6749 §3.1 rules apply: a parameter sent without a value counts as omitted
    (``None``, or :class:`~tokensmith.errors.InvalidRequest` when ``required``), and one sent
    more than once is refused. A value that is not text (a number, an object, bytes), is longer
    than :data:`MAX_PARAM_LENGTH` or is not valid Unicode (a lone surrogate from a JSON body)
    is refused too. Messages name the parameter, never its value.
    """
    values = _values(params, name)
    if len(values) > 1:
        raise InvalidRequest(f"the {name} parameter is repeated")
    value = values[0] if values else None
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"the {name} parameter is missing")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"the {name} parameter is not text")
    if len(value) > MAX_PARAM_LENGTH:
        raise InvalidRequest(f"the {name} parameter is too long")
    if not value.isascii() and not is_unicode(value):
        raise InvalidRequest(f"the {name} parameter is not valid text")
    return value


def _values(params: object, name: str) -> list[object]:
    """Every value sent for ``name`` (an empty list when it was not sent)."""
    if not isinstance(params, Mapping):
        raise InvalidRequest("the request parameters are not a set of names and values")
    getlist = getattr(params, "getlist", None)
    raw: object = getlist(name) if callable(getlist) else params.get(name)
    if isinstance(raw, list | tuple):
        return list(raw)
    return [] if raw is None else [raw]
