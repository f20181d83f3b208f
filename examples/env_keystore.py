"""A custom KeyStore whose keys come from an environment variable (e.g. a secrets manager).

The variable holds a JWKS document of *private* JWKs. Each JWK may carry its rotation schedule
in three extra members (seconds since the epoch): ``not_before`` (starts signing),
``retire_at`` (stops signing) and ``not_after`` (stops verifying). Rotation is then data, not
a deploy: provision next month's key today with a later ``not_before``; it is published in the
JWKS at once and every replica starts signing with it at the same instant.

A key store is three methods (see ``tokensmith.KeyStore``); a ``KeySet`` does the rotation
arithmetic, so this class only parses and delegates. Test yours with
``tokensmith.testing.KeyStoreContract`` (tests/docs/test_examples.py does it for this one).

Run it: ``python examples/env_keystore.py`` (it provisions the variable in-process first).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith import (
    ConfigurationError,
    InvalidKey,
    Key,
    KeySet,
    RotationPolicy,
    Signer,
    Validator,
)

VARIABLE = "TOKENSMITH_KEYS"
_SCHEDULE = ("not_before", "retire_at", "not_after")


class EnvKeyStore:
    """Keys from one environment variable, parsed once at construction.

    Parsing once means a bad variable fails at startup (``InvalidKey`` or
    ``ConfigurationError``), not on the first request, and the hot path does no JSON work.
    """

    def __init__(
        self,
        variable: str = VARIABLE,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        env = os.environ if environ is None else environ
        raw = env.get(variable)
        if raw is None:
            raise ConfigurationError(f"environment variable {variable} is not set")
        self._keyset = parse_keys(raw, variable)
        self._clock = clock
        if not any(key.can_sign for key in self._keyset):
            raise InvalidKey(f"{variable} holds no private key: this store could never sign")

    def signing_key(self) -> Key:
        """The key that signs now: the newest private key already active."""
        return self._keyset.signing_key(self._clock())

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a token header's ``kid`` and ``alg``; ``UnknownKey`` if there is none."""
        return self._keyset.verification_key(kid, alg, self._clock())

    def jwks(self) -> dict[str, Any]:
        """Public halves of every pending, active and retired key (never private members)."""
        return self._keyset.jwks(self._clock())

    def __repr__(self) -> str:  # kids only: never key material
        return f"EnvKeyStore({[key.kid for key in self._keyset]!r})"


def parse_keys(raw: str, variable: str = VARIABLE) -> KeySet:
    """A KeySet from a JWKS document whose JWKs may carry schedule members."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise InvalidKey(f"{variable} is not valid JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidKey(f"{variable} must be a JWKS document with a non-empty 'keys' list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidKey(f"{variable}: every key must be a JSON object")
        jwk = dict(entry)
        schedule = {name: jwk.pop(name, None) for name in _SCHEDULE}
        for name, value in schedule.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise InvalidKey(f"{variable}: {name} must be a number of seconds")
        keys.append(Key.from_jwk(jwk).with_lifecycle(**schedule))
    return KeySet(keys)


def provision(policy: RotationPolicy, *, start: float, periods: int = 12) -> str:
    """The variable's value for ``periods`` keys rotating per ``policy`` from ``start``.

    What a deploy pipeline would run once and store in its secrets manager.
    """
    keys = []
    for i in range(periods):
        begin = start + i * policy.rotate_every
        retire = begin + policy.rotate_every
        jwk = Key.generate(policy.alg).to_jwk(private=True)
        jwk["not_before"] = None if i == 0 else begin
        jwk["retire_at"] = retire
        jwk["not_after"] = retire + policy.verify_for
        keys.append(jwk)
    return json.dumps({"keys": keys})


def main() -> int:
    policy = RotationPolicy(rotate_every=86400, publish_ahead=3600, verify_for=3600)
    os.environ[VARIABLE] = provision(policy, start=time.time(), periods=3)
    store = EnvKeyStore()
    print(f"loaded {store!r} from ${VARIABLE}")

    issuer = "https://auth.example.com"
    token = Signer(store, issuer=issuer, ttl=600).issue("user-123", audience="orders-api")
    tok = Validator(store, issuer=issuer, audience="orders-api").validate(token)
    print(f"signed by {tok.key_id[:12]}..., valid for subject {tok.subject}")
    published = [jwk["kid"][:12] + "..." for jwk in store.jwks()["keys"]]
    print(f"published in the JWKS (current and scheduled keys): {published}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
