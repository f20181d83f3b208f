"""Griffe extension: tokensmith's Sphinx-style docstrings, rendered by mkdocstrings.

The docstrings stay Sphinx-style in the source, which reads well in ``help()`` and IDEs. When
mkdocstrings loads the package, this extension (``mkdocs.yml``: the python handler's
``extensions``) rewrites, for the site only:

- each cross-reference role (``:class:``, ``:meth:``, ``:func:``, ``:mod:``, ``:data:``,
  ``:attr:``, ``:exc:``, ``:obj:``, ``:const:``) into an autorefs link to the object's canonical
  path, resolved as Sphinx does: from the object the docstring belongs to outwards (its members,
  its class, its module, the enclosing packages), then as an absolute path. ``~`` shows only the
  last part, ``title <target>`` shows the title, ``!`` never links. A target that does not
  resolve to a public tokensmith object (the standard library, a framework, a private helper)
  is shown as plain code;
- an RST literal-block marker (a paragraph ending in ``::``) into Markdown;
- private bases (``Frozen``, ``_RemoteBase``, anything defined in a ``_module``) out of
  ``Bases:``: their public members are shown on the class instead, its public bases kept;
- parameters whose name starts with ``_`` out of signatures, and a constructor that needs such
  an argument (``Key.__init__``: not public API) out of the page; a default that names a private
  constant (``rsa_bits=_RSA_DEFAULT_BITS``) shows its value.

tests/docs/test_site.py builds the site and fails on a raw role or a private base left in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from griffe import (
    Alias,
    AliasResolutionError,
    Attribute,
    Class,
    CyclicAliasError,
    Expr,
    Extension,
    Function,
    GriffeLoader,
    Module,
    Object,
)

ROLES = ("class", "meth", "func", "mod", "data", "attr", "exc", "obj", "const")
ROLE = re.compile(rf":(?:py:)?(?:{'|'.join(ROLES)}):`(?P<body>[^`]+)`")
EXPLICIT_TITLE = re.compile(r"(?P<title>.+?)\s*<(?P<target>[^<>]+)>", re.S)
LITERAL_MARKER = re.compile(r"(?m)^(?P<text>.*?)(?P<space>\s?)::$")
UNRESOLVED = (KeyError, AliasResolutionError, CyclicAliasError, ValueError)


def is_private_path(path: str) -> bool:
    """Whether a dotted path goes through a private name (``_x``, not ``__x__``)."""
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in path.split(".")
    )


def walk(obj: Object) -> Iterator[Object]:
    """``obj`` and every object defined inside it (aliases, i.e. imports, are not followed)."""
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            assert isinstance(member, Object)
            yield from walk(member)


def resolve(target: str, scope: Object) -> Object | Alias | None:
    """``target`` as Sphinx would find it from a docstring of ``scope``: from ``scope``
    outwards (members, enclosing class, module, packages), then as an absolute path."""
    here: Object | None = scope
    while here is not None:
        try:
            found: Object | Alias = here[target]
        except UNRESOLVED:
            here = here.parent
        else:
            return found
    try:
        found = scope.modules_collection[target]
    except UNRESOLVED:
        return None
    return found


def link_target(found: Object | Alias) -> str | None:
    """The public path to link ``found`` under: its canonical path, else the path it was found
    under (a public re-export, a member shown on a subclass), else any public alias of it;
    ``None`` for what the reference does not show: an object outside the loaded packages,
    without a public name or without a docstring."""
    try:
        target = found.final_target if isinstance(found, Alias) else found
    except UNRESOLVED:
        return None
    if not target.has_docstrings:
        return None
    for path in (target.path, found.path, *target.aliases):
        if not is_private_path(path):
            return path
    return None


def cross_reference(body: str, scope: Object) -> str:
    """The Markdown for one role's body (``~x.y``, ``title <x.y>``, ``!x``...)."""
    explicit = EXPLICIT_TITLE.fullmatch(body)
    target = (explicit.group("target") if explicit else body).strip()
    no_link = target.startswith("!")
    target = target.lstrip("!~").removesuffix("()")
    if explicit:
        title = explicit.group("title")
    elif body.lstrip("!").startswith("~"):
        title = target.rsplit(".", 1)[-1]
    else:
        title = target.lstrip(".")
    code = f"`{title}`"
    if no_link:
        return code
    found = resolve(target.lstrip("."), scope)
    path = link_target(found) if found is not None else None
    return code if path is None else f"[{code}][{path}]"


