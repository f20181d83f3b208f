"""The end-to-end tour of tokensmith (run: python3 tools/run.py demo).

Keys live in a temporary directory (a FileKeyStore), as they would on a server; time is a
FakeClock, so the tour can jump across expiry and rotation without waiting.
"""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

import tokensmith
from tokensmith import (
    MemoryRevocationList,
    RotationPolicy,
    Signer,
    TokenError,
    Validator,
    revoke_token,
)
from tokensmith.stores.file import FileKeyStore
from tokensmith.testing import FakeClock

ISSUER = "https://auth.example.com"


def show(title: str) -> None:
    print(f"\n== {title}")


def refusal(label: str, validator: Validator, token: str, scopes: tuple[str, ...] = ()) -> None:
    """Validate a token that must be refused, and print why (the stable code)."""
    try:
        validator.validate(token, scopes=scopes)
    except TokenError as exc:
        print(f"{label:20} -> {exc.code} ({exc.error}, HTTP {exc.status_code})")
    else:
        raise SystemExit(f"BUG: {label} was accepted")


def tour(key_dir: Path) -> None:
    clock = FakeClock()  # a steppable clock, so the tour can jump across expiry and rotation
    policy = RotationPolicy(rotate_every=86400, publish_ahead=600, verify_for=3600)
    store = FileKeyStore(key_dir, policy=policy, clock=clock)
    revocations = MemoryRevocationList(clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=900, clock=clock)
    validator = Validator(
        store, issuer=ISSUER, audience="orders-api", revocation=revocations, clock=clock
    )
    print(f"tokensmith {tokensmith.__version__}")

    show("a key directory")
    first_key = store.signing_key()  # an empty directory gets its first key on first use
    print(f"keys live in {key_dir}")
    for path in sorted(key_dir.iterdir()):
        print(f"  {stat.filemode(path.stat().st_mode)}  {path.name}")
    print(f"signing key: {first_key.alg}, kid {first_key.kid[:12]}...")

    show("issue an access token")
    issued = signer.issue_token("user-123", audience="orders-api", scopes=["orders:read"])
    print(f"issued {issued} signed by kid {issued.key_id[:12]}...")

    show("validate it")
    tok = validator.validate(issued.token, scopes=["orders:read"])
    print(f"subject={tok.subject} scopes={sorted(tok.scopes)} expires_at={tok.expires_at:.0f}")

    show("refusals, each with a stable code")
    refusal("wrong audience", validator, signer.issue("user-123", audience="billing-api"))
    refusal("insufficient scope", validator, issued.token, ("orders:write",))
    clock.advance(900 + 60)  # past exp and the default 30 s leeway
    refusal("expired", validator, issued.token)

    show("rotate the key")
    old = signer.issue_token("user-123", audience="orders-api")
    store.rotate()  # publish a successor now; it signs once every validator can know it
    print(f"successor published {policy.publish_ahead:.0f} s before it signs")
    clock.advance(policy.publish_ahead)
    new = signer.issue_token("user-123", audience="orders-api")
    print(
        f"old token (kid {old.key_id[:12]}...) still valid: {bool(validator.validate(old.token))}"
    )
    print(f"new token signed by the new key {new.key_id[:12]}...: {new.key_id != old.key_id}")
    replica = FileKeyStore(key_dir, clock=clock)  # another process reading the same directory
    print(
        f"a second FileKeyStore on the directory signs with the same key: "
        f"{replica.signing_key().kid == new.key_id}"
    )

    show("revoke a token")
    revoke_token(revocations, validator.validate(new.token))
    refusal("revoked token", validator, new.token)

    show("public JWKS (what validators fetch)")
    print(json.dumps(store.jwks(), indent=2))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tokensmith-demo-") as tmp:
        key_dir = Path(tmp) / "keys"
        key_dir.mkdir(mode=0o700)  # private keys: readable by this user only
        tour(key_dir)
    print("\n(the demo key directory was removed; make your own with: tokensmith keys init DIR)")


if __name__ == "__main__":
    main()
