"""The Python code blocks of the docs pages and the README, and how they run.

A page's ```` ```python ```` blocks run in page order in one namespace, as a reader pasting them
into one script would run them. A block that cannot run as written is marked on the line
before its fence with an HTML comment giving the reason (invisible on the rendered page)::

    <!-- fragment: needs the issuer's real certificate authority -->
    ```python

A fragment is only compiled. A block whose first line names a Python file (``# myapp/x.py``)
is also saved there, under the working directory, for the blocks after it to import, as a
reader following the page would. CONTRIBUTING.md ("Docs") describes the conventions.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import DOCS, ROOT

FENCE = re.compile(
    r"^(?:<!--\s*fragment:(?P<why>[^\n]*?)-->\n)?```python\n(?P<code>.*?)^```[ \t]*$", re.S | re.M
)
ANY_PYTHON_FENCE = re.compile(r"^\s*```\s*(?:py|python|python3|pycon)\b", re.M)
FILE_NAME = re.compile(r"# (?P<path>(?:[\w-]+/)*[\w-]+\.py)\n")


@dataclass(frozen=True)
class Block:
    """One ```` ```python ```` block: where it is, its code, and why it does not run (if so)."""

    page: Path
    line: int
    code: str
    fragment: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def file(self) -> str | None:
        """The file the block says it is (``# myapp/revocations.py``), if any."""
        match = FILE_NAME.match(self.code)
        return match.group("path") if match else None


def pages() -> list[Path]:
    """README.md and every page of docs/ that has a Python block."""
    found = [ROOT / "README.md", *sorted(DOCS.glob("**/*.md"))]
    return [page for page in found if "```python" in page.read_text(encoding="utf-8")]


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks in order. Every Python-looking fence must be a plain, unindented
    ```` ```python ```` one, so that no block escapes the tests."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        why = match.group("why")
        if why is not None and not why.strip():
            raise AssertionError(f"{page}: a fragment marker must say why")
        if match.group("code").startswith("# not run here"):
            raise AssertionError(f"{page}: mark a fragment with <!-- fragment: why --> instead")
        line = text.count("\n", 0, match.start("code"))
        found.append(Block(page, line, match.group("code"), why.strip() if why else None))
    fences = len(ANY_PYTHON_FENCE.findall(text))
    assert fences == len(found), f"{page}: {fences - len(found)} Python block(s) not understood"
    return found


@contextmanager
def page_module(page: Path) -> Iterator[types.ModuleType]:
    """A real module for the page's namespace (dataclasses and pickling look classes up in
    ``sys.modules``), removed afterwards."""
    name = "docs_" + re.sub(r"\W", "_", str(page.relative_to(ROOT).with_suffix("")))
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module
    finally:
        sys.modules.pop(name, None)


def run_blocks(
    found: list[Block], namespace: dict[str, Any], rewrite: Callable[[str], str] = str
) -> int:
    """Run the blocks in order in ``namespace`` (fragments only compiled) in the current working
    directory, which must be a scratch one: file blocks are saved there, and it is put first on
    ``sys.path`` while they run. Returns how many blocks ran.

    ``rewrite`` adapts a block to the test machine (a loopback port for ``6379``) and nothing
    else: what runs is what the page shows."""
    work = Path.cwd()
    sys.path.insert(0, str(work))
    before = set(sys.modules)
    ran = 0
    try:
        for block in found:
            code = rewrite(block.code)
            compiled = compile("\n" * block.line + code, str(block.page), "exec")
            if block.file is not None:
                target = work / block.file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(code, encoding="utf-8")
                importlib.invalidate_caches()
            if block.fragment is None:
                exec(compiled, namespace)
                ran += 1
    finally:
        sys.path.remove(str(work))
        for name in set(sys.modules) - before:  # the page's own modules (myapp...)
            module = sys.modules[name]
            places = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
            if any(str(place).startswith(str(work)) for place in places):
                del sys.modules[name]
    return ran


def run_page(page: Path, rewrite: Callable[[str], str] = str) -> dict[str, Any]:
    """Every block of ``page`` in order in one fresh namespace, in a scratch working directory;
    returns the namespace."""
    previous = Path.cwd()
    with (
        tempfile.TemporaryDirectory(prefix="tokensmith-docs-") as work,
        page_module(page) as module,
    ):
        os.chdir(work)
        try:
            run_blocks(blocks(page), module.__dict__, rewrite)
        finally:
            os.chdir(previous)
        return dict(module.__dict__)
