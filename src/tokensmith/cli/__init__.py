"""The ``tokensmith`` command: manage a key directory, issue, verify and inspect tokens.

Built on :mod:`argparse` only. Every failure is one line on stderr and a non-zero exit code,
never a traceback:

* ``0`` — done (for ``verify``: the token is valid);
* ``1`` — refused or failed (an invalid token, unusable keys, an unreadable file);
* ``2`` — a usage error (a bad option or an unsafe configuration);
* ``70`` — an internal error (a bug: please report it);
* ``130`` — interrupted (Ctrl-C).

docs/cli.md lists every outcome with its code and exit status (a test runs each one).

Secrets (key passphrases) are read only from a file or an environment variable, never from the
command line. Tokens, and the values of unknown options whose name reads like a secret
(``--passphrase=...``), are never echoed in an error message; ``-`` as TOKEN reads the token
from stdin (recommended: no token in shell history or the process list).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from .. import __version__
from ..errors import ConfigurationError, TokensmithError
from . import keys, tokens
from ._common import (
    EXIT_FAILURE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Context,
    Failure,
)
from ._redact import Redactor, one_line, option_strings

__all__ = ["EXIT_FAILURE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

_PROG: Final = "tokensmith"


class _Exit(Exception):
    """``--help`` / ``--version`` finished: return ``status`` from :func:`main`."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports a usage error as one line, without exiting.

    The message is printed by :func:`main`, which redacts it (it may quote the arguments).
    """

    def error(self, message: str) -> NoReturn:
        raise Failure("usage", f"{message} (see: {self.prog} --help)", EXIT_USAGE)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Exit(status, message)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=_PROG,
        description="Manage signing keys, issue, verify and inspect tokens (JWT).",
        epilog="Exit codes: 0 ok, 1 refused or failed, 2 usage error, 70 internal error, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    keys.register(commands)
    tokens.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], float] = time.time) -> int:
    """Run the ``tokensmith`` command; returns the exit code (see the module docstring).

    ``clock`` is injectable so tests can step time; the console script uses ``time.time``.
    """
    out, err = sys.stdout, sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    redact = Redactor(arguments, option_strings(parser))

    def fail(code: str, message: str, status: int) -> int:
        err.write(f"error: {code}: {redact(one_line(message))}\n")
        return status

    try:
        args = parser.parse_args(arguments)
        handler: Callable[[Context], int] = args.handler
        return handler(Context(args, clock, out, err))
    except _Exit as done:
        if done.message:
            err.write(redact(done.message))
        return done.status
    except Failure as exc:
        return fail(exc.code, exc.message, exc.status)
    except ConfigurationError as exc:
        return fail(exc.code, exc.message, EXIT_USAGE)
    except TokensmithError as exc:
        return fail(exc.code, exc.message, EXIT_FAILURE)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename is not None else ""
        return fail("io_error", f"{exc.strerror or type(exc).__name__}{where}", EXIT_FAILURE)
    except KeyboardInterrupt:
        return fail("interrupted", "stopped by SIGINT (Ctrl-C)", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: one line, never a traceback (nor the exception text)
        err.write(f"error: internal: unexpected {type(exc).__name__}; please report it\n")
        return EXIT_INTERNAL
