"""docs/http.md: the Guard example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "http.md"


def test_the_guard_example_runs() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"## One protected resource.*?```python\n(.*?)```", text, re.S)
    assert match is not None
    exec(compile(match.group(1), f"{DOC}:guard", "exec"), {"__name__": "docs_http"})
