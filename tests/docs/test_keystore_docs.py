"""The runnable example of docs/howto-keystore.md (the ``SettledKeySource`` section) runs as
written, and the store it shows keeps the promise the contract suite checks."""

from __future__ import annotations

import re

from tests.support import DOCS
from tokensmith.testing import FakeClock

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
SECTION = "## Optional: answer cache hits without being asked"


def _section_blocks() -> list[str]:
    page = (DOCS / "howto-keystore.md").read_text(encoding="utf-8")
    start = page.index(SECTION)
    end = page.find("\n## ", start + len(SECTION))
    return BLOCK.findall(page[start:end])


def test_the_settled_keyset_example_runs() -> None:
    blocks = _section_blocks()
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_howto_keystore"}
    for block in blocks:
        exec(compile(block, "howto-keystore.md", "exec"), namespace)


def test_the_example_store_asks_to_be_asked_once_a_reload_is_due() -> None:
    namespace: dict[str, object] = {"__name__": "docs_howto_keystore"}
    for block in _section_blocks():
        exec(compile(block, "howto-keystore.md", "exec"), namespace)
    clock = FakeClock()
    keys = namespace["keys"]
    store = namespace["ReloadingKeyStore"](lambda: keys, interval=60, clock=clock)  # type: ignore[operator]
    assert store.settled_keyset(clock()) is keys
    clock.advance(60)
    assert store.settled_keyset(clock()) is None
