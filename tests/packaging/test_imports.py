"""``import tokensmith`` loads the core only; everything else arrives on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tokensmith

_DEFERRED = (
    "sqlite3",
    "http.client",
    "ssl",
    "redis",
    "heapq",
    "secrets",
    "cryptography.hazmat.primitives.hmac",
    "tokensmith.audit",
    "tokensmith.cache",
    "tokensmith.cli",
    "tokensmith.web.bearer",
    "tokensmith.oauth",
    "tokensmith.refresh",
    "tokensmith.revocation.memory",
    "tokensmith.stores.file",
    "tokensmith.jwks.remote",
)


def _loaded_after(code: str) -> set[str]:
    script = f"import sys; {code}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_import_tokensmith_defers_backends_and_helpers() -> None:
    baseline = _loaded_after("import jwt")
    loaded = _loaded_after("import tokensmith")
    early = [name for name in _DEFERRED if name in loaded and name not in baseline]
    assert early == []


def test_every_public_name_resolves() -> None:
    for name in tokensmith.__all__:
        assert getattr(tokensmith, name) is not None
    from tokensmith import revocation

    assert revocation.MemoryRevocationList is tokensmith.MemoryRevocationList
    with pytest.raises(AttributeError, match="nothing_here"):
        revocation.nothing_here  # noqa: B018
