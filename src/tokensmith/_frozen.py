"""Immutable slotted value objects, written out by hand.

The rule: a class ``import tokensmith`` loads (``Key``, ``RotationPolicy``, ``IssuedToken``, the
validator's policy) is written on these bases, or is a ``typing.NamedTuple`` when it is a plain
private row (the algorithm table's; ~0.13 ms each); everything else may use
``@dataclass(frozen=True, slots=True)``. Measured once PyJWT and cryptography's PEM support left
the import (which had loaded ``dataclasses`` anyway): nothing in ``import tokensmith`` loads
``dataclasses`` any more (tests/packaging/test_imports.py keeps it so); the module would add
~1 ms (6-9 ms without ``inspect`` already loaded), and each generated class ~0.6 ms against
~0.015 ms here. On the hot path both forms are the same: reads are slot descriptors either way
(~27 ns); a dataclass builds a 7-field ``IssuedToken`` ~0.2 µs faster (only ``issue_token()``
builds one, and issuing an HS256 token takes ~5 µs) and compares and hashes ~5x faster, which
no hot path does. Subclasses list their fields in ``__slots__`` and set them in ``__init__``
through ``object.__setattr__``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn, SupportsIndex

__all__: list[str] = []


class Frozen:
    """Refuses every attribute assignment and deletion after construction."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")


class Value(Frozen):
    """A frozen object compared, hashed and shown by its fields (like a frozen dataclass)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _repr_fields: ClassVar[tuple[str, ...] | None] = None  # default: every field

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = self._fields if self._repr_fields is None else self._repr_fields
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__name__}({inner})"


# --- read-only JSON containers -----------------------------------------------------------------
# The nested arrays and objects of a verified token's claims and header. A validated-token cache
# hands the same VerifiedToken to every request presenting the token, and a header's checked
# form is shared by every token carrying that header: a value one request could mutate would
# leak into the next. Subclasses of list and dict (not tuples and mapping proxies) so that
# equality with JSON data, isinstance checks and json.dumps keep working; copies (copy, deepcopy,
# pickle) are plain, mutable lists and dicts.


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__}: a verified token's claims are read-only "
        "(copy them first, e.g. copy.deepcopy(dict(token.claims)))"
    )


class ReadOnlyList(list[Any]):
    """A JSON array from a verified token: a ``list`` in every way except that it cannot change."""

    __slots__ = ()

    append = extend = insert = pop = remove = clear = sort = reverse = _read_only
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only

    def __copy__(self) -> list[Any]:
        return list(self)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return list, (list(self),)


class ReadOnlyDict(dict[str, Any]):
    """A JSON object from a verified token: a ``dict`` in every way except that it cannot change."""

    __slots__ = ()

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce_ex__(
        self, protocol: SupportsIndex
    ) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (dict(self),)


def read_only(value: Any) -> Any:
    """``value`` with every array and object in it, at any depth, made read-only.

    Arrays and objects of scalars (the usual ``aud``, ``scp``, ``roles``, ``amr``) are copied
    in one step; only containers holding containers recurse.
    """
    kind = value.__class__
    if kind is list:
        for item in value:
            if item.__class__ is list or item.__class__ is dict:
                return ReadOnlyList([read_only(item) for item in value])
        return ReadOnlyList(value)
    if kind is dict:
        for item in value.values():
            if item.__class__ is list or item.__class__ is dict:
                return ReadOnlyDict({name: read_only(item) for name, item in value.items()})
        return ReadOnlyDict(value)
    return value


def read_only_members(members: dict[str, Any]) -> dict[str, Any]:
    """Make the nested values of a parsed JSON object read-only, in place; returns it."""
    for name, value in members.items():
        kind = value.__class__
        if kind is list or kind is dict:
            members[name] = read_only(value)  # a new value for an existing key: iteration holds
    return members
