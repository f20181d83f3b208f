#!/usr/bin/env python3
"""One entry point for a fresh machine that has only python3.

    python3 tools/run.py demo    # set up .venv, install tokensmith, run the end-to-end tour
    python3 tools/run.py test    # set up .venv with test+dev extras, lint, type-check, test

Everything is installed into ``.venv`` next to this repository; nothing global is touched
except, for ``test`` run as root, Debian's ``redis-server`` when it is missing (the Redis
tests talk to a real server and must never be skipped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command, echoing it; stop the whole run on failure."""
    print("+", " ".join(str(a) for a in args), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT, env=env)
    if code != 0:
        sys.exit(code)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project (editable) with the given extras."""
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    marker = VENV / f".installed-{extras or 'base'}"
    stamp = str((ROOT / "pyproject.toml").stat().st_mtime_ns)
    if marker.exists() and marker.read_text() == stamp:
        return
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    marker.write_text(stamp)


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


def demo() -> None:
    ensure_venv("")
    sh(PY, ROOT / "examples" / "demo.py")


def test() -> None:
    ensure_venv("test,dev")
    ensure_redis()
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = env.get("PYTHONHASHSEED", "0")
    env["NO_MKDOCS_2_WARNING"] = "1"
    dirs = ("src", "tests", "examples", "benchmarks", "tools", "fuzz")
    code = [d for d in dirs if (ROOT / d).is_dir()]
    sh(BIN / "ruff", "check", *code)
    sh(BIN / "ruff", "format", "--check", *code)
    sh(BIN / "mypy", "--strict", "src")
    sh(BIN / "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(VENV / "site"), env=env)
    sh(
        PY, "-m", "pytest", "-n", "2", "-p", "xdist",
        "--cov=tokensmith", "--cov-branch", "--cov-report=term", "--cov-fail-under=95",
        *sys.argv[2:],
        env=env,
    )  # fmt: skip


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(commands)}}} [pytest args]")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
