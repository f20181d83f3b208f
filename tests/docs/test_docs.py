"""The docs that are derived from code must match it."""

from __future__ import annotations

import inspect

import tokensmith
from tests.support import ROOT
from tests.support.modules import load_tool
from tokensmith import errors


def test_error_table_is_up_to_date() -> None:
    module = load_tool("gen_error_docs")
    assert (ROOT / "docs" / "errors.md").read_text(encoding="utf-8") == module.render(), (
        "run: .venv/bin/python tools/gen_error_docs.py"
    )


def test_error_codes_are_unique() -> None:
    classes = [getattr(errors, n) for n in errors.__all__]
    codes = [
        c.code for c in classes if inspect.isclass(c) and issubclass(c, errors.TokensmithError)
    ]
    assert len(codes) == len(set(codes))


def test_every_public_name_is_documented() -> None:
    for name in tokensmith.__all__:
        obj = getattr(tokensmith, name)
        if name.startswith("__") or isinstance(obj, (str, frozenset)):
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"
