"""The ``tokensmith`` command: manage a key directory, issue, verify and inspect tokens.

Built on :mod:`argparse` only. Every failure is one line on stderr and a non-zero exit code,
never a traceback:

* ``0`` — done (for ``verify``: the token is valid);
* ``1`` — refused or failed (an invalid token, unusable keys, an unreadable file);
* ``2`` — a usage error (a bad option or an unsafe configuration);
* ``70`` — an internal error (a bug: please report it).

Secrets (key passphrases) are read only from a file or an environment variable, never from the
command line. Tokens, and the values of unknown options whose name reads like a secret
(``--passphrase=...``), are never echoed in an error message; ``-`` as TOKEN reads the token
from stdin (recommended: no token in shell history or the process list).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, NoReturn

from . import __version__
from ._json import StrictJSONError
from ._json import loads as strict_json
from ._jws import segment_object
from .claims import fingerprint
from .errors import (
    ConfigurationError,
    InsecureKeyDirectory,
    InvalidEncoding,
    InvalidJSON,
    InvalidKey,
    MalformedToken,
    NoSigningKey,
    TokensmithError,
    TokenTooLarge,
)
from .jwks import document as jwks_rules
from .keys import SUPPORTED_ALGORITHMS
from .keyset import KeySet, RotationPolicy, key_state
from .stores.base import KeySource, KeyStore
from .stores.memory import MemoryKeyStore
from .validator import DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, Validator

__all__ = ["EXIT_FAILURE", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK: Final = 0
"""The command did what was asked (``verify``: the token is valid)."""

EXIT_FAILURE: Final = 1
"""A refusal or a failure the user can act on: invalid token, unusable key, unreadable file."""

EXIT_USAGE: Final = 2
"""A usage error: bad arguments, or options tokensmith refuses as unsafe or contradictory."""

EXIT_INTERNAL: Final = 70
"""An unexpected internal error (``EX_SOFTWARE``); the message names only its type."""

_PROG: Final = "tokensmith"
# Error lines quote argv ("unrecognized arguments: ..."), so what is secret is redacted from
# them, and nothing else: a compact JWS/JWE (3 or 5 base64url segments whose header or payload
# is a JSON object), a refresh token (``rt_`` + 43 characters, see tokensmith.refresh), a long
# run of token characters (no ``/`` or ``:``, so paths and URLs stay), and the value of any
# option that is not one of ours and whose name reads like a secret (see _secret_option).
_WORD_EDGE: Final = r"(?<![A-Za-z0-9_\-.])", r"(?![A-Za-z0-9_\-.])"
_JOSE: Final = re.compile(
    _WORD_EDGE[0]
    + r"[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){2}(?:(?:\.[A-Za-z0-9_\-]*){2})?"
    + _WORD_EDGE[1]
)
_OPAQUE: Final = re.compile(  # not inside a path or a URL: no "/" or ":" around it
    r"(?<![A-Za-z0-9_\-.~+/:])(?:rt_[A-Za-z0-9_\-]{43}|[A-Za-z0-9_\-.~+]{65,}={0,2})"
    r"(?![A-Za-z0-9_\-.~+/:=])"
)
_SECRET_STEMS: Final = (
    "pass",
    "pw",
    "secret",
    "token",
    "key",
    "cred",
    "private",
    "pepper",
    "auth",
    "bearer",
    "apikey",
    "api-key",
    "cookie",
    "session",
)
_NAME_PREFIXES: Final = ("new-", "old-", "current-", "client-")
_REDACTED: Final = "<redacted>"
_CLAIM_NAME: Final = re.compile(r"[^\s=]+")
_MAX_STDIN: Final = 4 * DEFAULT_MAX_TOKEN_SIZE
_MAX_JWKS_BYTES: Final = 1 << 20
# --jwks files follow the library's JWKS rules; the fix for a key without "alg" is in the file
_JWKS_RULES: Final = jwks_rules.JWKSRules(
    missing_alg_hint='add an "alg" member to the key in the file to say which algorithm it is for'
)
_MAX_PASSPHRASE_BYTES: Final = 4096


class _Failure(Exception):
    """A CLI-level failure: printed as ``error: <code>: <message>``, then exit ``status``."""

    def __init__(self, code: str, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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
        raise _Failure("usage", f"{message} (see: {self.prog} --help)", EXIT_USAGE)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Exit(status, message)


class _Redactor:
    """Removes secrets from a line about to be printed; everything else is left as typed."""

    def __init__(self, argv: Sequence[str], options: frozenset[str]) -> None:
        values = _secret_option_values(argv, options)
        self._values = (
            re.compile("|".join(rf"(?<![^\s'\"=,]){re.escape(v)}(?![^\s'\",])" for v in values))
            if values
            else None
        )

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(_REDACTED, text)
        text = _JOSE.sub(lambda m: _REDACTED if _is_jose(m.group()) else m.group(), text)
        return _OPAQUE.sub(_REDACTED, text)


def _is_jose(text: str) -> bool:
    """A compact JWS or JWE: its header (or, if that was mangled, its payload) is JSON."""
    parts = text.split(".")
    return any(_json_object_segment(part) for part in parts[:2])


def _json_object_segment(segment: str) -> bool:
    try:
        segment_object(segment, "segment")
    except (InvalidEncoding, InvalidJSON):
        return False
    return True


def _secret_option(flag: str, ours: frozenset[str]) -> bool:
    """True when ``flag`` is not one of our options and its name reads like a secret's.

    That is: an abbreviation of one of our passphrase options (``--pass``, ``--p``), or a name
    starting (after ``new-``, ``old-``, ``current-``, ``client-``) with a secret-bearing word:
    ``--passphrase``, ``--password``, ``--secret``, ``--token``, ``--api-key``...
    """
    if flag in ours:
        return False
    name = flag.lstrip("-").lower().replace("_", "-")
    if not name:
        return False
    if any(o.lstrip("-").startswith(name) for o in ours if "passphrase" in o):
        return True
    for prefix in _NAME_PREFIXES:
        name = name.removeprefix(prefix)
    return name.startswith(_SECRET_STEMS)


def _secret_option_values(argv: Sequence[str], ours: frozenset[str]) -> list[str]:
    """The values given to secret-looking options: ``--secret=VALUE`` or ``--secret VALUE``."""
    values: list[str] = []
    for index, item in enumerate(argv):
        if not item.startswith("-") or item in ("-", "--"):
            continue
        flag, sep, value = item.partition("=")
        if not _secret_option(flag, ours):
            continue
        if not sep and index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            value = argv[index + 1]
        if value:
            values.append(value)
    return sorted(set(values), key=len, reverse=True)


def _option_strings(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every option string of ``parser`` and its sub-commands (``--keys``, ``--help``...)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _option_strings(child)
    return frozenset(found)


def _one_line(text: str) -> str:
    """Messages are printed on one line, whatever a backend put in them."""
    return " ".join(text.split())


# --- argument parsing -------------------------------------------------------------------------


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("expected a positive, finite number of seconds")
    return value


def _leeway(text: str) -> float:
    """An argparse type: zero or more seconds (the validator enforces the upper bound)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("expected zero or a positive number of seconds")
    return value


