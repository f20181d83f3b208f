"""Every Python block of the policy reference and the migration guide runs, in order, in one
namespace per page (the migration example is the node ``jsonwebtoken`` token of issue 13)."""

from __future__ import annotations

import re

import pytest

from tests.support import DOCS

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = ["policy.md", "migration.md"]


@pytest.mark.parametrize("name", PAGES)
def test_page_code_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    page = DOCS / name
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    if name == "migration.md":
        out = capsys.readouterr().out
        assert "user-1 ['orders:read', 'orders:write']" in out
        assert "insufficient_scope 403" in out


def test_migration_is_in_the_navigation() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert "migration.md" in nav
