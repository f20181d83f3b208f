"""Packaging proof: the sdist and wheel build, pass `twine check`, and work once installed.

The wheel is installed into a fresh virtualenv and everything runs with the working directory
outside the source tree, so ``src/`` cannot be imported by accident: the console script, the
CLI round trip, and every example. The build and the virtualenv are made once per test run and
shared by pytest-xdist workers (a file lock in the run's shared temporary directory).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow

# Every package of the wheel (the tree of src/ must also be shipped whole, see below).
PACKAGES = tuple(
    f"{name}/__init__.py"
    for name in (
        "cli",
        "dpop",
        "integrations",
        "issuers",
        "jwks",
        "oauth",
        "observability",
        "observability/anomaly",
        "refresh",
        "replay",
        "revocation",
        "stores",
        "testing",
        "web",
        "web/ratelimit",
    )
)
ISS = "https://auth.example.test"
AUD = "orders-api"


@dataclass(frozen=True)
class Installed:
    dist: Path
    wheel: Path
    sdist: Path
    venv: Path
    python: Path
    bin: Path
    work: Path  # a scratch directory outside the source tree

    def env(self) -> dict[str, str]:
        """The environment of a user of the installed wheel (no PYTHONPATH, no repo .venv)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PYTHON") and k not in ("VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        return env

    def run(
        self, *argv: str | Path, stdin: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd or self.work,
            env=self.env(),
            timeout=120,
        )

    def ok(self, *argv: str | Path, stdin: str | None = None) -> str:
        done = self.run(*argv, stdin=stdin)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout


def _call(*argv: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    assert done.returncode == 0, (argv, done.stdout[-3000:], done.stderr[-3000:])


def _build(root: Path) -> None:
    """Build sdist + wheel (the wheel from the sdist) and install the wheel in a fresh venv.

    ``tools/run.py test`` builds them once for every Python it tests and says where in
    ``TOKENSMITH_DIST``; the clean venv is still made here, with only the declared dependencies
    (at their minimum versions when the run sets ``PIP_CONSTRAINT``).
    """
    dist = root / "dist"
    prebuilt = os.environ.get("TOKENSMITH_DIST")
    if prebuilt:
        shutil.copytree(prebuilt, dist)
    else:
        isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
        _call(sys.executable, "-m", "build", *isolation, "--outdir", dist, ROOT, cwd=root)
    venv = root / "venv"
    _call(sys.executable, "-m", "venv", venv, cwd=root)
    python = venv / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    _call(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, cwd=root)
    (root / "done").write_text("ok")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this run
    root = base / "tokensmith-packaging"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / "done").exists():
                _build(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    dist = root / "dist"
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = root / "venv"
    work = tmp_path_factory.mktemp("outside")
    return Installed(dist, wheel, sdist, venv, venv / "bin" / "python", venv / "bin", work)


def test_twine_check_and_contents(installed: Installed) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", installed.wheel, installed.sdist],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "tokensmith = tokensmith.cli:main" in wheel.read(entry_points).decode()
    for module in ("__init__.py", "__main__.py", "py.typed", *PACKAGES):
        assert f"tokensmith/{module}" in names, module
    package_dir = ROOT / "src" / "tokensmith"
    subpackages = {
        p.relative_to(package_dir).as_posix() for p in package_dir.rglob("*/__init__.py")
    }
    assert subpackages == set(PACKAGES), "PACKAGES must name every subpackage of src/tokensmith"
    shipped = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")}
    assert shipped <= names, shipped - names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    with tarfile.open(installed.sdist) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for path in (
        "pyproject.toml",
        "README.md",
        "src/tokensmith/cli/__init__.py",
        "examples/quickstart.py",
    ):
        assert path in members, path


def test_installed_outside_the_source_tree(installed: Installed) -> None:
    out = installed.ok(
        installed.python,
        "-c",
        "import sysconfig, tokensmith; print(tokensmith.__file__); "
        "print(sysconfig.get_paths()['purelib'])",
    )
    module_file, site_packages = (Path(line) for line in out.splitlines())
    assert module_file.resolve().is_relative_to(site_packages.resolve())
    assert not module_file.resolve().is_relative_to(ROOT)
    assert "keys" in installed.ok("tokensmith", "--help")
    assert installed.ok(installed.python, "-m", "tokensmith", "--version").startswith("tokensmith")


def test_cli_round_trip_from_the_wheel(installed: Installed) -> None:
    keys = installed.work / "keys"
    installed.ok("tokensmith", "keys", "init", keys, "--rotate-every", "86400")
    token = installed.ok(
        "tokensmith", "issue", "--keys", keys, "--iss", ISS, "--sub", "user-1", "--aud", AUD,
        "--scope", "orders:read", "--claim", 'tenant="acme"',
    ).strip()  # fmt: skip
    claims = json.loads(
        installed.ok(
            "tokensmith", "verify", "-", "--keys", keys, "--iss", ISS, "--aud", AUD,
            "--scope", "orders:read", stdin=token,
        )
    )  # fmt: skip
    assert claims["sub"] == "user-1" and claims["tenant"] == "acme"
    jwks = installed.work / "jwks.json"
    jwks.write_text(installed.ok("tokensmith", "jwks", keys))
    assert json.loads(jwks.read_text())["keys"]
    installed.ok("tokensmith", "verify", token, "--jwks", jwks, "--iss", ISS, "--aud", AUD)
    refused = installed.run(
        "tokensmith", "verify", token, "--jwks", jwks, "--iss", ISS, "--aud", "other"
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: invalid_audience: ")
    assert token not in refused.stderr


@pytest.mark.parametrize(
    ("example", "args", "expect"),
    [
        ("quickstart.py", (), "refused: insufficient_scope"),
        ("wsgi_api.py", ("--self-test",), "self-test passed"),
        ("env_keystore.py", (), "valid for subject user-123"),
        ("custom_revocation.py", (), "still refused: revoked"),
        ("demo.py", (), "public JWKS"),
    ],
)
def test_examples_run_against_the_wheel(
    installed: Installed, tmp_path: Path, example: str, args: tuple[str, ...], expect: str
) -> None:
    copy = tmp_path / example
    shutil.copy(ROOT / "examples" / example, copy)  # away from the repo: src/ is not on the path
    done = installed.run(installed.python, copy, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert expect in done.stdout
