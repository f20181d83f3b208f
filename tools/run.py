#!/usr/bin/env python3
"""One entry point for a fresh machine that has only python3.

    python3 tools/run.py demo    # set up .venv, install tokensmith, run the end-to-end tour
    python3 tools/run.py test    # every check CI runs: lint, types, docs, build, every Python

``test`` does, in order:

1. ``.venv`` (this interpreter, an editable install with the ``dev`` dependency group):
   ruff, ruff format, mypy --strict (``src``, and ``tests/typecheck``: typed usage of the public
   API whose expected errors prove that options are checked at the call site), mypy on
   ``tests`` (not strict: every body checked, annotations optional), the docs built
   strictly and the built site checked (tools/check_site.py: docstrings rendered, no private
   bases, nothing loaded from another host, error codes searchable, a full sitemap);
2. the sdist and the wheel, built once into ``.venv/dist`` and checked (licence inside both);
3. the whole test suite against the *installed wheel* (never ``src/``) on every CPython that
   the classifiers claim, each in a clean virtualenv of its own (``.venv/py3.X``): the oldest
   with the declared *minimum* versions of the dependencies (``constraints/minimum.txt``) and
   branch coverage checked per module, the others with the newest versions. A claimed Python
   that is not on the machine fails the run.

Everything is installed under ``.venv``; nothing global is touched except, for ``test`` run as
root, Debian's ``redis-server`` when it is missing (the Redis tests talk to a real server and
are never skipped). Extra arguments after ``test`` go to every pytest run (e.g. ``-k remote``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
DIST = VENV / "dist"
MINIMUM = ROOT / "constraints" / "minimum.txt"
PIP_QUIET = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command, echoing it; stop the whole run on failure."""
    print("+", " ".join(str(a) for a in args), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT, env=env)
    if code != 0:
        sys.exit(code)


def _stamp(*extra: str) -> str:
    return ":".join([str((ROOT / "pyproject.toml").stat().st_mtime_ns), *extra])


def ensure_venv(group: str | None) -> None:
    """Create .venv and install the project (editable), with a dependency group if given."""
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    marker = VENV / f".installed-{group or 'base'}"
    if marker.exists() and marker.read_text() == _stamp():
        return
    sh(PY, *PIP_QUIET, "--upgrade", "pip")  # dependency groups need pip >= 25.1
    sh(PY, *PIP_QUIET, "-e", ".", *(("--group", group) if group else ()))
    marker.write_text(_stamp())


def ensure_redis() -> None:
    """The Redis tests need real redis-server and redis-cli binaries (the cluster fixture joins
    three servers with ``redis-cli --cluster create``); install Debian's when missing."""
    if shutil.which("redis-server") and shutil.which("redis-cli"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "redis-server", "redis-tools")
        return
    sys.exit(
        "redis-server or redis-cli is missing: install them "
        "(e.g. apt-get install redis-server redis-tools) and retry"
    )


