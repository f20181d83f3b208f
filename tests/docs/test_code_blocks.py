"""Every Python block of README.md and docs/ runs as written: per page, in page order, in one
namespace, in a temporary working directory, with loopback services standing in for the ones
the page names. A block marked ``<!-- fragment: why -->`` is only compiled (tests/support/docs.py).

What stands in for what a page names (``SETUP``, keyed by page):

* ``127.0.0.1:6379`` (a Redis server), on any page: a private redis-server on a free loopback
  port, flushed; the port is the only thing rewritten in the page's code;
* environment variables a page says your deployment provides (``TOKENSMITH_KEYS``,
  ``REFRESH_PEPPER``), and the files of examples/ a page says to use (on ``sys.path``).

Pages whose blocks are the files of a project run as that project, served on loopback, in their
own tests (``SERVED``); the others' tests check what a page's app answers, after this runner's
helper ran the page (tests/docs/test_frameworks_docs.py, test_frameworks_wsgi_docs.py).
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import EXAMPLES, ROOT
from tests.support.docs import Block, blocks, page_module, pages, run_blocks
from tests.support.modules import load_example
from tokensmith import RotationPolicy

SERVED = {
    "docs/frameworks/django.md": "tests/docs/test_frameworks_wsgi_docs.py",
    "docs/frameworks/drf.md": "tests/docs/test_frameworks_wsgi_docs.py",
    "docs/frameworks/mcp.md": "tests/docs/test_mcp_docs.py",  # needs mcp 2, skipped without
}
"""Pages whose blocks are a project's files: written out and served by the test named."""

EXPECTED_OUTPUT = {
    "docs/migration.md": [
        "user-1 ['orders:read']",
        "missing_claim invalid_token 401",
        '401 Bearer realm="orders-api", scope="orders:read"',
        "\n200 \n",
        '401 Bearer realm="orders-api", error="invalid_token"\n',
        '403 Bearer realm="orders-api", error="insufficient_scope"\n',
        "42 None",
        "claim_check_failed",
        "user-1 ['orders:read', 'orders:write']",
        "insufficient_scope 403",
    ],
    "docs/faq.md": ["invalid_audience 401", "\nTrue\n", "16 True"],
    "docs/remote-jwks.md": [
        "user-1",
        "the compromised key no longer verifies",
        "JWKS key #1 ('ec-1'): the JWK has no 'alg' member",
        "unknown remote JWKS option 'max_stael' (did you mean 'max_stale'?)",
    ],
}
"""What a page's blocks print, where the page says what they print."""

REDIS = "127.0.0.1:6379"


def _keystore_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """howto-keystore.md: ``examples/env_keystore.py`` importable, ``TOKENSMITH_KEYS`` set."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delitem(sys.modules, "env_keystore", raising=False)
    env_keystore = load_example("env_keystore")
    monkeypatch.setenv(
        "TOKENSMITH_KEYS", env_keystore.provision(RotationPolicy(), start=time.time())
    )


def _refresh_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """refresh-tokens.md: the pepper your deployment provides, hex-encoded."""
    monkeypatch.setenv("REFRESH_PEPPER", secrets.token_hex(32))


SETUP: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "docs/howto-keystore.md": _keystore_page,
    "docs/refresh-tokens.md": _refresh_page,
}
"""What a page says its reader has (files, environment) beyond a Redis server."""


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


RUN = [page for page in pages() if _name(page) not in SERVED]


def _param(page: Path) -> object:
    needs_redis = REDIS in page.read_text(encoding="utf-8")
    return pytest.param(page, id=_name(page), marks=[pytest.mark.redis] if needs_redis else [])


def _services(page: Path, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Start what the page talks to; the rewrite that points its code there."""
    if REDIS not in page.read_text(encoding="utf-8"):
        return str
    port = request.getfixturevalue("redis_server").port
    request.getfixturevalue("redis_url")  # flushed before and after
    return lambda code: code.replace(REDIS, f"127.0.0.1:{port}")


@pytest.mark.parametrize("page", [_param(page) for page in RUN])
def test_page_runs(
    page: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = blocks(page)
    rewrite = _services(page, request)
    SETUP.get(_name(page), lambda _: None)(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with page_module(page) as module:
        ran = run_blocks(found, module.__dict__, rewrite)
    assert ran, f"{_name(page)}: every block is a fragment"
    out = capsys.readouterr().out
    for expected in EXPECTED_OUTPUT.get(_name(page), []):
        assert expected in out


def test_every_page_with_code_is_run_here_or_served() -> None:
    names = {_name(page) for page in pages()}
    assert set(SERVED) <= names
    assert {_name(page) for page in RUN} | set(SERVED) == names
    assert "README.md" in names and "docs/quickstart.md" in names
    assert set(SETUP) <= names
    for test in set(SERVED.values()):
        assert (ROOT / test).is_file()


def test_fragments_are_rare_and_say_why() -> None:
    every: list[Block] = [block for page in pages() for block in blocks(page)]
    fragments = [block for block in every if block.fragment is not None]
    for block in fragments:
        assert len(block.fragment or "") >= 10, f"{block.where}: say why it cannot run"
    assert len(fragments) * 10 <= len(every), [b.where for b in fragments]


def test_a_fragment_marker_needs_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- fragment: -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="must say why"):
        blocks(page)


def test_a_block_the_runner_would_miss_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("* a list\n\n    ```python\n    x = 1\n    ```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not understood"):
        blocks(page)
