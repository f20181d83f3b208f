"""What every command of the ``tokensmith`` CLI shares: exit codes, the context a handler gets,
failures, secrets from files or the environment, the key directory, tokens from stdin."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from ..errors import MalformedToken, TokenTooLarge
from ..policy import DEFAULT_MAX_TOKEN_SIZE

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Context",
    "Failure",
    "add_passphrase",
    "dump",
    "iso",
    "open_store",
    "passphrase",
    "positive_seconds",
    "read_token",
    "secret",
]

EXIT_OK: Final = 0
"""The command did what was asked (``verify``: the token is valid)."""

EXIT_FAILURE: Final = 1
"""A refusal or a failure the user can act on: invalid token, unusable key, unreadable file."""

EXIT_USAGE: Final = 2
"""A usage error: bad arguments, or options tokensmith refuses as unsafe or contradictory."""

EXIT_INTERNAL: Final = 70
"""An unexpected internal error (``EX_SOFTWARE``); the message names only its type."""

EXIT_INTERRUPTED: Final = 130
"""Interrupted by SIGINT (Ctrl-C): 128 + the signal number, as shells report it."""

_MAX_STDIN: Final = 4 * DEFAULT_MAX_TOKEN_SIZE
_MAX_PASSPHRASE_BYTES: Final = 4096


class Failure(Exception):
    """A CLI-level failure: printed as ``error: <code>: <message>``, then exit ``status``."""

    def __init__(self, code: str, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Context:
    """What every command handler gets: parsed arguments, the clock and the output streams."""

    def __init__(
        self, args: argparse.Namespace, clock: Callable[[], float], out: IO[str], err: IO[str]
    ) -> None:
        self.args = args
        self.clock = clock
        self.out = out
        self.err = err

    def print(self, text: str) -> None:
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(f"warning: {text}\n")


def positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("expected a positive, finite number of seconds")
    return value


def add_passphrase(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="read the key passphrase from this environment variable",
    )
    group.add_argument(
        "--passphrase-file",
        metavar="FILE",
        type=Path,
        help="read the key passphrase from this file (one trailing newline is ignored)",
    )


def passphrase(args: argparse.Namespace) -> bytes | None:
    """The key passphrase from ``--passphrase-env`` or ``--passphrase-file`` (never argv)."""
    return secret(args.passphrase_env, args.passphrase_file, "--passphrase")


def secret(var: str | None, path: Path | None, option: str) -> bytes | None:
    """A secret from an environment variable or a file (never argv); ``None`` if neither.

    Messages name the option (``option`` + ``-env`` / ``-file``), never its value: someone
    who typed the passphrase itself in place of the variable's name must not see it echoed.
    """
    if var is not None:
        value = os.environ.get(var)
        if value is None:
            raise Failure(
                "passphrase",
                f"the environment variable named by {option}-env is not set",
                EXIT_USAGE,
            )
        secret = os.fsencode(value)
    elif path is not None:
        secret = _secret_file(path, f"{option}-file")
    else:
        return None
    if not secret:
        raise Failure("passphrase", "the passphrase is empty", EXIT_USAGE)
    return secret


def _secret_file(path: Path, option: str) -> bytes:
    try:
        with path.open("rb") as handle:
            secret = handle.read(_MAX_PASSPHRASE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise Failure(
            "passphrase", f"the file named by {option} cannot be read ({reason})"
        ) from None
    if len(secret) > _MAX_PASSPHRASE_BYTES:
        raise Failure("passphrase", f"the file named by {option} is too large", EXIT_USAGE)
    return secret.removesuffix(b"\n").removesuffix(b"\r")


def open_store(ctx: Context, directory: Path) -> Any:
    """Open an existing key directory as a ``FileKeyStore`` (imported only when needed)."""
    from ..stores.file import FileKeyStore  # noqa: PLC0415 - keep `import tokensmith` cheap

    if not directory.is_dir():
        raise Failure("not_found", f"key directory {directory} does not exist")
    return FileKeyStore(directory, passphrase=passphrase(ctx.args), clock=ctx.clock)


def read_token(ctx: Context, value: str) -> str:
    """TOKEN from the argument, or from stdin when it is ``-`` (one final newline dropped).

    Reading stdin keeps the token out of shell history and the process list. Anything more
    than one token and its line end (spaces, a second line, non-ASCII bytes) is refused.
    """
    if value != "-":
        return value.strip()
    raw = _read_stdin(_MAX_STDIN + 1)
    if len(raw) > _MAX_STDIN:
        raise TokenTooLarge("the token read from stdin is too large")
    raw = raw.removesuffix(b"\n").removesuffix(b"\r")
    if not raw:
        raise Failure("usage", "no token on stdin", EXIT_USAGE)
    token = raw.decode("ascii", "replace")
    if not raw.isascii() or not token.isprintable() or " " in token:
        raise MalformedToken("the token read from stdin holds spaces, line breaks or non-ASCII")
    return token


def _read_stdin(limit: int) -> bytes:
    """Up to ``limit`` bytes of stdin (its binary buffer when it has one)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read(limit)
        return data
    return sys.stdin.read(limit).encode("utf-8", "surrogatepass")


def iso(instant: float | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix, to the second; ``None`` for ``None`` and for any
    instant a date cannot show (not finite, before year 1 or after year 9999)."""
    if instant is None or not math.isfinite(instant):
        return None
    try:
        moment = datetime.fromtimestamp(instant, UTC).replace(microsecond=0)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