def _claim(text: str) -> tuple[str, Any]:
    """An argparse type: ``NAME=JSON`` (the value is parsed as JSON)."""
    name, sep, raw = text.partition("=")
    if not sep or not _CLAIM_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError("expected NAME=JSON, e.g. tenant='\"acme\"' or level=3")
    try:
        value = strict_json(raw)
    except StrictJSONError:
        raise argparse.ArgumentTypeError(f"the value of claim {name!r} is not valid JSON") from None
    return name, value


def _add_passphrase(parser: argparse.ArgumentParser) -> None:
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


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=_PROG,
        description="Manage signing keys, issue, verify and inspect tokens (JWT).",
        epilog="Exit codes: 0 ok, 1 refused or failed, 2 usage error, 70 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # keys ...
    keys = commands.add_parser("keys", help="create, rotate and list the keys of a directory")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    init = key_commands.add_parser("init", help="create a key directory with a rotation policy")
    init.add_argument("dir", metavar="DIR", type=Path, help="directory to create (or empty)")
    init.add_argument(
        "--alg",
        default="ES256",
        choices=sorted(SUPPORTED_ALGORITHMS),
        metavar="ALG",
        help="algorithm of generated keys (default: ES256)",
    )
    defaults = RotationPolicy()
    init.add_argument(
        "--rotate-every",
        type=_seconds,
        default=defaults.rotate_every,
        metavar="SECONDS",
        help=f"seconds a key signs before its successor (default: {defaults.rotate_every:.0f})",
    )
    init.add_argument(
        "--publish-ahead",
        type=_seconds,
        default=defaults.publish_ahead,
        metavar="SECONDS",
        help="seconds a successor is published before it signs "
        f"(default: {defaults.publish_ahead:.0f})",
    )
    init.add_argument(
        "--verify-for",
        type=_seconds,
        default=defaults.verify_for,
        metavar="SECONDS",
        help="seconds a retired key keeps verifying; at least the longest token ttl "
        f"(default: {defaults.verify_for:.0f})",
    )
    _add_passphrase(init)
    init.set_defaults(handler=_keys_init)

    rotate = key_commands.add_parser("rotate", help="publish a successor key now")
    rotate.add_argument("dir", metavar="DIR", type=Path)
    _add_passphrase(rotate)
    rotate.set_defaults(handler=_keys_rotate)

    change = key_commands.add_parser(
        "passphrase",
        help="re-encrypt a key directory under a new passphrase (or none)",
        description="Re-encrypt DIR under a new passphrase. The current one comes from "
        "--passphrase-env/--passphrase-file, the new one from --new-passphrase-env/"
        "--new-passphrase-file; --no-passphrase stores the keys unencrypted. Stop every "
        "process using DIR first: they cannot reload it with the old passphrase.",
    )
    change.add_argument("dir", metavar="DIR", type=Path)
    _add_passphrase(change)
    new = change.add_mutually_exclusive_group(required=True)
    new.add_argument(
        "--new-passphrase-env",
        metavar="VAR",
        help="read the new passphrase from this environment variable",
    )
    new.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        type=Path,
        help="read the new passphrase from this file (one trailing newline is ignored)",
    )
    new.add_argument(
        "--no-passphrase", action="store_true", help="store the keys unencrypted from now on"
    )
    change.set_defaults(handler=_keys_passphrase)

    listing = key_commands.add_parser("list", help="list keys with their state and times")
    listing.add_argument("dir", metavar="DIR", type=Path)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_passphrase(listing)
    listing.set_defaults(handler=_keys_list)

    # jwks
    jwks = commands.add_parser("jwks", help="print the public JWKS of a key directory")
    jwks.add_argument("dir", metavar="DIR", type=Path)
    _add_passphrase(jwks)
    jwks.set_defaults(handler=_jwks)

    # issue
    issue = commands.add_parser("issue", help="issue a token (prints only the token)")
    issue.add_argument("--keys", required=True, type=Path, metavar="DIR", help="key directory")
    issue.add_argument("--iss", required=True, metavar="ISS", help="issuer (iss)")
    issue.add_argument("--sub", required=True, metavar="SUB", help="subject (sub)")
    issue.add_argument(
        "--aud", required=True, action="append", metavar="AUD", help="audience; repeatable"
    )
    issue.add_argument(
        "--scope", action="append", default=[], metavar="SCOPE", help="a scope; repeatable"
    )
    issue.add_argument(
        "--ttl", type=_seconds, default=3600.0, metavar="SECONDS", help="lifetime (default 3600)"
    )
    issue.add_argument(
        "--claim",
        action="append",
        type=_claim,
        default=[],
        metavar="NAME=JSON",
        help="a custom claim whose value is JSON; repeatable",
    )
    _add_passphrase(issue)
    issue.set_defaults(handler=_issue)

    # verify
    verify = commands.add_parser(
        "verify", help="verify a token; prints its claims as JSON when valid"
    )
    verify.add_argument("token", metavar="TOKEN", help="the token, or - to read it from stdin")
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--keys", type=Path, metavar="DIR", help="key directory")
    source.add_argument("--jwks", type=Path, metavar="FILE", help="a JWKS document (JSON)")
    verify.add_argument(
        "--iss", required=True, action="append", metavar="ISS", help="trusted issuer; repeatable"
    )
    verify.add_argument(
        "--aud", required=True, action="append", metavar="AUD", help="accepted audience"
    )
    verify.add_argument(
        "--scope", action="append", default=[], metavar="SCOPE", help="required scope"
    )
    verify.add_argument(
        "--leeway",
        type=_leeway,
        default=DEFAULT_LEEWAY,
        metavar="SECONDS",
        help=f"clock skew tolerance (default {DEFAULT_LEEWAY:.0f}, at most 300)",
    )
    _add_passphrase(verify)
    verify.set_defaults(handler=_verify)

    # inspect
    inspect = commands.add_parser(
        "inspect", help="decode a token WITHOUT verifying it (debugging only)"
    )
    inspect.add_argument("token", metavar="TOKEN", help="the token, or - to read it from stdin")
    inspect.set_defaults(handler=_inspect)
    return parser


