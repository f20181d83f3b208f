"""The shortest useful tokensmith program: issue a token, validate it, handle a refusal.

Run it with tokensmith installed: ``python examples/quickstart.py``.
"""

from __future__ import annotations

from tokensmith import KeySet, MemoryKeyStore, Signer, TokenError, Validator

ISSUER = "https://auth.example.com"


def main() -> int:
    store = MemoryKeyStore(KeySet.generate("ES256"))  # one ES256 key, in memory
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