def claimed_pythons() -> list[str]:
    """The CPython versions the classifiers claim, e.g. ['3.11', '3.12', '3.13']."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pattern = re.compile(r"Programming Language :: Python :: (3\.\d+)$")
    found = [m.group(1) for c in meta["classifiers"] if (m := pattern.match(c))]
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def find_python(version: str) -> Path | None:
    """An interpreter for ``version`` that really runs: this one, a pyenv install, or
    ``python3.X`` on PATH (a pyenv shim there may exist and still refuse to run)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.executable)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    on_path = shutil.which(f"python{version}")
    candidates += [Path(on_path)] if on_path else []
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in candidates:
        done = subprocess.run([candidate, "-c", probe], check=False, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    return None


def build_dist() -> tuple[Path, Path]:
    """sdist + wheel (the wheel built from the sdist), each checked to carry the licence."""
    shutil.rmtree(DIST, ignore_errors=True)
    sh(PY, "-m", "build", "--quiet", "--outdir", DIST, ROOT)
    sh(PY, "-m", "twine", "check", "--strict", *sorted(DIST.iterdir()))
    (wheel,) = DIST.glob("*.whl")
    (sdist,) = DIST.glob("*.tar.gz")
    sh(PY, ROOT / "tools" / "check_dist.py", wheel, sdist)
    return wheel, sdist


def suite_venv(version: str, python: Path, wheel: Path, *, minimum: bool) -> Path:
    """A clean virtualenv for one Python with the wheel, the redis extra and the test group."""
    where = VENV / f"py{version}{'-min' if minimum else ''}"
    shutil.rmtree(where, ignore_errors=True)
    sh(python, "-m", "venv", where)
    vpy = where / "bin" / "python"
    sh(vpy, *PIP_QUIET, "--upgrade", "pip")
    pins = ("-c", MINIMUM) if minimum else ()
    sh(vpy, *PIP_QUIET, *pins, f"{wheel}[redis]", "--group", "test")
    return vpy


def run_suite(vpy: Path, version: str, *, minimum: bool, coverage: bool) -> None:
    label = f"Python {version} with the {'minimum' if minimum else 'newest'} dependency versions"
    print(f"\n=== the test suite on {label}", flush=True)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONHASHSEED"] = env.get("PYTHONHASHSEED", "0")
    env["TOKENSMITH_DIST"] = str(DIST)  # tests/packaging/test_packaging.py reuses this build
    env["TOKENSMITH_TEST_PYTHON"] = version
    if minimum:
        env["PIP_CONSTRAINT"] = str(MINIMUM)  # the packaging test's clean venv too
    sh(vpy, "-c", "import tokensmith, sys; assert 'site-packages' in tokensmith.__file__", env=env)
    cov: tuple[str, ...] = ()
    if coverage:
        data = VENV / "coverage.json"
        cov = ("--cov=tokensmith", "--cov-branch", "--cov-report=term",
               f"--cov-report=json:{data}")  # fmt: skip
    sh(vpy, "-m", "pytest", "-q", "-n", "2", "-p", "xdist", *cov, *sys.argv[2:], env=env)
    if coverage:
        sh(PY, ROOT / "tools" / "check_coverage.py", VENV / "coverage.json")


def demo() -> None:
    ensure_venv(None)
    sh(PY, ROOT / "examples" / "demo.py")


def test() -> None:
    versions = claimed_pythons()
    pythons = {v: find_python(v) for v in versions}
    missing = [v for v, p in pythons.items() if p is None]
    if missing:
        sys.exit(f"the classifiers claim Python {', '.join(missing)}, not found on this machine")
    ensure_venv("dev")
    ensure_redis()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    dirs = ("src", "tests", "examples", "benchmarks", "tools", "fuzz")
    code = [d for d in dirs if (ROOT / d).is_dir()]
    sh(BIN / "ruff", "check", *code)
    sh(BIN / "ruff", "format", "--check", *code)
    sh(BIN / "mypy", "--strict", "src")
    sh(BIN / "mypy", "--strict", "tests/typecheck")  # typed usage: expected errors hold
    sh(BIN / "mypy", "tests")  # not --strict: check_untyped_defs (pyproject's tests.* section)
    # not --quiet: mkdocs then drops the warnings --strict counts, and builds a broken site
    sh(BIN / "mkdocs", "build", "--strict", "--site-dir", str(VENV / "site"), env=env)
    sh(PY, ROOT / "tools" / "check_site.py", VENV / "site")  # rendered roles, no 3rd-party assets
    wheel, _sdist = build_dist()
    for index, version in enumerate(versions):
        python = pythons[version]
        assert python is not None
        oldest = index == 0
        vpy = suite_venv(version, python, wheel, minimum=oldest)
        run_suite(vpy, version, minimum=oldest, coverage=oldest)
    print(f"\nall checks passed on Python {', '.join(versions)}", flush=True)


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(commands)}}} [pytest args]")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
