"""``tokensmith issue``, ``verify`` and ``inspect``: tokens from a key directory, checked against
a directory or a JWKS file, or decoded without verification (debugging only)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from .._json import StrictJSONError
from .._json import loads as strict_json
from .._jws import segment_object
from ..claims import fingerprint
from ..errors import InvalidKey, MalformedToken, TokenTooLarge
from ..jwks import document as jwks_rules
from ..keyset import KeySet
from ..policy import DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE
from ..stores.base import KeySource
from ..stores.memory import MemoryKeyStore
from ..validator import Validator
from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    Context,
    Failure,
    add_passphrase,
    dump,
    iso,
    open_store,
    positive_seconds,
    read_token,
)

__all__ = ["register"]

_CLAIM_NAME: Final = re.compile(r"[^\s=]+")
_MAX_JWKS_BYTES: Final = 1 << 20
_JWKS_RULES: Final = jwks_rules.JWKSRules(
    missing_alg_hint='add an "alg" member to the key in the file to say which algorithm it is for'
)


def register(commands: Any) -> None:
    """Add ``issue``, ``verify`` and ``inspect`` to the command parser."""
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
        "--ttl",
        type=positive_seconds,
        default=3600.0,
        metavar="SECONDS",
        help="lifetime (default 3600)",
    )
    issue.add_argument(
        "--claim",
        action="append",
        type=_claim,
        default=[],
        metavar="NAME=JSON",
        help="a custom claim whose value is JSON; repeatable",
    )
    add_passphrase(issue)
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
    add_passphrase(verify)
    verify.set_defaults(handler=_verify)

    # inspect
    inspect = commands.add_parser(
        "inspect", help="decode a token WITHOUT verifying it (debugging only)"
    )
    inspect.add_argument("token", metavar="TOKEN", help="the token, or - to read it from stdin")
    inspect.set_defaults(handler=_inspect)


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


def _issue(ctx: Context) -> int:
    from ..signer import Signer  # noqa: PLC0415 - only this command signs

    args = ctx.args
    claims: dict[str, Any] = {}
    for name, value in args.claim:
        if name in claims:
            raise Failure("usage", f"claim {name!r} is given twice", EXIT_USAGE)
        claims[name] = value
    scopes = [scope for text in args.scope for scope in text.split()]
    store = open_store(ctx, args.keys)
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


def _load_jwks(ctx: Context, path: Path) -> MemoryKeyStore:
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


def _warn_skipped(ctx: Context, skipped: Sequence[jwks_rules.SkippedKey]) -> None:
    for refusal in skipped:
        ctx.warn(f"skipping {jwks_rules.describe(refusal)}: {refusal.reason}")


def _verify(ctx: Context) -> int:
    args = ctx.args
    token = read_token(ctx, args.token)
    source: KeySource = (
        _load_jwks(ctx, args.jwks) if args.jwks is not None else open_store(ctx, args.keys)
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
    ctx.print(dump(dict(verified.claims)))
    return EXIT_OK


def _inspect(ctx: Context) -> int:
    token = read_token(ctx, ctx.args.token)
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
        and (when := iso(value)) is not None
    }
    ctx.warn("the signature was NOT verified: do not trust these claims (use `verify`)")
    report = {
        "verified": False,
        "fingerprint": fingerprint(token),
        "header": header,
        "claims": claims,
        "times": times,
    }
    ctx.print(dump(report))
    return EXIT_OK
