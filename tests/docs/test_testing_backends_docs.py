"""docs/testing-backends.md: it lists every contract suite tokensmith ships, and the worked
example (a revocation list on a dict) passes the revocation contract exactly as the page shows
it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import DOCS
from tests.support.docs import blocks
from tokensmith import testing
from tokensmith.testing import RevocationListContract

PAGE = DOCS / "testing-backends.md"


def _kv_class() -> Any:
    example = next(b for b in blocks(PAGE) if b.file == "myapp/revocations.py")
    namespace: dict[str, Any] = {"__name__": "myapp_revocations"}
    exec(compile(example.code, example.where, "exec"), namespace)
    return namespace["KVRevocationList"]


def test_the_page_lists_every_contract_suite() -> None:
    table = PAGE.read_text(encoding="utf-8").split("\n## ", 1)[0]
    suites = [name for name in testing.__all__ if name.endswith("Contract")]
    assert len(suites) >= 5
    for suite in suites:
        assert f"| `{suite}` |" in table, suite


SCENARIOS = sorted(name for name in dir(RevocationListContract) if name.startswith("test_"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_worked_example_passes_the_contract(scenario: str) -> None:
    kv = _kv_class()

    class Suite(RevocationListContract):
        def make_sync_revocation_list(self, clock: Any) -> Any:
            return kv({}, clock=clock)

    getattr(Suite(), scenario)()
