#!/usr/bin/env python3
"""Check a built wheel and sdist: the licence file is inside both and named in the metadata.

python tools/check_dist.py dist/tokensmith-X-py3-none-any.whl dist/tokensmith-X.tar.gz
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(wheel: Path, sdist: Path) -> list[str]:
    """The problems found (empty when all is well)."""
    problems: list[str] = []
    licence = (ROOT / "LICENSE").read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        if not shipped or archive.read(shipped[0]) != licence:
            problems.append(f"{wheel.name}: LICENSE missing from .dist-info/licenses/")
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))
        if headers.get("License-Expression") != "Apache-2.0":
            problems.append(f"{wheel.name}: License-Expression is not Apache-2.0")
        if "LICENSE" not in (headers.get_all("License-File") or []):
            problems.append(f"{wheel.name}: no License-File: LICENSE in the metadata")
        for url in headers.get_all("Project-URL") or []:
            if ".invalid" in url:
                problems.append(f"{wheel.name}: placeholder project URL {url!r}")
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers()}
        member = members.get("LICENSE")
        handle = archive.extractfile(member) if member is not None else None
        if handle is None or handle.read() != licence:
            problems.append(f"{sdist.name}: LICENSE missing")
    return problems


def main() -> None:
    wheel, sdist = (Path(a) for a in sys.argv[1:3])
    problems = check(wheel, sdist)
    for problem in problems:
        print(f"dist check: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"dist check: {wheel.name} and {sdist.name} carry the licence")


if __name__ == "__main__":
    main()
