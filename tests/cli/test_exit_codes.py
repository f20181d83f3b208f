"""docs/cli.md's exit-code table is what the command does.

* every row is run: its first code is produced with its exit status, and every other code it
  names exits the same way (``ConfigurationError`` codes 2, other refusals 1);
* every exit status the CLI defines and every ``Failure`` the source raises (code and status,
  read from the source) has its row.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import tokensmith.cli as cli
import tokensmith.cli._common as cli_common
import tokensmith.cli.keys as cli_keys
from tests.support import DOCS, ROOT
from tokensmith import errors
from tokensmith.testing import FakeClock

ISS = "https://auth.example.test"
AUD = "orders-api"
ROW = re.compile(r"^\| `(?P<exit>\d+)` \| (?P<codes>[^|]+) \| [^|]+ \|$", re.M)
CLI_CODES = {"usage", "not_found", "exists", "passphrase", "io_error", "internal", "interrupted"}


def table() -> dict[tuple[int, str], list[str]]:
    """``(exit, first code)`` -> every code the row names (``none``: no error line)."""
    section = (DOCS / "cli.md").read_text(encoding="utf-8").split("\n## Exit codes\n", 1)[1]
    rows = {}
    for match in ROW.finditer(section):
        codes = re.findall(r"`([a-z_]+)`", match.group("codes")) or ["none"]
        rows[(int(match.group("exit")), codes[0])] = codes
    return rows


class Cli:
    """Runs ``tokensmith`` in a temporary directory with a fake clock."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.clock = FakeClock(1_750_000_000.0)

    def __call__(self, *argv: str | Path) -> tuple[int, str]:
        self.capsys.readouterr()
        status = cli.main([str(a) for a in argv], clock=self.clock)
        return status, self.capsys.readouterr().err

    def keys(self, *extra: str) -> None:
        assert self("keys", "init", "keys", "--rotate-every", "86400", *extra)[0] == 0

    def token(self) -> str:
        status = cli.main(
            ["issue", "--keys", "keys", "--iss", ISS, "--sub", "u", "--aud", AUD, "--ttl", "60"],
            clock=self.clock,
        )
        assert status == 0
        return self.capsys.readouterr().out.strip()

    def verify(self, token: str, *extra: str) -> tuple[int, str]:
        return self("verify", token, "--keys", "keys", "--iss", ISS, "--aud", AUD, *extra)


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(capsys)


