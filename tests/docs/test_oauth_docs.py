"""Every Python block of the OAuth docs pages runs, in order, in one namespace per page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import DOCS

PAGES = sorted(DOCS.glob("oauth-*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_there_are_pages() -> None:
    assert {p.name for p in PAGES} >= {
        "oauth-access-tokens.md",
        "oauth-authorization-code.md",
        "oauth-client-assertions.md",
        "oauth-client-credentials.md",
        "oauth-endpoints.md",
        "oauth-id-tokens.md",
        "oauth-spa.md",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_code_runs(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        if block.startswith("# not run here"):
            compile(block, str(page), "exec")
            continue
        exec(compile(block, str(page), "exec"), namespace)