def render_docstring(text: str, scope: Object) -> str:
    """The docstring with roles turned into links and ``::`` literal markers into ``:``."""
    text = ROLE.sub(lambda m: cross_reference(m.group("body"), scope), text)

    def literal(match: re.Match[str]) -> str:
        prose = match.group("text")
        return f"{prose}:" if prose.strip() else ""

    return LITERAL_MARKER.sub(literal, text)


def base_class(base: Expr | str, cls: Class) -> Class | None:
    """The class a base expression names, when it is loaded (never the class itself)."""
    path = base.canonical_path if isinstance(base, Expr) else base
    try:
        found = cls.modules_collection[path]
    except UNRESOLVED:
        return None
    try:
        target = found.final_target if isinstance(found, Alias) else found
    except UNRESOLVED:
        return None
    return target if isinstance(target, Class) and target is not cls else None


def is_private_base(base: Expr | str, cls: Class) -> bool:
    path = base.canonical_path if isinstance(base, Expr) else base
    loaded = base_class(base, cls)
    return is_private_path(loaded.path if loaded is not None else path)


def public_bases(cls: Class) -> list[Expr | str]:
    """``cls``'s bases, each private one replaced by its own public bases."""
    kept: list[Expr | str] = []
    for base in cls.bases:
        if not is_private_base(base, cls):
            kept.append(base)
            continue
        hidden = base_class(base, cls)
        if hidden is not None:
            kept.extend(b for b in public_bases(hidden) if b not in kept)
    return kept


def absorbed_members(cls: Class) -> dict[str, Object | Alias]:
    """The public members ``cls`` inherits from its private bases (nearest base first)."""
    found: dict[str, Object | Alias] = {}
    for base in cls.bases:
        hidden = base_class(base, cls)
        if hidden is None or not is_private_base(base, cls):
            continue
        for name, member in {**absorbed_members(hidden), **hidden.members}.items():
            public = not name.startswith("_") or name == "__call__"
            if public and name not in cls.members and name not in found:
                found[name] = member
    return found


def hide_private_bases(cls: Class) -> None:
    for name, member in absorbed_members(cls).items():
        target = member.final_target if isinstance(member, Alias) else member
        cls.set_member(name, Alias(name, target, parent=cls))
    cls.bases = public_bases(cls)


def hide_private_parameters(func: Function) -> None:
    """Drop ``_x`` parameters; show a default that names a private constant by its value."""
    for parameter in [p for p in func.parameters if p.name.startswith("_")]:
        del func.parameters[parameter.name]
    for parameter in func.parameters:
        default = parameter.default
        if isinstance(default, Expr) and is_private_path(str(default)):
            found = resolve(str(default), func)
            value = getattr(found, "value", None) if isinstance(found, Attribute) else None
            if value is not None:
                parameter.default = value


def needs_private_arguments(func: Function) -> bool:
    """Whether calling ``func`` takes a private argument (a ``_x`` parameter without a default,
    or a ``*_args``/``**_kwargs``): then it is not public API, only its optional ones are."""
    return any(p.name.startswith("_") and p.default is None for p in func.parameters)


class SphinxRoles(Extension):
    """Rewrites every docstring of a package once it is loaded (see the module docstring)."""

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        objects = list(walk(pkg))
        for obj in objects:  # first, so that links may name what a class shows as its own
            if isinstance(obj, Class):
                hide_private_bases(obj)
                init = obj.members.get("__init__")
                if isinstance(init, Function) and needs_private_arguments(init):
                    del obj.members["__init__"]
            elif isinstance(obj, Function):
                hide_private_parameters(obj)
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = render_docstring(obj.docstring.value, obj)
