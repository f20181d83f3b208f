"""Load a repository file that is not on the import path (examples/, tools/) as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.support import EXAMPLES, ROOT


def load_file(path: Path, module_name: str) -> ModuleType:
    """Import ``path`` once as ``module_name`` (registered in ``sys.modules``, so dataclasses,
    pickling and ``typing.get_type_hints`` see it)."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_example(name: str) -> ModuleType:
    """examples/<name>.py under a private module name."""
    return load_file(EXAMPLES / f"{name}.py", f"_tokensmith_example_{name}")


def load_tool(name: str) -> ModuleType:
    """tools/<name>.py under a private module name."""
    return load_file(ROOT / "tools" / f"{name}.py", f"_tokensmith_tool_{name}")
