"""Every Python block of docs/remote-jwks.md runs, in order, in one namespace.

Blocks that need a real issuer start with ``# not run here`` and are only compiled. The page's
loopback examples import ``make_handler`` from ``publishing_example``: the handler block of
docs/publishing.md, loaded here as that module.
"""

from __future__ import annotations

import re
import sys
import types

import pytest

from tests.support import DOCS

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _publishing_example() -> types.ModuleType:
    page = DOCS / "publishing.md"
    (block,) = [b for b in BLOCK.findall(page.read_text(encoding="utf-8")) if "make_handler" in b]
    module = types.ModuleType("publishing_example")
    exec(compile(block, str(page), "exec"), module.__dict__)
    return module


def test_remote_jwks_page_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "publishing_example", _publishing_example())
    page = DOCS / "remote-jwks.md"
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    ran = 0
    namespace: dict[str, object] = {"__name__": "docs_remote_jwks"}
    for block in blocks:
        code = compile(block, str(page), "exec")
        if block.startswith("# not run here"):
            continue
        exec(code, namespace)
        ran += 1
    assert ran >= 4
    out = capsys.readouterr().out
    assert "user-1" in out
    assert "the compromised key no longer verifies" in out
    assert "JWKS key #1 ('ec-1'): the JWK has no 'alg' member" in out
    assert "unknown remote JWKS option 'max_stael' (did you mean 'max_stale'?)" in out
