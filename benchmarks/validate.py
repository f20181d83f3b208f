"""validate() and issue() against the floor and PyJWT, side by side in one process.

    .venv/bin/python benchmarks/validate.py [--rounds 15] [--markdown out.md]

For each algorithm the contenders are timed in interleaved rounds (the order rotates every
round) and the median per-call time of each is reported with its ratio to the floor:

* floor (validate): split + strict base64url of three segments + JSON of header and payload +
  the raw ``cryptography`` verify with a pre-loaded key; nothing else.
* floor (sign): JSON + base64url + the raw ``cryptography`` sign.
* tokensmith: ``Validator.validate`` with every default check on (signature, alg, kid, typ, iss,
  aud, exp, nbf, iat) plus a required scope; ``Signer.issue``.
* PyJWT: ``jwt.decode`` with the same checks (key pre-loaded, scope checked after);
  ``jwt.encode``.

The token is a realistic access token: 9 claims, 5 scopes, a kid.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import platform
import statistics
import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
SCOPES = ["orders:read", "orders:write", "profile", "email", "offline"]
ALGORITHMS = ["HS256", "RS256", "PS256", "ES256", "EdDSA"]


def b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def floor_verifier(key: Key) -> Callable[[str], object]:
    """The least work any validator must do: split, decode, parse, verify."""
    alg = key.alg
    public = key._verifier  # the pre-loaded cryptography key (or HMAC secret)
    if alg == "HS256":

        def verify(message: bytes, signature: bytes) -> None:
            expected = hmac.digest(public, message, "sha256")
            if not hmac.compare_digest(expected, signature):
                raise ValueError("bad signature")

    elif alg == "RS256":

        def verify(message: bytes, signature: bytes) -> None:
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())

    elif alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

        def verify(message: bytes, signature: bytes) -> None:
            public.verify(signature, message, pss, hashes.SHA256())

    elif alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def verify(message: bytes, signature: bytes) -> None:
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), message, ecdsa)

    else:

        def verify(message: bytes, signature: bytes) -> None:
            public.verify(signature, message)

    loads = json.loads

    def floor(token: str) -> object:
        h, p, s = token.split(".")
        header = loads(b64d(h))
        payload = loads(b64d(p))
        verify(f"{h}.{p}".encode(), b64d(s))
        return header, payload

    return floor


def floor_signer(key: Key) -> Callable[[dict[str, object]], str]:
    alg = key.alg
    private = key._material
    header = b64e(json.dumps({"alg": alg, "kid": key.kid, "typ": "JWT"}).encode())
    if alg == "HS256":

        def sign(message: bytes) -> bytes:
            return hmac.digest(private, message, "sha256")

    elif alg == "RS256":

        def sign(message: bytes) -> bytes:
            return private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    elif alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

        def sign(message: bytes) -> bytes:
            return private.sign(message, pss, hashes.SHA256())

    elif alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def sign(message: bytes) -> bytes:
            return private.sign(message, ecdsa)  # DER; conversion to raw omitted (floor)

    else:

        def sign(message: bytes) -> bytes:
            return private.sign(message)

    def floor(payload: dict[str, object]) -> str:
        signing_input = f"{header}.{b64e(json.dumps(payload, separators=(',', ':')).encode())}"
        return f"{signing_input}.{b64e(sign(signing_input.encode()))}"

    return floor


def pyjwt_key(key: Key) -> object:
    return key._verifier


def time_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(
    contenders: dict[str, Callable[[], object]], rounds: int, calls: int
) -> dict[str, float]:
    names = list(contenders)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for fn in contenders.values():  # warm up
        time_call(fn, max(1, calls // 10))
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(time_call(contenders[name], calls))
    return {n: statistics.median(v) for n, v in samples.items()}


def run(rounds: int) -> list[tuple[str, dict[str, float]]]:
    results = []
    now = int(time.time())
    for alg in ALGORITHMS:
        key = Key.generate(alg)
        store = MemoryKeyStore(KeySet([key]))
        signer = Signer(store, issuer=ISSUER, ttl=3600)
        claims = {"tenant": "acme"}
        token = signer.issue(
            "user-123", audience=AUDIENCE, scopes=SCOPES, claims=claims, not_before=now
        )
        validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
        required = ["orders:read"]
        floor = floor_verifier(key)
        sign_floor = floor_signer(key)
        verify_key = pyjwt_key(key)
        payload = jwt.decode(token, options={"verify_signature": False})

        def pyjwt_validate() -> object:
            decoded = jwt.decode(
                token,
                verify_key,
                algorithms=[alg],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iss", "aud"]},
            )
            if not set(required) <= set(decoded["scope"].split()):
                raise ValueError("scope")
            return decoded

        calls = 400 if alg == "HS256" else 100
        validate = measure(
            {
                "floor": lambda: floor(token),
                "tokensmith": lambda: validator.validate(token, scopes=required),
                "pyjwt": pyjwt_validate,
            },
            rounds,
            calls,
        )
        sign = measure(
            {
                "floor": lambda: sign_floor(payload),
                "tokensmith": lambda: signer.issue(
                    "user-123", audience=AUDIENCE, scopes=SCOPES, claims=claims
                ),
                "pyjwt": lambda: jwt.encode(
                    payload, key._material, algorithm=alg, headers={"kid": key.kid}
                ),
            },
            rounds,
            calls,
        )
        results.append(
            (
                alg,
                {
                    **{f"validate {k}": v for k, v in validate.items()},
                    **{f"sign {k}": v for k, v in sign.items()},
                },
            )
        )
    return results


def table(results: list[tuple[str, dict[str, float]]]) -> str:
    lines = [
        "| alg | validate floor µs | tokensmith µs (× floor) | PyJWT µs (× floor) | tokensmith / PyJWT | sign floor µs | issue() µs (× floor) | PyJWT encode µs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for alg, r in results:
        vf, vt, vp = r["validate floor"], r["validate tokensmith"], r["validate pyjwt"]
        sf, st, sp = r["sign floor"], r["sign tokensmith"], r["sign pyjwt"]
        lines.append(
            f"| {alg} | {vf:.1f} | {vt:.1f} ({vt / vf:.2f}×) | {vp:.1f} ({vp / vf:.2f}×) | {vt / vp:.2f} "
            f"| {sf:.1f} | {st:.1f} ({st / sf:.2f}×) | {sp:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    results = run(args.rounds)
    text = (
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"PyJWT {jwt.__version__}, medians of {args.rounds} interleaved rounds\n\n{table(results)}\n"
    )
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()
