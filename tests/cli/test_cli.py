"""The `tokensmith` command: every command, exit codes, stdin, secrets, refusal output."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tokensmith.cli as cli
import tokensmith.cli._common as cli_common
import tokensmith.cli.keys as cli_keys
from tests.support.forge import b64
from tokensmith import Key, KeySet, MemoryKeyStore, Signer
from tokensmith.errors import KeyMaterialError
from tokensmith.testing import FakeClock

ISS = "https://auth.example.test"
AUD = "orders-api"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_750_000_000.0)


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str], clock: FakeClock) -> None:
        self.capsys = capsys
        self.clock = clock

    def __call__(self, *argv: str | Path, code: int = 0) -> tuple[str, str]:
        self.capsys.readouterr()
        status = cli.main([str(a) for a in argv], clock=self.clock)
        out, err = self.capsys.readouterr()
        assert status == code, (status, out, err)
        assert "Traceback" not in err
        if code != 0:
            lines = err.strip().splitlines()
            assert len(lines) == 1 or all(ln.startswith("warning: ") for ln in lines[:-1]), err
            assert lines[-1].startswith("error: "), err
        return out, err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], clock: FakeClock) -> Run:
    return Run(capsys, clock)


@pytest.fixture
def keydir(tmp_path: Path, run: Run) -> Path:
    directory = tmp_path / "keys"
    run("keys", "init", directory, "--rotate-every", "86400", "--publish-ahead", "600")
    return directory


def issue(run: Run, keydir: Path, *extra: str) -> str:
    out, _ = run("issue", "--keys", keydir, "--iss", ISS, "--sub", "user-1", "--aud", AUD, *extra)
    assert out.count("\n") == 1
    return out.strip()


def verify_args(keydir: Path, token: str, *extra: str | Path) -> list[str | Path]:
    return ["verify", token, "--keys", keydir, "--iss", ISS, "--aud", AUD, *extra]


# --- general ---------------------------------------------------------------------------------


def test_help_and_version(run: Run) -> None:
    out, _ = run("--help")
    assert "keys" in out and "verify" in out and "Exit codes" in out
    out, _ = run("--version")
    assert out.startswith("tokensmith ")
    out, _ = run("keys", "init", "--help")
    assert "--passphrase-env" in out


def test_usage_errors_are_one_line_exit_2(run: Run) -> None:
    _, err = run(code=2)
    assert err.startswith("error: usage: ")
    run("nope", code=2)
    run("keys", code=2)
    run("issue", "--keys", "x", code=2)  # missing required options
    run("keys", "init", "d", "--alg", "none", code=2)
    run("keys", "init", "d", "--rotate-every", "-5", code=2)
    run("keys", "init", "d", "--rotate-every", "soon", code=2)
    run("keys", "init", "d", "--verify-for", "inf", code=2)


def test_a_token_in_the_wrong_place_is_not_echoed(run: Run, keydir: Path) -> None:
    token = issue(run, keydir)
    _, err = run("issue", token, "--keys", keydir, "--iss", ISS, "--sub", "s", "--aud", AUD, code=2)
    assert token not in err
    assert "<redacted>" in err
    _, err = run("inspect", "x" * 100, "extra", code=2)
    assert "x" * 100 not in err


# --- what is redacted, and what is not (issue 13, item 17) --------------------------------------

SECRET = "hunter2-Correct-Horse"


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "init", "d", f"--passphrase={SECRET}"),
        ("keys", "init", "d", f"--pass={SECRET}"),
        ("keys", "init", "d", f"--p={SECRET}"),
        ("keys", "init", "d", f"--passphrase-envx={SECRET}"),
        ("keys", "init", "d", f"--secret={SECRET}"),
        ("keys", "init", "d", "--secret", SECRET),
        ("keys", "init", "d", "--password", SECRET),
        ("keys", "init", "d", f"--PASSWORD={SECRET}"),
        ("keys", "init", "d", f"--client-secret={SECRET}"),
        ("keys", "init", "d", f"--token={SECRET}"),
        ("keys", "init", "d", f"--api_key={SECRET}"),
        ("keys", "passphrase", "d", f"--new-passphrase={SECRET}"),
        ("keys", "passphrase", "d", f"--new-pass={SECRET}"),
        ("keys", "passphrase", "d", "--new-pass", SECRET),
        ("inspect", "x", f"--passphrase={SECRET}"),
        ("inspect", "x", "--passphrase", SECRET),
        (f"--passphrase={SECRET}", "inspect", "x"),
    ],
)
def test_a_secret_option_value_is_never_echoed(run: Run, argv: tuple[str, ...]) -> None:
    _, err = run(*argv, code=2)
    assert err.startswith("error: usage: ")
    assert SECRET not in err and SECRET.lower() not in err.lower(), err
    flag = next(a for a in argv if a.startswith("--")).split("=", 1)[0]
    assert flag in err, err  # the option is named, so the user knows what was wrong


@pytest.mark.parametrize(
    ("argv", "kept"),
    [
        (
            ("issue", "--keys", "k", "--iss", "i", "--sub", "s", "--aud", "a", "--claim", "x"),
            "e.g. ",
        ),
        (
            ("inspect", "x", "https://auth.example.com/jwks.json"),
            "https://auth.example.com/jwks.json",
        ),
        (("inspect", "x", "auth.example.com"), "auth.example.com"),
        (("inspect", "x", "e.g."), "e.g."),
        (("inspect", "x", "orders.read.all"), "orders.read.all"),
        (
            ("inspect", "x", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        ),
        (("inspect", "x", "--kid", "2024-01.key.v2"), "--kid 2024-01.key.v2"),
        (("inspect", "x", "/var/lib/tokensmith/" + "k" * 80 + "/keyset.json"), "k" * 80),
        (("inspect", "x", "--passphrase-env", "TS_PASS"), "--passphrase-env TS_PASS"),
    ],
)
def test_redaction_leaves_what_is_not_secret(run: Run, argv: tuple[str, ...], kept: str) -> None:
    _, err = run(*argv, code=2)
    assert kept in err and "<redacted>" not in err, err


def test_redaction_edge_cases(run: Run, monkeypatch: pytest.MonkeyPatch, keydir: Path) -> None:
    _, err = run("inspect", "x", "--=v", code=2)  # no name: nothing to hide
    assert "--=v" in err
    _, err = run("inspect", "x", "--secret=", code=2)  # no value: nothing to hide
    assert "--secret=" in err
    token = issue(run, keydir)

    def exits(ctx: Any) -> int:
        raise cli._Exit(3, f"bye {token}\n")

    monkeypatch.setattr(cli_keys, "_jwks", exits)
    assert run.capsys.readouterr() is not None
    assert cli.main(["jwks", str(keydir)]) == 3
    assert run.capsys.readouterr().err == "bye <redacted>\n"


def test_every_token_shape_is_redacted(run: Run, keydir: Path) -> None:
    jws = issue(run, keydir)
    head, body, _ = jws.split(".")
    unsigned = f"{head}.{body}."  # alg none shape
    jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
    refresh = "rt_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
    for secret in (jws, unsigned, jwe, refresh, "z" * 70):
        _, err = run("inspect", "x", secret, code=2)
        assert secret not in err and "<redacted>" in err, err
        for part in secret.split(".")[:2]:
            assert len(part) < 20 or part not in err


def test_main_reads_sys_argv_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["tokensmith", "--version"])
    assert cli.main() == 0
    assert "tokensmith" in capsys.readouterr().out


# --- keys ------------------------------------------------------------------------------------


def test_keys_init_creates_a_signing_key(run: Run, tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    out, _ = run("keys", "init", directory, "--alg", "EdDSA")
    assert "EdDSA key" in out and "NOT encrypted" in out
    assert directory.is_dir() and any(directory.iterdir())
    rows = json.loads(run("keys", "list", directory, "--json")[0])
    assert [(r["alg"], r["state"], r["signing"]) for r in rows] == [("EdDSA", "active", True)]


def test_keys_init_refuses_to_overwrite(run: Run, keydir: Path, tmp_path: Path) -> None:
    _, err = run("keys", "init", keydir, code=1)
    assert err.startswith("error: exists: ")
    file = tmp_path / "file"
    file.write_text("x")
    run("keys", "init", file, code=1)


def test_keys_init_refuses_an_unsafe_policy(run: Run, tmp_path: Path) -> None:
    args = ("--rotate-every", "60", "--publish-ahead", "600")
    _, err = run("keys", "init", tmp_path / "k", *args, code=2)
    assert err.startswith("error: configuration_error: ")


def test_failed_init_leaves_nothing_behind(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokensmith.stores.file as module

    real = module.FileKeyStore

    class Failing(real):  # type: ignore[misc, valid-type]
        def signing_key(self) -> Key:
            (Path(self_dir) / "sub").mkdir()
            (Path(self_dir) / "partial").write_text("x")
            raise KeyMaterialError("simulated failure")

    self_dir = tmp_path / "new"
    monkeypatch.setattr(module, "FileKeyStore", Failing)
    _, err = run("keys", "init", self_dir, code=1)
    assert err == "error: key_error: simulated failure\n"
    assert not self_dir.exists()
    self_dir.mkdir()
    run("keys", "init", self_dir, code=1)
    assert self_dir.is_dir() and not any(self_dir.iterdir())


def test_keys_list_table_and_json(run: Run, keydir: Path) -> None:
    out, _ = run("keys", "list", keydir)
    header, row, legend = out.strip().splitlines()
    assert header.split() == ["KID", "ALG", "STATE", "ACTIVATES", "RETIRES", "EXPIRES"]
    assert " * " in row and "ES256" in row and "active" in row
    assert "UTC" in legend
    rows = json.loads(run("keys", "list", keydir, "--json")[0])
    assert len(rows) == 1
    (only,) = rows
    assert only["signing"] is True and only["private"] is True
    for name in ("activates_at", "retires_at", "expires_at"):
        assert only[name] is None or ISO.match(only[name]), only[name]
    assert only["retires_at"] is not None


def test_keys_rotate_publishes_then_switches(run: Run, keydir: Path, clock: FakeClock) -> None:
    first = json.loads(run("keys", "list", keydir, "--json")[0])[0]["kid"]
    old_token = issue(run, keydir, "--ttl", "600")
    out, _ = run("keys", "rotate", keydir)
    assert "published ES256 key" in out and first in out
    rows = json.loads(run("keys", "list", keydir, "--json")[0])
    assert sorted(r["state"] for r in rows) == ["active", "pending"]
    clock.advance(600)
    rows = json.loads(run("keys", "list", keydir, "--json")[0])
    signing = [r for r in rows if r["signing"]]
    assert len(signing) == 1 and signing[0]["kid"] != first
    assert {r["kid"]: r["state"] for r in rows}[first] == "retired"
    new_token = issue(run, keydir)
    for token in (old_token, new_token):
        run(*verify_args(keydir, token))
    header = json.loads(run("inspect", new_token)[0])["header"]
    assert header["kid"] == signing[0]["kid"]


def test_a_second_keys_rotate_says_nothing_changed(
    run: Run, keydir: Path, clock: FakeClock
) -> None:
    """The successor published by the first rotate is due no later than a second would ask:
    the second changes nothing, and says so instead of claiming to publish a key."""
    first, _ = run("keys", "rotate", keydir)
    successor = re.search(r"published ES256 key (\S+);", first)
    assert successor is not None
    listed = run("keys", "list", keydir, "--json")[0]
    clock.advance(60)
    again, _ = run("keys", "rotate", keydir)
    assert not again.startswith("published")
    assert again.startswith(f"nothing to do: key {successor.group(1)} is already published")
    assert run("keys", "list", keydir, "--json")[0] == listed  # the directory is unchanged


def test_keys_list_without_a_signing_key(run: Run, tmp_path: Path) -> None:
    assert cli_keys._key_rows(KeySet(), 0.0) == []
    key = Key.generate("ES256").public_key()
    rows = cli_keys._key_rows(KeySet([key]), 0.0)
    assert rows[0]["signing"] is False and rows[0]["activates_at"] is None
    assert cli_common.iso(float("inf")) is None


def test_rotate_refuses_when_no_successor_appears(
    run: Run, keydir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokensmith.stores.file import FileKeyStore

    monkeypatch.setattr(FileKeyStore, "rotate", lambda self: None)
    _, err = run("keys", "rotate", keydir, code=1)
    assert err.startswith("error: no_signing_key: ")


def test_jwks_prints_public_keys_only(run: Run, keydir: Path) -> None:
    document = json.loads(run("jwks", keydir)[0])
    (jwk,) = document["keys"]
    assert jwk["alg"] == "ES256" and "d" not in jwk


def test_missing_directory(run: Run, tmp_path: Path) -> None:
    for argv in (
        ("keys", "list", tmp_path / "nope"),
        ("keys", "rotate", tmp_path / "nope"),
        ("jwks", tmp_path / "nope"),
        ("issue", "--keys", tmp_path / "nope", "--iss", ISS, "--sub", "s", "--aud", AUD),
    ):
        _, err = run(*argv, code=1)
        assert err.startswith("error: not_found: ")


def test_corrupt_key_directory_is_one_line(run: Run, keydir: Path) -> None:
    for path in keydir.rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage{")
    for argv in (("keys", "list", keydir), ("jwks", keydir), ("keys", "rotate", keydir)):
        status = cli.main([str(a) for a in argv])
        out, err = run.capsys.readouterr()
        assert status != 0
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
        assert "Traceback" not in err


# --- passphrases -----------------------------------------------------------------------------


def test_passphrase_from_env(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TS_PASS", "correct horse battery staple")
    directory = tmp_path / "enc"
    out, _ = run("keys", "init", directory, "--passphrase-env", "TS_PASS")
    assert "encrypted with the passphrase" in out
    token = issue(run, directory, "--passphrase-env", "TS_PASS")
    run(*verify_args(directory, token, "--passphrase-env", "TS_PASS"))
    for path in directory.rglob("*"):
        if path.is_file():
            assert b"correct horse" not in path.read_bytes()
    # the wrong passphrase (or none) is refused without a traceback
    monkeypatch.setenv("TS_PASS", "wrong")
    run.capsys.readouterr()
    for extra in (("--passphrase-env", "TS_PASS"), ()):
        status = cli.main(["keys", "list", str(directory), *extra], clock=run.clock)
        out, err = run.capsys.readouterr()
        assert status in (1, 2) and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_passphrase_from_file(run: Run, tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_bytes(b"s3cret passphrase\n")
    directory = tmp_path / "enc"
    run("keys", "init", directory, "--passphrase-file", secret)
    out, _ = run("jwks", directory, "--passphrase-file", secret)
    assert json.loads(out)["keys"]
    secret.write_bytes(b"s3cret passphrase\r\n")  # CRLF line ending is the same passphrase
    run("jwks", directory, "--passphrase-file", secret)


def test_keys_passphrase_changes_encrypts_and_decrypts(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TS_OLD", "s3cret-OLD-4a1")
    monkeypatch.setenv("TS_NEW", "s3cret-NEW-9f2")
    directory = tmp_path / "enc"
    run("keys", "init", directory, "--passphrase-env", "TS_OLD")
    token = issue(run, directory, "--passphrase-env", "TS_OLD")
    out, _ = run(
        "keys",
        "passphrase",
        directory,
        "--passphrase-env",
        "TS_OLD",
        "--new-passphrase-env",
        "TS_NEW",
    )
    assert "encrypted with the new passphrase" in out and "s3cret" not in out
    run(*verify_args(directory, token, "--passphrase-env", "TS_NEW"))
    _, err = run("keys", "list", directory, "--passphrase-env", "TS_OLD", code=1)
    assert "passphrase" in err and "s3cret" not in err
    out, err = run("keys", "passphrase", directory, "--passphrase-env", "TS_NEW", "--no-passphrase")
    assert "NOT encrypted" in out and err.startswith("warning: ")
    run(*verify_args(directory, token))
    secret = tmp_path / "pass"
    secret.write_bytes(b"from a file\n")
    run("keys", "passphrase", directory, "--new-passphrase-file", secret)
    run(*verify_args(directory, token, "--passphrase-file", secret))


def test_keys_passphrase_refusals(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TS_OLD", "old passphrase")
    monkeypatch.setenv("TS_EMPTY", "")
    directory = tmp_path / "enc"
    run("keys", "init", directory, "--passphrase-env", "TS_OLD")
    before = (directory / "keyset.json").read_bytes()
    # no new passphrase named, both named, an empty one, a missing directory, the wrong one
    run("keys", "passphrase", directory, "--passphrase-env", "TS_OLD", code=2)
    both = ("--new-passphrase-env", "TS_OLD", "--no-passphrase")
    run("keys", "passphrase", directory, "--passphrase-env", "TS_OLD", *both, code=2)
    empty = ("--new-passphrase-env", "TS_EMPTY")
    run("keys", "passphrase", directory, "--passphrase-env", "TS_OLD", *empty, code=2)
    run("keys", "passphrase", tmp_path / "none", "--no-passphrase", code=1)
    run("keys", "passphrase", directory, "--no-passphrase", code=1)  # current one not given
    assert (directory / "keyset.json").read_bytes() == before


def test_passphrase_errors(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "enc"
    monkeypatch.delenv("TS_UNSET", raising=False)
    _, err = run("keys", "init", directory, "--passphrase-env", "TS_UNSET", code=2)
    assert (
        err == "error: passphrase: the environment variable named by --passphrase-env is not set\n"
    )
    monkeypatch.setenv("TS_EMPTY", "")
    run("keys", "init", directory, "--passphrase-env", "TS_EMPTY", code=2)
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    run("keys", "init", directory, "--passphrase-file", empty, code=2)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    run("keys", "init", directory, "--passphrase-file", big, code=2)
    _, err = run("keys", "init", directory, "--passphrase-file", tmp_path / "missing", code=1)
    assert (
        err
        == "error: passphrase: the file named by --passphrase-file cannot be read (No such file or directory)\n"
    )
    both = ("--passphrase-env", "X", "--passphrase-file", str(empty))
    run("keys", "init", directory, *both, code=2)
    assert not directory.exists()


def test_no_passphrase_option_takes_the_secret_itself(run: Run, tmp_path: Path) -> None:
    run("keys", "init", tmp_path / "k", "--passphrase", "secret", code=2)


def test_a_passphrase_given_in_place_of_its_source_is_not_echoed(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET, raising=False)
    for flag in ("--passphrase-env", "--passphrase-file"):
        _, err = run("keys", "init", tmp_path / "k", flag, SECRET, code=err_code(flag))
        assert SECRET not in err and flag in err, err
    _, err = run("keys", "passphrase", tmp_path / "k", "--new-passphrase-env", SECRET, code=1)
    assert SECRET not in err


def err_code(flag: str) -> int:
    return 2 if flag.endswith("env") else 1


# --- issue -----------------------------------------------------------------------------------


def test_issue_prints_only_the_token(run: Run, keydir: Path) -> None:
    token = issue(
        run,
        keydir,
        "--scope",
        "orders:read",
        "--scope",
        "orders:write extra",
        "--ttl",
        "120",
        "--claim",
        'tenant="acme"',
        "--claim",
        "level=3",
        "--aud",
        "billing-api",
    )
    assert token.count(".") == 2
    claims = json.loads(run(*verify_args(keydir, token))[0])
    assert claims["sub"] == "user-1" and claims["iss"] == ISS
    assert claims["aud"] == [AUD, "billing-api"]
    assert claims["scope"] == "orders:read orders:write extra"
    assert claims["tenant"] == "acme" and claims["level"] == 3
    assert claims["exp"] - claims["iat"] == 120


def test_issue_refusals(run: Run, keydir: Path) -> None:
    base = ("issue", "--keys", keydir, "--iss", ISS, "--sub", "u", "--aud", AUD)
    _, err = run(*base, "--claim", "tenant", code=2)
    assert "NAME=JSON" in err
    _, err = run(*base, "--claim", "tenant=acme", code=2)  # not JSON
    assert "not valid JSON" in err
    run(*base, "--claim", "x=NaN", code=2)
    run(*base, "--claim", "a=1", "--claim", "a=2", code=2)
    _, err = run(*base, "--claim", 'iss="evil"', code=2)
    assert err.startswith("error: reserved_claim: ")
    _, err = run(*base, "--ttl", str(10 * 86400), code=2)  # outlives the key's window
    assert err.startswith("error: configuration_error: ")
    run(*base, "--ttl", "0", code=2)


# --- verify ----------------------------------------------------------------------------------


def test_verify_ok_prints_claims(run: Run, keydir: Path) -> None:
    token = issue(run, keydir, "--scope", "orders:read")
    out, err = run(*verify_args(keydir, token, "--scope", "orders:read", "--leeway", "0"))
    assert json.loads(out)["scope"] == "orders:read"
    assert err == ""


@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_token_from_stdin(
    run: Run, keydir: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    token = issue(run, keydir)

    def feed(text: str, code: int = 0) -> tuple[str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        argv = verify_args(keydir, "-") if command == "verify" else ["inspect", "-"]
        return run(*argv, code=code)

    for text in (token, token + "\n", token + "\r\n"):  # one trailing newline is stripped
        out, _ = feed(text)
        assert json.loads(out)["sub" if command == "verify" else "claims"]
    for text in ("", "\n", "\r\n"):
        _, err = feed(text, code=2)
        assert err == "error: usage: no token on stdin\n"
    for text in (token + "\n\n", f"  {token}\n", f"{token}\n{token}\n"):  # no more than that
        _, err = feed(text, code=1)
        assert err.startswith("error: malformed: ") and token not in err, err
    _, err = feed("a" * 40000, code=1)
    assert err.startswith("error: token_too_large: ")


def test_stdin_is_read_as_bytes_when_it_has_a_buffer(
    run: Run, keydir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issue(run, keydir)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(token.encode() + b"\r\n")))
    assert json.loads(run("inspect", "-")[0])["claims"]["sub"] == "user-1"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff" + token.encode())))
    _, err = run("inspect", "-", code=1)
    assert err.startswith("error: malformed: ")


def test_binary_stdin_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    store = MemoryKeyStore(KeySet.generate("ES256"))
    (tmp_path / "jwks.json").write_text(json.dumps(store.jwks()))
    verify = ["verify", "-", "--jwks", "jwks.json", "--iss", ISS, "--aud", AUD]
    for argv in (["inspect", "-"], verify):
        done = subprocess.run(
            [sys.executable, "-m", "tokensmith", *argv],
            input=b"\xff\xfe\x00garbage\n",
            capture_output=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        assert (done.returncode, done.stdout) == (1, b""), done.stderr
        assert done.stderr.startswith(b"error: malformed: "), done.stderr


@pytest.mark.parametrize(
    ("extra", "code_name"),
    [
        (("--aud", "billing-api"), "invalid_audience"),
        (("--scope", "orders:write"), "insufficient_scope"),
    ],
)
def test_verify_refusals(run: Run, keydir: Path, extra: tuple[str, ...], code_name: str) -> None:
    token = issue(run, keydir)
    args = verify_args(keydir, token, *extra)
    if extra[0] == "--aud":  # replace the audience rather than add one
        args = ["verify", token, "--keys", keydir, "--iss", ISS, *extra]
    out, err = run(*args, code=1)
    assert out == ""
    assert re.fullmatch(rf"error: {code_name}: [^\n]+\n", err), err
    assert token not in err


def test_verify_expired_and_wrong_issuer(run: Run, keydir: Path, clock: FakeClock) -> None:
    token = issue(run, keydir, "--ttl", "60")
    _, err = run("verify", token, "--keys", keydir, "--iss", "https://evil", "--aud", AUD, code=1)
    assert err.startswith("error: invalid_issuer: ")
    clock.advance(60 + 31)
    _, err = run(*verify_args(keydir, token), code=1)
    assert err.startswith("error: expired: ") and token not in err
    _, err = run(*verify_args(keydir, token, "--leeway", "300"))


def test_verify_garbage_and_tampering(run: Run, keydir: Path) -> None:
    for garbage, code_name in (
        ("not-a-token", "malformed"),
        ("a.b.c.d", "malformed"),
        ("!!.??.**", "invalid_encoding"),
        ("é.é.é", "invalid_encoding"),
    ):
        _, err = run(*verify_args(keydir, garbage), code=1)
        assert err.startswith(f"error: {code_name}: "), err
        assert garbage not in err
    token = issue(run, keydir)
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{'A' * len(sig[:-1])}{sig[-1]}"
    _, err = run(*verify_args(keydir, tampered), code=1)
    assert err.startswith("error: invalid_signature: ")


def test_verify_leeway_limits(run: Run, keydir: Path) -> None:
    token = issue(run, keydir)
    _, err = run(*verify_args(keydir, token, "--leeway", "3600"), code=2)
    assert err.startswith("error: configuration_error: ")
    run(*verify_args(keydir, token, "--leeway", "-1"), code=2)
    run(*verify_args(keydir, token, "--leeway", "x"), code=2)


def test_verify_needs_exactly_one_key_source(run: Run, keydir: Path, tmp_path: Path) -> None:
    token = issue(run, keydir)
    run("verify", token, "--iss", ISS, "--aud", AUD, code=2)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(run("jwks", keydir)[0])
    run(*verify_args(keydir, token, "--jwks", jwks), code=2)


def test_verify_with_a_jwks_file(run: Run, keydir: Path, tmp_path: Path) -> None:
    token = issue(run, keydir)
    document = json.loads(run("jwks", keydir)[0])
    jwks = tmp_path / "jwks.json"
    other = Key.generate("ES256", kid="other").to_jwk()
    unusable = [
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "alg": "ES256"},  # bad point
        {"kty": "oct", "k": "c2hvcnQ", "alg": "HS256"},  # weak secret
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},  # no alg
        "not an object",
        other,  # two keys with one kid: neither is used
        {**Key.generate("ES256").to_jwk(), "kid": "other"},
    ]
    jwks.write_text(json.dumps({"keys": unusable + document["keys"]}))
    out, err = run("verify", token, "--jwks", jwks, "--iss", ISS, "--aud", AUD)
    assert json.loads(out)["sub"] == "user-1"
    warnings = err.strip().splitlines()
    assert len(warnings) == 6 and all(w.startswith("warning: skipping key #") for w in warnings)
    assert "no 'alg' member; add an \"alg\" member to the key in the file" in warnings[2]
    assert warnings[4].startswith("warning: skipping key #4 ('other'): invalid_key: duplicate kid")
    # a single JWK is accepted too
    jwks.write_text(json.dumps(document["keys"][0]))
    run("verify", token, "--jwks", jwks, "--iss", ISS, "--aud", AUD)


@pytest.mark.parametrize("member", ["private", "secret"])
def test_verify_jwks_refuses_private_and_secret_keys(run: Run, tmp_path: Path, member: str) -> None:
    """A JWKS holds public keys: the same rules as RemoteJWKS and KeySet.from_jwks."""
    alg = "ES256" if member == "private" else "HS256"
    key = Key.generate(alg, kid=member)
    issued = Signer(MemoryKeyStore(KeySet([key])), issuer=ISS).issue("user-1", audience=AUD)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.to_jwk(private=True)]}))
    _, err = run("verify", issued, "--jwks", jwks, "--iss", ISS, "--aud", AUD, code=1)
    assert f"warning: skipping key #0 ('{member}'): invalid_key: " in err
    assert err.strip().splitlines()[-1].endswith("holds no usable key")
    secret = key.to_jwk(private=True)
    assert (secret.get("d") or secret["k"]) not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JWKS document"),
        (b'{"keys": {}}', "'keys' is not a list"),
        (b'{"keys": []}', "holds no usable key"),
        (b" " * (1 << 20) + b"{}", "larger than"),
    ],
)
def test_verify_with_a_bad_jwks_file(
    run: Run, tmp_path: Path, content: bytes, message: str
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(content)
    _, err = run("verify", "a.b.c", "--jwks", jwks, "--iss", ISS, "--aud", AUD, code=1)
    assert err.startswith("error: invalid_key: ") and message in err


def test_verify_with_a_missing_jwks_file(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    _, err = run("verify", "a.b.c", "--jwks", missing, "--iss", ISS, "--aud", AUD, code=1)
    assert err.startswith("error: io_error: ") and str(missing) in err


# --- inspect ---------------------------------------------------------------------------------


def test_inspect_is_labelled_unverified(run: Run, keydir: Path) -> None:
    token = issue(run, keydir, "--claim", 'tenant="acme"')
    out, err = run("inspect", token)
    report = json.loads(out)
    assert report["verified"] is False
    assert report["header"]["alg"] == "ES256"
    assert report["claims"]["tenant"] == "acme"
    assert set(report["times"]) == {"iat", "exp"} and ISO.match(report["times"]["exp"])
    assert len(report["fingerprint"]) == 16
    assert err.startswith("warning: ") and "NOT verified" in err


def test_inspect_garbage(run: Run) -> None:
    obj = "eyJhIjoxfQ"  # {"a":1}
    arr = "WzFd"  # [1]
    bad_json = "e2E"  # {a
    for garbage, code_name in (
        ("x" * 9000, "token_too_large"),
        ("é.é.é", "malformed"),
        ("one.two", "malformed"),
        (f"{obj}.{obj}=.", "invalid_encoding"),
        (f"{arr}.{obj}.", "invalid_json"),
        (f"{obj}.{bad_json}.", "invalid_json"),
    ):
        out, err = run("inspect", garbage, code=1)
        assert out == "" and err.startswith(f"error: {code_name}: "), err
    nan_times = "eyJleHAiOiJzb29uIiwiaWF0IjoxZTMwMH0"  # {"exp":"soon","iat":1e300}
    report = json.loads(run("inspect", f"{obj}.{nan_times}.")[0])
    assert report["times"] == {}


@pytest.mark.parametrize("instant", [-253402300799, -1e15, 253402300800, 1e17, -1, 0])
def test_inspect_shows_no_date_for_an_instant_a_date_cannot_hold(run: Run, instant: float) -> None:
    header = "eyJhIjoxfQ"  # {"a":1}
    payload = b64(json.dumps({"exp": instant, "iat": instant}).encode())
    report = json.loads(run("inspect", f"{header}.{payload}.")[0])
    if -62135596800 <= instant < 253402300800:  # year 1 to year 9999
        assert set(report["times"]) == {"exp", "iat"}
    else:
        assert report["times"] == {}


# --- unexpected failures -----------------------------------------------------------------------


def test_unexpected_errors_are_one_line_exit_70(
    run: Run, keydir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(ctx: Any) -> int:
        raise RuntimeError("secret detail eyJh.eyJi.c2ln")

    monkeypatch.setattr(cli_keys, "_jwks", boom)
    _, err = run("jwks", keydir, code=70)
    assert err == "error: internal: unexpected RuntimeError; please report it\n"

    def interrupted(ctx: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_keys, "_jwks", interrupted)
    _, err = run("jwks", keydir, code=130)
    assert err == "error: interrupted: stopped by SIGINT (Ctrl-C)\n"  # error: <code>: <reason>


# --- the real console script (once) --------------------------------------------------------------


def test_console_script_and_module(tmp_path: Path) -> None:
    from tokensmith import Signer

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    store = MemoryKeyStore(KeySet.generate("ES256"))
    token = Signer(store, issuer=ISS).issue("user-1", audience=AUD)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(store.jwks()))
    script = Path(sys.executable).parent / "tokensmith"
    assert script.exists(), "the .venv has no tokensmith console script"
    verify = ["verify", "-", "--jwks", str(jwks), "--iss", ISS, "--aud", AUD]
    done = subprocess.run(
        [str(script), *verify],
        input=token + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sub"] == "user-1"
    done = subprocess.run(
        [sys.executable, "-m", "tokensmith", *verify, "--aud", "other", "--scope", "admin"],
        input=token + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "error: insufficient_scope: " + done.stderr.split(": ", 2)[2]
    assert done.stderr.count("\n") == 1 and token not in done.stderr


# --- key directories others could change (issue 14 item 1) ---------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o770], ids=oct)
def test_keys_init_refuses_a_directory_others_can_write(
    run: Run, tmp_path: Path, mode: int
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    os.chmod(directory, mode)
    _, err = run("keys", "init", directory, code=2)
    assert err.startswith("error: insecure_key_directory: ") and str(directory) in err
    assert list(directory.iterdir()) == []  # nothing written, nothing removed
    assert (os.stat(directory).st_mode & 0o7777) == mode


def test_keys_init_refuses_a_directory_of_another_user_or_a_symlink(
    run: Run, tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    _, err = run("keys", "init", theirs, code=2)
    assert err.startswith("error: insecure_key_directory: ")
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(ours, target_is_directory=True)
    _, err = run("keys", "init", link, code=2)
    assert err.startswith("error: insecure_key_directory: ") and "symbolic link" in err
    assert list(ours.iterdir()) == []


def test_keys_init_tightens_an_empty_directory_we_own(run: Run, tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    os.chmod(directory, 0o755)
    run("keys", "init", directory)
    assert (os.stat(directory).st_mode & 0o7777) == 0o700


def test_commands_refuse_a_key_directory_others_can_write(run: Run, keydir: Path) -> None:
    os.chmod(keydir, 0o777)
    commands: list[list[str | Path]] = [
        ["keys", "list", keydir],
        ["jwks", keydir],
        ["keys", "rotate", keydir],
    ]
    for command in commands:
        _, err = run(*command, code=2)
        assert err.startswith("error: insecure_key_directory: ")
