"""The Flask, Django and DRF adapters import their framework, and only theirs, when they are
imported themselves; ``tokensmith.integrations`` imports none (fresh interpreters)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FRAMEWORKS = ("flask", "werkzeug", "django", "rest_framework", "asgiref")


def _frameworks_after(code: str) -> set[str]:
    script = f"import sys, json; {code}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return {m for m in json.loads(done.stdout) if m.split(".")[0] in FRAMEWORKS}


def test_the_integrations_package_imports_no_framework() -> None:
    assert _frameworks_after("import tokensmith, tokensmith.web, tokensmith.integrations") == set()


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [
        ("flask", {"flask", "werkzeug"}),
        ("django", {"django", "asgiref"}),
        ("drf", {"django", "asgiref", "rest_framework"}),
    ],
)
def test_an_adapter_imports_its_own_framework_only(adapter: str, expected: set[str]) -> None:
    loaded = _frameworks_after(f"import tokensmith.integrations.{adapter}")
    assert {m.split(".")[0] for m in loaded} == expected
    assert "rest_framework.views" not in loaded  # DRF's views import the settings' classes
