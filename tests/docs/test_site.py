"""The built docs site: docstrings render (tools/griffe_sphinx.py), and tools/check_site.py
catches what a reader would see go wrong (raw roles, private bases, third-party assets, error
codes missing from search, an empty sitemap, no changelog).

Building the site needs the ``docs`` dependency group: the tests that build are skipped in the
suite's clean virtualenvs, where tools/run.py has already built the site and checked it with
the same tool; the checker's own tests run everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.modules import load_tool

check_site = load_tool("check_site")

needs_docs_tools = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("griffe") is None,
    reason="no docs group here: tools/run.py builds the site and runs tools/check_site.py",
)


# --- the checker -------------------------------------------------------------------------------


def test_a_raw_role_is_found_in_text_and_in_code() -> None:
    assert check_site.raw_roles("<p>see :class:<code>KeySet</code></p>")
    assert check_site.raw_roles("<p>see :meth:`rotate`</p>")
    assert not check_site.raw_roles('<p>see <a href="#k"><code>KeySet</code></a>: a class</p>')
    assert not check_site.raw_roles("<p><code>:memory:</code> is refused</p>")


def test_a_private_base_is_found_by_name_or_by_path() -> None:
    by_title = '<p>Bases: <code><span title="tokensmith._frozen.Frozen">Frozen</span></code></p>'
    by_name = "<p>Bases: <code>_RemoteBase</code></p>"
    public = (
        '<p>Bases: <code><a href="#tokensmith.errors.TokenError">TokenError</a></code>, '
        '<code><span title="typing.Protocol">Protocol</span></code></p>'
    )
    assert check_site.private_bases(by_title) == ["Bases: Frozen"]
    assert check_site.private_bases(by_name) == ["Bases: _RemoteBase"]
    assert check_site.private_bases(public) == []


def test_third_party_assets_are_found_and_links_are_not() -> None:
    page = """
        <link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
        <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
        <script src="//cdn.example.net/x.js"></script>
        <img alt="" src="https://img.example.net/a.png">
        <style>@import url("https://fonts.example.net/f.css");</style>
        <link rel="canonical" href="https://docs.example.org/page/">
        <link rel="stylesheet" href="../assets/main.css">
        <a href="https://www.rfc-editor.org/rfc/rfc6750">RFC 6750</a>
    """
    assert check_site.third_party_assets(page) == [
        "https://fonts.gstatic.com",
        "https://fonts.googleapis.com/css?family=Roboto",
        "//cdn.example.net/x.js",
        "https://img.example.net/a.png",
        "https://fonts.example.net/f.css",
    ]
    assert check_site.third_party_assets("a{background:url(https://x.example/i.png)}", css=True)


def _site(tmp_path: Path, *, sitemap_locs: int, index_text: str) -> Path:
    (tmp_path / "search").mkdir(parents=True)
    (tmp_path / "changelog").mkdir()
    (tmp_path / "changelog" / "index.html").write_text("<p>changes</p>")
    (tmp_path / "index.html").write_text("<p>home</p>")
    docs = [{"location": "errors/", "title": "Error codes", "text": index_text}]
    (tmp_path / "search" / "search_index.json").write_text(json.dumps({"docs": docs}))
    locs = "".join(f"<url><loc>http://h/{n}/</loc></url>" for n in range(sitemap_locs))
    (tmp_path / "sitemap.xml").write_text(f"<urlset>{locs}</urlset>")
    return tmp_path


def test_a_whole_site_is_checked(tmp_path: Path) -> None:
    good = _site(tmp_path / "good", sitemap_locs=2, index_text="<code>invalid_audience</code>")
    assert check_site.check(good, codes=["invalid_audience"]) == []
    bad = _site(tmp_path / "bad", sitemap_locs=0, index_text="invalid_audiences")
    (bad / "changelog" / "index.html").unlink()
    assert check_site.check(bad, codes=["invalid_audience"]) == [
        "search index: no 'invalid_audience'",
        "sitemap.xml lists 0 pages of 1 (is site_url set?)",
        "no changelog page",
    ]


def test_every_error_code_is_checked() -> None:
    codes = check_site.error_codes()
    assert {"insufficient_scope", "invalid_audience", "backend_unavailable"} <= set(codes)


# --- the griffe extension ----------------------------------------------------------------------

PACKAGE = {
    "__init__.py": '''
        """The package. :class:`~demo.api.Public` and :mod:`demo.api`."""
        from .api import Public as Public
    ''',
    "_base.py": '''
        class _Hidden:
            """A private base."""

            def shown(self) -> None:
                """A public method inherited from a private base."""

            def _kept_private(self) -> None:
                """Private."""
    ''',
    "api.py": '''
        """Uses :class:`Public`, :func:`~demo.api.helper`, :class:`!Public`,
        :class:`the thing <demo.api.Public>`, :class:`ssl.SSLContext`, :func:`_private`
        and :meth:`Public.shown`.

        An example::

            Public()
        """

        from ._base import _Hidden

        _DEFAULT = 5


        class Public(_Hidden):
            """Call :meth:`method`; :exc:`~demo.errors.Oops` when it fails."""

            def __init__(self, size: int = 1, _secret: object = None) -> None:
                """Public constructor."""

            def method(self, _depth: int = 0) -> None:
                """Sibling of :meth:`shown`."""


        class Built:
            """Made by :func:`helper`, never by hand."""

            def __init__(self, a: int, _material: object) -> None:
                """Not public API."""


        def helper(size: int = _DEFAULT) -> Built:
            """Build one (see :class:`Built`)."""
            return Built(size, None)


        def _private() -> None:
            """Private."""
    ''',
    "errors.py": '''
        class Oops(Exception):
            """It failed."""
    ''',
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    griffe = pytest.importorskip("griffe")
    root = tmp_path_factory.mktemp("griffe")
    (root / "demo").mkdir()
    for name, text in PACKAGE.items():
        (root / "demo" / name).write_text(textwrap.dedent(text).lstrip())
    extension = load_tool("griffe_sphinx").SphinxRoles
    return griffe.load("demo", search_paths=[root], extensions=griffe.load_extensions(extension))


@needs_docs_tools
def test_roles_become_links_resolved_from_the_docstring_s_object(demo: Any) -> None:
    module = demo["api"].docstring.value
    assert "[`Public`][demo.api.Public]" in module
    assert "[`helper`][demo.api.helper]" in module
    assert "`Public`," in module.replace("[`Public`]", "")  # ! never links
    assert "[`the thing`][demo.api.Public]" in module
    assert "`ssl.SSLContext`" in module and "[`ssl.SSLContext`]" not in module
    assert "`_private`" in module and "[`_private`]" not in module  # private: plain code
    assert "[`Public.shown`][demo.api.Public.shown]" in module  # shown on the class
    assert "::" not in module and "An example:\n" in module
    public = demo["api.Public"].docstring.value
    assert "[`method`][demo.api.Public.method]" in public
    assert "[`Oops`][demo.errors.Oops]" in public
    assert "[`shown`][demo.api.Public.shown]" in demo["api.Public.method"].docstring.value
    assert "[`Built`][demo.api.Built]" in demo["api.helper"].docstring.value
    assert "[`Public`][demo.api.Public]" in demo.docstring.value
    assert "[`demo.api`][demo.api]" in demo.docstring.value


@needs_docs_tools
def test_private_bases_are_hidden_and_their_public_members_shown(demo: Any) -> None:
    public = demo["api.Public"]
    assert public.bases == []
    assert "shown" in public.members and "_kept_private" not in public.members


@needs_docs_tools
def test_private_parameters_and_constructors_are_hidden(demo: Any) -> None:
    public = demo["api.Public"]
    assert [p.name for p in public.members["__init__"].parameters] == ["self", "size"]
    assert [p.name for p in public.members["method"].parameters] == ["self"]
    assert "__init__" not in demo["api.Built"].members
    assert str(demo["api.helper"].parameters["size"].default) == "5"


# --- the real site -----------------------------------------------------------------------------


@needs_docs_tools
@pytest.mark.slow
def test_the_site_builds_strictly_and_passes_the_checks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build: list[str | Path] = [sys.executable, "-m", "mkdocs", "build", "--strict"]  # no --quiet
    build += ["--site-dir", site]
    done = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert check_site.check(site) == []
