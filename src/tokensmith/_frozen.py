"""Immutable slotted value objects, written out by hand.

``@dataclass(frozen=True, slots=True)`` generates and compiles its methods when the module is
imported, about a millisecond per class; the few classes ``import tokensmith`` loads use this
instead. Subclasses list their fields in ``__slots__`` and set them in ``__init__`` through
``object.__setattr__`` (construction is rare; reads are plain slot reads).
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

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
