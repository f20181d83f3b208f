"""Coverage-guided fuzzing of the validator with atheris (not run in CI).

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/fuzz_validate.py -max_total_time=600 -rss_limit_mb=2048 fuzz/corpus

Each input is split by its first byte into one of five targets:

0. raw bytes as a token (``bytes`` input to ``validate``);
1. the same bytes decoded as text (surrogates and non-ASCII included);
2. arbitrary header and payload bytes, signed with the right HMAC key, so the header and
   payload parsers run behind a valid signature;
3. a fixed, valid header with an arbitrary payload, signed, so the claim rules run;
4. parse-only: ``Key.from_jwk`` on the text and ``b64url_decode``.

Finding = any exception that is not a :class:`tokensmith.errors.TokensmithError` (and, for
``b64url_decode``, not its documented ``ValueError``), or an accepted token whose signature
segment is not exactly our HMAC key's tag over its first two segments (a forgery).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import sys

import atheris

with atheris.instrument_imports(include=["tokensmith"]):
    from tokensmith import Key, KeySet, MemoryKeyStore, Validator
    from tokensmith._b64 import b64url_decode
    from tokensmith.errors import KeyMaterialError, TokensmithError
    from tokensmith.policy import NO_AUDIENCE, UNCHECKED, UNSAFE_ANY_AUDIENCE
    from tokensmith.testing import FakeClock

NOW = 1_700_000_000.0
SECRET = bytes(range(32))
CLOCK = FakeClock(NOW)
STORE = MemoryKeyStore(
    KeySet([Key.from_secret(SECRET, "HS256", kid="k1"), Key.generate("ES256", kid="e1")]),
    clock=CLOCK,
)
STRICT = Validator(STORE, issuer="https://issuer.test", audience="api", clock=CLOCK)
LOOSE = Validator(
    STORE,
    issuer=UNCHECKED,
    audience=UNSAFE_ANY_AUDIENCE,
    token_types=UNCHECKED,
    require_exp=False,
    max_age=3600,
    required_claims=["sub"],
    clock=CLOCK,
)
NO_AUD = Validator(
    STORE,
    issuer="https://issuer.test",
    audience=NO_AUDIENCE,
    scope_claims=("scope", "scp", "scopes"),
    clock=CLOCK,
)
HEADER = b'{"alg":"HS256","kid":"k1","typ":"JWT"}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signed(header: bytes, payload: bytes) -> str:
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    tag = hmac.digest(SECRET, signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_b64(tag)}"


def _validate(token: str | bytes) -> None:
    for validator in (STRICT, LOOSE, NO_AUD):
        try:
            verified = validator.validate(token)
        except TokensmithError:
            continue
        # Accepted: it must be exactly what our HMAC key signs (the fuzzer cannot make ES256
        # signatures, so an ES256 acceptance would be a forgery too).
        text = token.decode("ascii") if isinstance(token, bytes) else token
        signing_input, _, signature = text.rpartition(".")
        expected = hmac.digest(SECRET, signing_input.encode("ascii"), hashlib.sha256)
        if verified.key_id != "k1" or _b64(expected) != signature:
            raise AssertionError("accepted a token that our key did not sign")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0] % 5, data[1:]
    if target == 0:
        _validate(body)
    elif target == 1:
        _validate(body.decode("utf-8", "surrogateescape"))
    elif target == 2:
        fdp = atheris.FuzzedDataProvider(body)
        header = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256))
        _validate(_signed(header, fdp.ConsumeBytes(4096)))
    elif target == 3:
        _validate(_signed(HEADER, body))
    else:
        text = body.decode("utf-8", "surrogateescape")
        with contextlib.suppress(KeyMaterialError):
            Key.from_jwk(text)
        with contextlib.suppress(ValueError):  # its documented refusal
            b64url_decode(text)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
