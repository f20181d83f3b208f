"""Checks of constructor options: one small function per kind, one message style.

Every option a caller configures (a number of seconds, a count, a flag) is checked when the
object is built, so a mistake is a :class:`~tokensmith.errors.ConfigurationError` naming the
option and its rule, never a ``TypeError`` later in a request. ``bool`` is never a number here
(``True`` is not one second), and neither NaN nor an infinity is a finite number. Each caller
keeps its own bounds; the message always states the whole rule, e.g.
``"leeway must be a finite number of seconds >= 0 and <= 300"``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:  # annotations only: building a TypedDict costs import time
    from typing import TypedDict

    from typing_extensions import Unpack

    class Bounds(TypedDict, total=False):
        """The rule a number must meet: in ``[minimum, maximum]``, above zero when ``positive``,
        finite unless ``finite=False`` (then an infinity, "never", passes; NaN never does)."""

        minimum: float
        maximum: float
        positive: bool
        finite: bool


__all__ = ["flag", "integer", "known", "number", "one_or_many", "seconds"]


def flag(name: str, value: object) -> bool:
    """``value`` if it is ``True`` or ``False`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False")
    return value


def number(name: str, value: object, *, unit: str, **bounds: Unpack[Bounds]) -> float:
    """``value`` as a float if it is an ``int`` or ``float`` (never a ``bool``) within
    ``bounds``; the message names ``unit``."""
    minimum = bounds.get("minimum", -math.inf)
    maximum = bounds.get("maximum", math.inf)
    positive = bounds.get("positive", False)
    finite = bounds.get("finite", True)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or (finite and math.isinf(value))
        or value < minimum
        or value > maximum
        or (positive and value <= 0)
    ):
        kind = "a finite number" if finite else "a number (or an infinity)"
        rule = _rule("> 0" if positive else _bound(">=", minimum), _bound("<=", maximum))
        raise ConfigurationError(f"{name} must be {kind} of {unit}{rule}")
    return float(value)


def seconds(name: str, value: object, **bounds: Unpack[Bounds]) -> float:
    """:func:`number` of seconds: a duration (``positive=True`` or ``minimum=0``) or an instant."""
    return number(name, value, unit="seconds", **bounds)


def integer(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) in ``[minimum, maximum]``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        rule = _rule(_bound(">=", minimum), _bound("<=", maximum))
        raise ConfigurationError(f"{name} must be an int{rule}")
    return value


def one_or_many(
    name: str, value: object, *, item: str = "a string", items: str = "strings"
) -> list[object]:
    """The values of an option that lists them (issuers, algorithms, claim names...).

    One plain ``str`` is that one value, never its characters (``algorithms="HS256"`` is
    ``["HS256"]``); any other collection is its items, in order. ``bytes``, a mapping (whose
    iteration would silently yield its keys) and anything not iterable are refused, naming the
    option and the kind of value it lists. The caller checks the items themselves.
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{name} must be {item} or a collection of {items}")
    return list(value)


def _bound(relation: str, limit: float | None) -> str:
    """``">= 1"``, ``"<= 0.5"``; empty for no limit (``None`` or an infinity)."""
    if limit is None or math.isinf(limit):
        return ""
    shown = str(int(limit)) if float(limit).is_integer() else repr(float(limit))
    return f"{relation} {shown}"


def _rule(*bounds: str) -> str:
    """The bounds that apply, as `` >= 1 and <= 10`` (empty when none does)."""
    given = [bound for bound in bounds if bound]
    return (" " + " and ".join(given)) if given else ""


def known(owner: str, given: Iterable[str], names: Collection[str]) -> None:
    """Refuse option names ``owner`` does not take (``**options`` cannot refuse them itself):
    the message names each one and, when there is one, the known option it most resembles."""
    unknown = sorted(set(given).difference(names))
    if not unknown:
        return
    import difflib  # noqa: PLC0415 - only a mistake gets here

    hints = [
        f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
        for name in unknown
        for close in [difflib.get_close_matches(name, sorted(names), n=1)]
    ]
    raise ConfigurationError(f"unknown {owner} option {', '.join(hints)}")
