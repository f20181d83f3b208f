"""Every Python block of docs/refresh-tokens.md runs, in order, in one namespace."""

from __future__ import annotations

import re

from tests.support import DOCS

PAGE = DOCS / "refresh-tokens.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_refresh_page_code_runs() -> None:
    namespace: dict[str, object] = {"__name__": "docs_refresh_tokens"}
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        if block.startswith("# not run here"):
            compile(block, str(PAGE), "exec")
            continue
        exec(compile(block, str(PAGE), "exec"), namespace)