def done(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    run.keys()
    results = [run.verify(run.token()), run("--version"), run("keys", "list", "keys")]
    results += [run("keys", "rotate", "keys"), run("keys", "rotate", "keys")]  # nothing to do
    return results


def refused(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    run.keys()
    token = run.token()
    run.clock.advance(3600)
    return [run.verify(token)]


def unusable_keys(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    monkeypatch.setenv("TS_PASSPHRASE", "correct horse")
    run.keys("--passphrase-env", "TS_PASSPHRASE")
    monkeypatch.setenv("TS_PASSPHRASE", "wrong horse")
    return [run("jwks", "keys", "--passphrase-env", "TS_PASSPHRASE")]


def not_found(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    return [run("jwks", "nowhere")]


def exists(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    Path("full").mkdir()
    (Path("full") / "notes.txt").write_text("mine")
    Path("file").write_text("mine")
    return [run("keys", "init", "full"), run("keys", "init", "file")]


def io_error(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    Path("a-directory").mkdir()
    return [run("verify", "a.b.c", "--jwks", "a-directory", "--iss", ISS, "--aud", AUD)]


def unreadable_passphrase(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    run.keys()
    Path("a-directory").mkdir()
    return [run("jwks", "keys", "--passphrase-file", "a-directory")]


def usage(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n")))
    return [run("jwks", "keys", "--colour"), run("keys", "init"), run("inspect", "-")]


def bad_passphrase(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    monkeypatch.delenv("TS_UNSET", raising=False)
    monkeypatch.setenv("TS_EMPTY", "")
    Path("big").write_bytes(b"x" * 5000)
    return [
        run("keys", "init", "keys", "--passphrase-env", "TS_UNSET"),
        run("keys", "init", "keys", "--passphrase-env", "TS_EMPTY"),
        run("keys", "init", "keys", "--passphrase-file", "big"),
    ]


def unsafe_options(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    run.keys()
    too_long = ("issue", "--keys", "keys", "--iss", ISS, "--sub", "u", "--aud", AUD)
    return [run(*too_long, "--ttl", str(400 * 86400))]


def internal(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    def bug(ctx: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_keys, "_jwks", bug)
    return [run("jwks", "keys")]


def interrupted(run: Cli, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    def ctrl_c(ctx: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_keys, "_jwks", ctrl_c)
    return [run("jwks", "keys")]


SCENARIOS: dict[tuple[int, str], Callable[[Cli, pytest.MonkeyPatch], list[tuple[int, str]]]] = {
    (0, "none"): done,
    (1, "expired"): refused,
    (1, "wrong_passphrase"): unusable_keys,
    (1, "not_found"): not_found,
    (1, "exists"): exists,
    (1, "io_error"): io_error,
    (1, "passphrase"): unreadable_passphrase,
    (2, "usage"): usage,
    (2, "passphrase"): bad_passphrase,
    (2, "configuration_error"): unsafe_options,
    (70, "internal"): internal,
    (130, "interrupted"): interrupted,
}


def test_every_row_has_a_scenario_and_every_scenario_a_row() -> None:
    assert set(table()) == set(SCENARIOS)


@pytest.mark.parametrize("row", sorted(SCENARIOS), ids=lambda row: f"{row[0]}-{row[1]}")
def test_a_row_is_what_the_command_does(
    row: tuple[int, str], run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, code = row
    for exit_status, err in SCENARIOS[row](run, monkeypatch):
        assert exit_status == status, err
        errors_lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
        if code == "none":
            assert errors_lines == [], err
        else:
            assert len(errors_lines) == 1 and errors_lines[0].startswith(f"error: {code}: "), err


def _error_class(code: str) -> type[errors.TokensmithError]:
    classes = [getattr(errors, name) for name in errors.__all__]
    (found,) = [c for c in classes if inspect.isclass(c) and getattr(c, "code", None) == code]
    assert issubclass(found, errors.TokensmithError)
    return found


@pytest.mark.parametrize("row", sorted(table().items()), ids=lambda item: str(item[0]))
def test_every_code_a_row_names_exits_as_the_row_says(
    row: tuple[tuple[int, str], list[str]],
) -> None:
    (status, _), codes = row
    for code in codes:
        if code == "none" or code in CLI_CODES:
            continue
        refusal = _error_class(code)
        configuration = issubclass(refusal, errors.ConfigurationError)
        assert status == (cli.EXIT_USAGE if configuration else cli.EXIT_FAILURE), code


def _failures_in_the_source() -> set[tuple[int, str]]:
    """``(status, code)`` of every ``Failure(code, message[, status])`` the CLI raises."""
    statuses = {name: getattr(cli_common, name) for name in dir(cli_common) if name.isupper()}
    found = set()
    for path in sorted((ROOT / "src" / "tokensmith" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or ast.unparse(node.func) != "Failure":
                continue
            code = node.args[0]
            assert isinstance(code, ast.Constant) and isinstance(code.value, str), ast.unparse(node)
            status = cli_common.EXIT_FAILURE
            if len(node.args) > 2:
                assert isinstance(node.args[2], ast.Name), ast.unparse(node)
                status = statuses[node.args[2].id]
            found.add((status, code.value))
    return found


def test_every_failure_and_exit_status_of_the_source_is_documented() -> None:
    documented = {(status, code) for (status, _), codes in table().items() for code in codes}
    assert _failures_in_the_source() <= documented
    statuses = {status for status, _ in table()}
    defined = {getattr(cli, name) for name in cli.__all__ if name.startswith("EXIT_")}
    assert defined == statuses
    assert {code for _, code in documented} >= CLI_CODES
