"""``tokensmith keys ...`` and ``tokensmith jwks``: create, rotate, re-encrypt and list the keys
of a directory, and print its public JWKS."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import InsecureKeyDirectory, NoSigningKey
from ..keys import SUPPORTED_ALGORITHMS, Key
from ..keyset import KeySet, RotationPolicy, key_state
from ..stores.base import KeyStore
from ._common import (
    EXIT_OK,
    Context,
    Failure,
    add_passphrase,
    dump,
    iso,
    open_store,
    passphrase,
    positive_seconds,
    secret,
)

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``keys`` (init, rotate, passphrase, list) and ``jwks`` to the command parser."""
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
        type=positive_seconds,
        default=defaults.rotate_every,
        metavar="SECONDS",
        help=f"seconds a key signs before its successor (default: {defaults.rotate_every:.0f})",
    )
    init.add_argument(
        "--publish-ahead",
        type=positive_seconds,
        default=defaults.publish_ahead,
        metavar="SECONDS",
        help="seconds a successor is published before it signs "
        f"(default: {defaults.publish_ahead:.0f})",
    )
    init.add_argument(
        "--verify-for",
        type=positive_seconds,
        default=defaults.verify_for,
        metavar="SECONDS",
        help="seconds a retired key keeps verifying; at least the longest token ttl "
        f"(default: {defaults.verify_for:.0f})",
    )
    add_passphrase(init)
    init.set_defaults(handler=_keys_init)

    rotate = key_commands.add_parser("rotate", help="publish a successor key now")
    rotate.add_argument("dir", metavar="DIR", type=Path)
    add_passphrase(rotate)
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
    add_passphrase(change)
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
    add_passphrase(listing)
    listing.set_defaults(handler=_keys_list)

    # jwks
    jwks = commands.add_parser("jwks", help="print the public JWKS of a key directory")
    jwks.add_argument("dir", metavar="DIR", type=Path)
    add_passphrase(jwks)
    jwks.set_defaults(handler=_jwks)


def _keys_init(ctx: Context) -> int:
    from ..stores.file import FileKeyStore  # noqa: PLC0415 - keep `import tokensmith` cheap

    args = ctx.args
    directory: Path = args.dir
    if directory.exists():
        if not directory.is_dir():
            raise Failure("exists", f"{directory} exists and is not a directory")
        if any(directory.iterdir()):
            raise Failure("exists", f"{directory} is not empty; refusing to overwrite keys")
    policy = RotationPolicy(
        rotate_every=args.rotate_every,
        publish_ahead=args.publish_ahead,
        verify_for=args.verify_for,
        alg=args.alg,
    )
    key_passphrase = passphrase(args)
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        store = FileKeyStore(directory, passphrase=key_passphrase, policy=policy, clock=ctx.clock)
        key = store.signing_key()
    except InsecureKeyDirectory:
        raise  # nothing was written to a directory someone else could change: touch nothing
    except BaseException:  # leave no half-initialised directory behind
        _clear(directory, remove=created)
        raise
    protection = "encrypted with the passphrase" if key_passphrase else "NOT encrypted"
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


def _keys_passphrase(ctx: Context) -> int:
    args = ctx.args
    store = open_store(ctx, args.dir)  # needs the current passphrase
    new = (
        None
        if args.no_passphrase
        else secret(args.new_passphrase_env, args.new_passphrase_file, "--new-passphrase")
    )
    store.change_passphrase(new)
    ctx.print(
        f"{args.dir} is now "
        + ("encrypted with the new passphrase" if new is not None else "NOT encrypted")
    )
    if new is None:
        ctx.warn("private keys are stored in the clear; protect the directory")
    return EXIT_OK


def _keys_rotate(ctx: Context) -> int:
    store = open_store(ctx, ctx.args.dir)
    now = ctx.clock()
    before = store.signing_key().kid
    already = _successors(store.keyset, now)
    store.rotate()
    pending = _successors(store.keyset, now)
    if not pending:
        raise NoSigningKey("the rotation left no successor key")
    successor = pending[-1]
    when = f"it signs from {iso(successor.not_before)} (key {before} retires then)"
    if successor.kid in {k.kid for k in already}:  # KeySet.rotate: already due, kept as is
        ctx.print(f"nothing to do: key {successor.kid} is already published; {when}")
    else:
        ctx.print(f"published {successor.alg} key {successor.kid}; {when}")
    return EXIT_OK


def _successors(keyset: KeySet, now: float) -> list[Key]:
    """The published keys that have not signed yet, in activation order."""
    return [k for k in keyset if k.is_private and key_state(k, now) == "pending"]


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
            "activates_at": iso(key.not_before),
            "retires_at": iso(key.retire_at),
            "expires_at": iso(key.not_after),
        }
        for key in keyset
    ]


def _keys_list(ctx: Context) -> int:
    store = open_store(ctx, ctx.args.dir)
    keyset: KeySet = store.keyset
    rows = _key_rows(keyset, ctx.clock())
    if ctx.args.json:
        ctx.print(dump(rows))
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


def _jwks(ctx: Context) -> int:
    store: KeyStore = open_store(ctx, ctx.args.dir)
    ctx.print(dump(store.jwks()))
    return EXIT_OK
