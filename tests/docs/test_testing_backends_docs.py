"""docs/testing-backends.md: the worked example (a revocation list on a dict) passes the
revocation contract exactly as the page shows it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import DOCS
from tokensmith.testing import RevocationListContract

PAGE = DOCS / "testing-backends.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _kv_class() -> Any:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    example = next(b for b in blocks if b.startswith("# myapp/revocations.py"))
    namespace: dict[str, Any] = {"__name__": "myapp_revocations"}
    exec(compile(example, str(PAGE), "exec"), namespace)
    return namespace["KVRevocationList"]


SCENARIOS = sorted(name for name in dir(RevocationListContract) if name.startswith("test_"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_worked_example_passes_the_contract(scenario: str) -> None:
    kv = _kv_class()

    class Suite(RevocationListContract):
        def make_sync_revocation_list(self, clock: Any) -> Any:
            return kv({}, clock=clock)

    getattr(Suite(), scenario)()
