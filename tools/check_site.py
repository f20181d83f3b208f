#!/usr/bin/env python3
"""Check a built docs site (``mkdocs build``): what a reader gets, not what the sources say.

python tools/check_site.py .venv/site

- no raw Sphinx role (``:class:``, ``:meth:``...) left in any page: docstrings render
  (tools/griffe_sphinx.py turns the roles into links);
- no ``Bases:`` line naming a private class (``Frozen``, ``_RemoteBase``, a ``_module``'s);
- no asset (stylesheet, script, font, image, preconnect) fetched from another host when a page
  is viewed: the site works offline and tells no third party who reads it;
- the search index holds every error code (a reader searching ``invalid_audience`` finds it);
- the sitemap lists every page, and the changelog is a page of the site.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`?")
TAG = re.compile(r"<[^>]+>")
BASES = re.compile(r"Bases:\s*(?P<bases>.*?)</p>", re.S)
NAMED = re.compile(r'(?:title|href)="#?(?P<path>[^"]+)"')
# elements that load what they name by themselves (a plain <a href> is a link, not a load)
LOADING = re.compile(
    r"<(?P<tag>link|script|img|source|iframe|embed|object|video|audio)\b(?P<attrs>[^>]*)>"
)
URL_ATTR = re.compile(r"\b(?:src|href|data|srcset|poster)=\"(?P<url>(?:https?:)?//[^\"]+)\"")
REL = re.compile(r"\brel=\"(?P<rel>[^\"]*)\"")
NOT_LOADED = frozenset({"canonical", "alternate", "author", "license", "next", "prev", "search"})
CSS_URL = re.compile(r"(?:@import\s+|url\()\s*['\"]?(?P<url>(?:https?:)?//[^'\")\s]+)")


def text_of(page_html: str) -> str:
    """What a reader sees: the page without tags, code and ``<pre>`` contents included."""
    return html.unescape(TAG.sub("", page_html))


def raw_roles(page_html: str) -> list[str]:
    """Sphinx roles a reader would see verbatim."""
    text = text_of(page_html)
    return [text[max(m.start() - 30, 0) : m.end() + 30].strip() for m in ROLE.finditer(text)]


def is_private_name(path: str) -> bool:
    return any(p.startswith("_") and not p.endswith("__") for p in re.split(r"[.#/]", path))


def private_bases(page_html: str) -> list[str]:
    """The ``Bases:`` lines that name a private class (by its name or its full path)."""
    found = []
    for match in BASES.finditer(page_html):
        bases = match.group("bases")
        names = [n.strip() for n in text_of(bases).split(",")]
        paths = [m.group("path") for m in NAMED.finditer(bases)]
        if any(is_private_name(name) for name in [*names, *paths]):
            found.append("Bases: " + ", ".join(names))
    return found


def third_party_assets(source: str, *, css: bool = False) -> list[str]:
    """URLs on other hosts that a page or stylesheet would load by itself."""
    if css:
        return [m.group("url") for m in CSS_URL.finditer(source)]
    found = []
    for element in LOADING.finditer(source):
        attrs = element.group("attrs")
        rel = REL.search(attrs)
        if element.group("tag") == "link" and rel and set(rel.group("rel").split()) <= NOT_LOADED:
            continue
        found += [m.group("url") for m in URL_ATTR.finditer(attrs)]
    styles = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", source, re.S))
    return found + third_party_assets(styles, css=True)


def missing_search_terms(site: Path, terms: Iterable[str]) -> list[str]:
    """The terms no page of the search index contains as a word."""
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return list(terms)
    index = json.loads(path.read_text(encoding="utf-8"))
    text = "\n".join(f"{doc['title']}\n{doc['text']}" for doc in index["docs"])
    return [term for term in terms if not re.search(rf"(?<![\w]){re.escape(term)}(?![\w])", text)]


def sitemap_problems(site: Path) -> list[str]:
    path = site / "sitemap.xml"
    sitemap = path.read_text(encoding="utf-8") if path.is_file() else ""
    listed = len(re.findall(r"<loc>", sitemap))
    pages = len(list(site.glob("**/index.html")))
    if listed < pages:
        return [f"sitemap.xml lists {listed} pages of {pages} (is site_url set?)"]
    return []


def error_codes() -> list[str]:
    """Every error code tokensmith documents (docs/errors.md's table is generated from them)."""
    from tokensmith import errors  # noqa: PLC0415 - only this check needs the package

    classes = (getattr(errors, name) for name in errors.__all__)
    return sorted({c.code for c in classes if isinstance(c, type) and hasattr(c, "code")})


def check(site: Path, *, codes: Iterable[str] | None = None) -> list[str]:
    """The problems found in the site built at ``site`` (empty when all is well)."""
    problems: list[str] = []
    for page in sorted(site.glob("**/*.html")):
        where = page.relative_to(site)
        source = page.read_text(encoding="utf-8")
        problems += [f"{where}: raw role: {r!r}" for r in raw_roles(source)]
        problems += [f"{where}: private base: {b!r}" for b in private_bases(source)]
        problems += [f"{where}: loads {u}" for u in third_party_assets(source)]
    for sheet in sorted(site.glob("**/*.css")):
        urls = third_party_assets(sheet.read_text(encoding="utf-8"), css=True)
        problems += [f"{sheet.relative_to(site)}: loads {u}" for u in urls]
    searched = missing_search_terms(site, error_codes() if codes is None else codes)
    problems += [f"search index: no {term!r}" for term in searched]
    problems += sitemap_problems(site)
    if not (site / "changelog" / "index.html").is_file():
        problems.append("no changelog page")
    return problems


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} SITE_DIR")
    problems = check(Path(sys.argv[1]))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problem(s) in the built site")
    print("site ok: roles rendered, no private bases, no third-party assets, codes searchable")


if __name__ == "__main__":
    main()
