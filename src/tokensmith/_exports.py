"""Lazy exports of a package (PEP 562): the one implementation behind ``tokensmith`` and every
group package (``tokensmith.jwks``, ``tokensmith.web``...).

A package lists what it exports in one table, ``{name: module}`` (relative module names, as in
an import statement), and builds ``__all__`` from it. Each name is imported from its module on
first access, so importing the package loads nothing it does not need, and a module whose
optional dependency is missing (``redis``) is loaded only by the names that live in it. The
package also keeps an ``if TYPE_CHECKING:`` block importing the same names (``X as X``) for type
checkers, which cannot see through ``__getattr__``; a test checks that both list the same
names from the same modules.

``dir()`` of the package lists its public names and its dunders, not the helpers its
``__init__`` imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], lazy: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose globals are ``namespace``.

    ``lazy`` maps each lazily imported name to its module, relative to the package
    (``".remote"``, ``".._http"``); ``public`` is the package's ``__all__``. A name found is
    stored in ``namespace``, so ``__getattr__`` runs once per name.
    """
    package: str = namespace["__name__"]
    shown = frozenset(public)

    def attribute(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def listing() -> list[str]:
        dunders = (n for n in namespace if n.startswith("__") and n.endswith("__"))
        return sorted(shown.union(dunders))

    return attribute, listing