# --- shared helpers ---------------------------------------------------------------------------


class _Context:
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


def _passphrase(args: argparse.Namespace) -> bytes | None:
    """The key passphrase from ``--passphrase-env`` or ``--passphrase-file`` (never argv)."""
    return _secret(args.passphrase_env, args.passphrase_file, "--passphrase")


def _secret(var: str | None, path: Path | None, option: str) -> bytes | None:
    """A secret from an environment variable or a file (never argv); ``None`` if neither.

    Messages name the option (``option`` + ``-env`` / ``-file``), never its value: someone
    who typed the passphrase itself in place of the variable's name must not see it echoed.
    """
    if var is not None:
        value = os.environ.get(var)
        if value is None:
            raise _Failure(
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
        raise _Failure("passphrase", "the passphrase is empty", EXIT_USAGE)
    return secret


def _secret_file(path: Path, option: str) -> bytes:
    try:
        with path.open("rb") as handle:
            secret = handle.read(_MAX_PASSPHRASE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _Failure(
            "passphrase", f"the file named by {option} cannot be read ({reason})"
        ) from None
    if len(secret) > _MAX_PASSPHRASE_BYTES:
        raise _Failure("passphrase", f"the file named by {option} is too large", EXIT_USAGE)
    return secret.removesuffix(b"\n").removesuffix(b"\r")


def _open_store(ctx: _Context, directory: Path) -> Any:
    """Open an existing key directory as a ``FileKeyStore`` (imported only when needed)."""
    from .stores.file import FileKeyStore  # noqa: PLC0415 - keep `import tokensmith` cheap

    if not directory.is_dir():
        raise _Failure("not_found", f"key directory {directory} does not exist")
    return FileKeyStore(directory, passphrase=_passphrase(ctx.args), clock=ctx.clock)


def _read_token(ctx: _Context, value: str) -> str:
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
        raise _Failure("usage", "no token on stdin", EXIT_USAGE)
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


def _iso(instant: float | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix, to the second; ``None`` for ``None`` and for any
    instant a date cannot show (not finite, before year 1 or after year 9999)."""
    if instant is None or not math.isfinite(instant):
        return None
    try:
        moment = datetime.fromtimestamp(instant, UTC).replace(microsecond=0)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


# --- commands ---------------------------------------------------------------------------------


def _keys_init(ctx: _Context) -> int:
    from .stores.file import FileKeyStore  # noqa: PLC0415 - keep `import tokensmith` cheap

    args = ctx.args
    directory: Path = args.dir
    if directory.exists():
        if not directory.is_dir():
            raise _Failure("exists", f"{directory} exists and is not a directory")
        if any(directory.iterdir()):
            raise _Failure("exists", f"{directory} is not empty; refusing to overwrite keys")
    policy = RotationPolicy(
        rotate_every=args.rotate_every,
        publish_ahead=args.publish_ahead,
        verify_for=args.verify_for,
        alg=args.alg,
    )
    passphrase = _passphrase(args)
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        store = FileKeyStore(directory, passphrase=passphrase, policy=policy, clock=ctx.clock)
        key = store.signing_key()
    except InsecureKeyDirectory:
        raise  # nothing was written to a directory someone else could change: touch nothing
    except BaseException:  # leave no half-initialised directory behind
        _clear(directory, remove=created)
        raise
    protection = "encrypted with the passphrase" if passphrase else "NOT encrypted"
    ctx.print(f"initialised {directory}: {key.alg} key {key.kid} signs now")
    ctx.print(
        f"rotation: every {policy.rotate_every:.0f} s, published {policy.publish_ahead:.0f} s "
        f"ahead, verifying {policy.verify_for:.0f} s after retirement; private keys {protection}"
    )
    return EXIT_OK


def _clear(directory: Path, *, remove: bool) -> None:
    """Undo a failed ``keys init``: delete what it wrote (and the directory if it made it)."""
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _keys_passphrase(ctx: _Context) -> int:
    args = ctx.args
    store = _open_store(ctx, args.dir)  # needs the current passphrase
    new = (
        None
        if args.no_passphrase
        else _secret(args.new_passphrase_env, args.new_passphrase_file, "--new-passphrase")
    )
    store.change_passphrase(new)
    ctx.print(
        f"{args.dir} is now "
        + ("encrypted with the new passphrase" if new is not None else "NOT encrypted")
    )
    if new is None:
        ctx.warn("private keys are stored in the clear; protect the directory")
    return EXIT_OK


def _keys_rotate(ctx: _Context) -> int:
    store = _open_store(ctx, ctx.args.dir)
    now = ctx.clock()
    before = store.signing_key().kid
    store.rotate()
    keyset: KeySet = store.keyset
    pending = [k for k in keyset if k.is_private and key_state(k, now) == "pending"]
    if not pending:
        raise NoSigningKey("the rotation left no successor key")
    successor = pending[-1]
    ctx.print(
        f"published {successor.alg} key {successor.kid}; it signs from "
        f"{_iso(successor.not_before)} (key {before} retires then)"
    )
    return EXIT_OK


def _key_rows(keyset: KeySet, now: float) -> list[dict[str, Any]]:
    try:
        signing: str | None = keyset.signing_key(now).kid
    except NoSigningKey:
        signing = None
    return [
        {
            "kid": key.kid,
            "alg": key.alg,
            "state": key_state(key, now),
            "signing": key.kid == signing,
            "private": key.is_private,
            "activates_at": _iso(key.not_before),
            "retires_at": _iso(key.retire_at),
            "expires_at": _iso(key.not_after),
        }
        for key in keyset
    ]


def _keys_list(ctx: _Context) -> int:
    store = _open_store(ctx, ctx.args.dir)
    keyset: KeySet = store.keyset
    rows = _key_rows(keyset, ctx.clock())
    if ctx.args.json:
        ctx.print(_dump(rows))
        return EXIT_OK
    headers = ("KID", "ALG", "STATE", "ACTIVATES", "RETIRES", "EXPIRES")
    table = [
        (
            row["kid"] + (" *" if row["signing"] else ""),
            row["alg"],
            row["state"],
            row["activates_at"] or "-",
            row["retires_at"] or "-",
            row["expires_at"] or "-",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    for line in (headers, *table):
        ctx.print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    ctx.print("(* signs now; times are UTC)")
    return EXIT_OK


def _jwks(ctx: _Context) -> int:
    store: KeyStore = _open_store(ctx, ctx.args.dir)
    ctx.print(_dump(store.jwks()))
    return EXIT_OK


def _issue(ctx: _Context) -> int:
    from .signer import Signer  # noqa: PLC0415 - only this command signs

    args = ctx.args
    claims: dict[str, Any] = {}
    for name, value in args.claim:
        if name in claims:
            raise _Failure("usage", f"claim {name!r} is given twice", EXIT_USAGE)
        claims[name] = value
    scopes = [scope for text in args.scope for scope in text.split()]
    store = _open_store(ctx, args.keys)
    signer = Signer(store, issuer=args.iss, ttl=args.ttl, clock=ctx.clock)
    audience: list[str] = args.aud
    token = signer.issue(
        args.sub,
        audience=audience,
        scopes=scopes if args.scope else None,
        claims=claims or None,
    )
    ctx.print(token)
    return EXIT_OK


def _load_jwks(ctx: _Context, path: Path) -> MemoryKeyStore:
    """Keys from a JWKS document (or a single JWK), read by the rules ``RemoteJWKS`` and
    ``KeySet.from_jwks`` follow; unusable keys are skipped with a warning."""
    with path.open("rb") as handle:
        raw = handle.read(_MAX_JWKS_BYTES + 1)
    if len(raw) > _MAX_JWKS_BYTES:
        raise InvalidKey(f"{path} is larger than {_MAX_JWKS_BYTES} bytes")
    try:
        document = jwks_rules.load_document(raw)
        if isinstance(document, dict) and "keys" not in document and "kty" in document:
            document = {"keys": [document]}  # a single JWK
        keys, skipped = jwks_rules.parse_jwks(document, _JWKS_RULES, strict=False)
    except jwks_rules.DocumentError as exc:
        _warn_skipped(ctx, exc.skipped)
        raise InvalidKey(f"{path} {exc.message}") from None
    _warn_skipped(ctx, skipped)
    return MemoryKeyStore(KeySet(keys.values()), clock=ctx.clock)


def _warn_skipped(ctx: _Context, skipped: Sequence[jwks_rules.SkippedKey]) -> None:
    for refusal in skipped:
        ctx.warn(f"skipping {jwks_rules.describe(refusal)}: {refusal.reason}")


def _verify(ctx: _Context) -> int:
    args = ctx.args
    token = _read_token(ctx, args.token)
    source: KeySource = (
        _load_jwks(ctx, args.jwks) if args.jwks is not None else _open_store(ctx, args.keys)
    )
    validator = Validator(
        source,
        issuer=args.iss,
        audience=args.aud,
        leeway=args.leeway,
        clock=ctx.clock,
    )
    scopes = [scope for text in args.scope for scope in text.split()]
    verified = validator.validate(token, scopes=scopes)
    ctx.print(_dump(dict(verified.claims)))
    return EXIT_OK


def _inspect(ctx: _Context) -> int:
    token = _read_token(ctx, ctx.args.token)
    if len(token) > DEFAULT_MAX_TOKEN_SIZE:
        raise TokenTooLarge(f"token longer than {DEFAULT_MAX_TOKEN_SIZE} characters")
    if not token.isascii():
        raise MalformedToken("a token must be ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a token is a compact JWS: three segments separated by dots")
    header = segment_object(parts[0], "header")
    claims = segment_object(parts[1], "payload")
    times = {
        name: when
        for name in ("iat", "nbf", "exp")
        if isinstance(value := claims.get(name), int | float)
        and not isinstance(value, bool)
        and (when := _iso(value)) is not None
    }
    ctx.warn("the signature was NOT verified: do not trust these claims (use `verify`)")
    report = {
        "verified": False,
        "fingerprint": fingerprint(token),
        "header": header,
        "claims": claims,
        "times": times,
    }
    ctx.print(_dump(report))
    return EXIT_OK


# --- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], float] = time.time) -> int:
    """Run the ``tokensmith`` command; returns the exit code (see the module docstring).

    ``clock`` is injectable so tests can step time; the console script uses ``time.time``.
    """
    out, err = sys.stdout, sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    redact = _Redactor(arguments, _option_strings(parser))

    def fail(code: str, message: str, status: int) -> int:
        err.write(f"error: {code}: {redact(_one_line(message))}\n")
        return status

    try:
        args = parser.parse_args(arguments)
        handler: Callable[[_Context], int] = args.handler
        return handler(_Context(args, clock, out, err))
    except _Exit as done:
        if done.message:
            err.write(redact(done.message))
        return done.status
    except _Failure as exc:
        return fail(exc.code, exc.message, exc.status)
    except ConfigurationError as exc:
        return fail(exc.code, exc.message, EXIT_USAGE)
    except TokensmithError as exc:
        return fail(exc.code, exc.message, EXIT_FAILURE)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename is not None else ""
        return fail("io_error", f"{exc.strerror or type(exc).__name__}{where}", EXIT_FAILURE)
    except KeyboardInterrupt:
        err.write("error: interrupted\n")
        return 130
    except Exception as exc:  # a bug: one line, never a traceback (nor the exception text)
        err.write(f"error: internal: unexpected {type(exc).__name__}; please report it\n")
        return EXIT_INTERNAL
