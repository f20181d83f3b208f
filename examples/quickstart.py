"""The shortest useful tokensmith program: issue a token, validate it, handle a refusal.

Run it with tokensmith installed: ``python examples/quickstart.py``.
"""

from __future__ import annotations

from tokensmith import MemoryKeyStore, RotationPolicy, Signer, TokenError, Validator

ISSUER = "https://auth.example.com"


def main() -> int:
    # ES256 keys in memory, a new one every 30 days, published a day before it signs
    store = MemoryKeyStore(policy=RotationPolicy(rotate_every=30 * 86400, alg="ES256"))
    signer = Signer(store, issuer=ISSUER, ttl=3600)
    token = signer.issue(
        "user-123", audience="orders-api", scopes=["orders:read"], claims={"tenant": "acme"}
    )

    validator = Validator(store, issuer=ISSUER, audience="orders-api")
    tok = validator.validate(token, scopes=["orders:read"])
    print(f"valid: subject={tok.subject} scopes={sorted(tok.scopes)} tenant={tok.claims['tenant']}")

    try:
        validator.validate(token, scopes=["orders:write"])
    except TokenError as exc:  # exc.code is stable; exc.error and exc.status_code are for HTTP
        print(f"refused: {exc.code} ({exc.error}, HTTP {exc.status_code})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
