#!/usr/bin/env python3
"""The import graph between tokensmith's own modules, read from the source with ``ast``.

    python3 tools/import_graph.py            # summary: modules, edges, cycles, fan-in/out
    python3 tools/import_graph.py --edges    # every edge, one a line: ``a -> b``
    python3 tools/import_graph.py --private  # private names imported across modules

An edge is *eager* when the import runs as the importing module loads (module level, outside
``if TYPE_CHECKING:``), *lazy* when it sits inside a function, and *typing* under
``TYPE_CHECKING``. Cycles are counted on the eager edges (those decide import order) and on
all edges (modules a newcomer must read as one). Nothing is imported; the files are parsed.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "tokensmith"


def module_name(path: Path) -> str:
    """``src/tokensmith/stores/file.py`` → ``tokensmith.stores.file``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(importer: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module a ``from ... import`` names."""
    if level == 0:
        return target or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[str, ast.ImportFrom | ast.Import]]:
    """Every import with its kind: eager, lazy (in a function) or typing."""
    found: list[tuple[str, ast.ImportFrom | ast.Import]] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((kind, child))
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.body:
                    visit(ast.Module(body=[inner], type_ignores=[]), "typing")
                for inner in child.orelse:
                    visit(ast.Module(body=[inner], type_ignores=[]), kind)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "typing" if kind == "typing" else "lazy")
            else:
                visit(child, kind)

    visit(tree, "eager")
    return found


def known_module(name: str, modules: set[str]) -> str | None:
    """The longest tokensmith module that ``name`` is or lies inside."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def collect() -> tuple[set[str], list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(modules, edges as (importer, imported, kind), private names as (importer, module, name))."""
    files = sorted(ROOT.joinpath(PACKAGE).rglob("*.py"))
    modules = {module_name(f) for f in files}
    edges: set[tuple[str, str, str]] = set()
    private: set[tuple[str, str, str]] = set()
    for path in files:
        importer = module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for kind, node in _imports(tree):
            if isinstance(node, ast.Import):
                pairs = [(alias.name, None) for alias in node.names]
            else:
                base = resolve(importer, is_package, node.level, node.module)
                # ``from . import x`` names a submodule when x is one, else a name in base.
                pairs = [
                    (f"{base}.{a.name}", None) if f"{base}.{a.name}" in modules else (base, a.name)
                    for a in node.names
                ]
            for target, name in pairs:
                hit = known_module(target, modules)
                if not hit or hit == importer:
                    continue
                edges.add((importer, hit, kind))
                if name and name.startswith("_") and not name.startswith("__"):
                    private.add((importer, hit, name))
    return modules, sorted(edges), sorted(private)


def cycles(
    modules: set[str], edges: list[tuple[str, str, str]], kinds: frozenset[str]
) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), on the edges of the
    given kinds, leaving out a package importing its own submodules."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b, kind in edges:
        if kind in kinds and not b.startswith(a + "."):
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(modules):
        if v not in index:
            strong(v)
    return found


def summary(modules: set[str], edges: list[tuple[str, str, str]]) -> None:
    kinds: dict[str, int] = defaultdict(int)
    fan_in: dict[str, int] = defaultdict(int)
    fan_out: dict[str, int] = defaultdict(int)
    for a, b, kind in edges:
        kinds[kind] += 1
        if kind == "eager":
            fan_in[b] += 1
            fan_out[a] += 1
    print(f"modules: {len(modules)}")
    print("edges: " + ", ".join(f"{k} {kinds[k]}" for k in ("eager", "lazy", "typing")))
    for label, kinds in (("eager", {"eager"}), ("all", {"eager", "lazy", "typing"})):
        found = cycles(modules, edges, frozenset(kinds))
        print(f"import cycles, {label} edges: {len(found)}")
        for component in found:
            print("  cycle: " + " <-> ".join(component))
    top_in = sorted(fan_in.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    top_out = sorted(fan_out.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    print("most imported (eager): " + ", ".join(f"{m} {n}" for m, n in top_in))
    print("most importing (eager): " + ", ".join(f"{m} {n}" for m, n in top_out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="list every edge")
    parser.add_argument("--private", action="store_true", help="private names across modules")
    args = parser.parse_args(argv)
    modules, edges, private = collect()
    if args.edges:
        for a, b, kind in edges:
            print(f"{a} -> {b}" + ("" if kind == "eager" else f"  ({kind})"))
    elif args.private:
        for importer, module, name in private:
            print(f"{importer}: {name} from {module}")
    else:
        summary(modules, edges)
        print(f"private names imported across modules: {len(private)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
