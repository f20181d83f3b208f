"""The end-to-end tour of tokensmith, on the embedded defaults (run: python3 tools/run.py demo)."""

from __future__ import annotations

import json

import tokensmith
from tokensmith import (
    MemoryKeyStore,
    MemoryRevocationList,
    RotationPolicy,
    Signer,
    TokenError,
    Validator,
    revoke_token,
)
from tokensmith.testing import FakeClock

ISSUER = "https://auth.example.com"


def show(title: str) -> None:
    print(f"\n== {title}")


def main() -> None:
    clock = FakeClock()  # a steppable clock, so the tour can jump across expiry and rotation
    policy = RotationPolicy(rotate_every=86400, publish_ahead=600, verify_for=3600)
    store = MemoryKeyStore(policy=policy, clock=clock)
    revocations = MemoryRevocationList(clock=clock)
    signer = Signer(store, issuer=ISSUER, ttl=900, clock=clock)
    validator = Validator(
        store, issuer=ISSUER, audience="orders-api", revocation=revocations, clock=clock
    )
    print(f"tokensmith {tokensmith.__version__}")

    show("issue an access token")
    issued = signer.issue_token("user-123", audience="orders-api", scopes=["orders:read"])
    print(f"issued {issued} signed by kid {issued.key_id[:12]}...")

    show("validate it")
    tok = validator.validate(issued.token, scopes=["orders:read"])
    print(f"subject={tok.subject} scopes={sorted(tok.scopes)} expires_at={tok.expires_at:.0f}")

    show("refusals, each with a stable code")
    wrong_aud = signer.issue("user-123", audience="billing-api")
    for label, token, scopes in (
        ("wrong audience", wrong_aud, ()),
        ("insufficient scope", issued.token, ("orders:write",)),
    ):
        try:
            validator.validate(token, scopes=scopes)
        except TokenError as exc:
            print(f"{label:20} -> {exc.code} ({exc.error}, HTTP {exc.status_code})")
    clock.advance(900 + 60)  # past exp and the default 30 s leeway
    try:
        validator.validate(issued.token)
    except TokenError as exc:
        print(f"{'expired':20} -> {exc.code} ({exc.error}, HTTP {exc.status_code})")

    show("rotate the key")
    old = signer.issue_token("user-123", audience="orders-api")
    store.rotate()
    clock.advance(policy.publish_ahead)
    new = signer.issue_token("user-123", audience="orders-api")
    print(
        f"old token (kid {old.key_id[:12]}...) still valid: {bool(validator.validate(old.token))}"
    )
    print(f"new token signed by the new key {new.key_id[:12]}...: {new.key_id != old.key_id}")

    show("revoke a token")
    revoke_token(revocations, validator.validate(new.token))
    try:
        validator.validate(new.token)
    except TokenError as exc:
        print(f"revoked token        -> {exc.code}")

    show("public JWKS (what validators fetch)")
    print(json.dumps(store.jwks(), indent=2))


if __name__ == "__main__":
    main()
