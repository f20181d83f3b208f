"""tokensmith against the floor and every peer, side by side in one process.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/peers.py [--rounds 11] [--markdown docs/performance-table.md]

Discipline: every contender for one algorithm is timed in the same process, in interleaved
rounds whose order rotates, after a warm-up, with the floor timed again after every
contender; the table shows the median per-call time and the median of its ratios to the floor
timed just before and just after it (paired ratios: a slow moment of a shared machine hits
both sides of a ratio alike). Nothing here is asserted by the test suite.

Contenders (validate = same checks everywhere: signature, alg, iss, aud, exp + a scope):
floor (split + base64url + JSON + raw ``cryptography`` verify; for HS256 its ``HMAC`` keyed
once and copied per token, compared with ``hmac.compare_digest``), tokensmith ``validate()``,
tokensmith with a warm ``ValidatedTokenCache`` hit, PyJWT, joserfc, Authlib, jwcrypto and
python-jose. Sign: floor (JSON + base64url + raw sign, incl. the DER→raw conversion for
ECDSA), ``Signer.issue()`` and each peer's encode.

Also reported: ``import tokensmith`` and ``import jwt`` (fresh interpreters, interleaved),
validations per second with 1, 2 and 4 threads, and what a key source or revocation backend
adds to ``validate()``: a warm ``RemoteJWKS`` fed by a real HTTP server on 127.0.0.1, the memory
revocation list, and ``RedisRevocationList`` with and without its local fast path against a
private ``redis-server`` on a free loopback port (skipped when the binary is missing).
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import timeit
import warnings
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.cache import ValidatedTokenCache

warnings.filterwarnings("ignore")

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
SCOPES = ["orders:read", "orders:write", "profile", "email", "offline"]
ALGORITHMS = ["HS256", "RS256", "PS256", "ES256", "EdDSA"]


def b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the floor -------------------------------------------------------------------------------


def floor_functions(key: Key) -> tuple[Callable[[str], object], Callable[[dict[str, Any]], str]]:
    alg = key.alg
    public, private = key._verifier, key._material
    ecdsa = ec.ECDSA(hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    pkcs = padding.PKCS1v15()
    sha = hashes.SHA256()

    # the raw cryptography HMAC, its key schedule computed once and copied per token
    keyed = crypto_hmac.HMAC(public, hashes.SHA256()) if alg == "HS256" else None

    def mac(message: bytes) -> bytes:
        assert keyed is not None
        copy = keyed.copy()
        copy.update(message)
        return copy.finalize()

    def verify(message: bytes, signature: bytes) -> None:
        if alg == "HS256":
            if not hmac.compare_digest(mac(message), signature):
                raise ValueError("bad signature")
        elif alg == "RS256":
            public.verify(signature, message, pkcs, sha)
        elif alg == "PS256":
            public.verify(signature, message, pss, sha)
        elif alg == "ES256":
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), message, ecdsa)
        else:
            public.verify(signature, message)

    def sign(message: bytes) -> bytes:
        if alg == "HS256":
            return mac(message)
        if alg == "RS256":
            return private.sign(message, pkcs, sha)
        if alg == "PS256":
            return private.sign(message, pss, sha)
        if alg == "ES256":
            r, s = decode_dss_signature(private.sign(message, ecdsa))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return private.sign(message)

    loads = json.loads

    def floor_validate(token: str) -> object:
        h, p, s = token.split(".")
        header, payload = loads(b64d(h)), loads(b64d(p))
        verify(f"{h}.{p}".encode(), b64d(s))
        return header, payload

    header = b64e(json.dumps({"alg": alg, "kid": key.kid, "typ": "JWT"}).encode())

    def floor_sign(payload: dict[str, Any]) -> str:
        signing_input = f"{header}.{b64e(json.dumps(payload, separators=(',', ':')).encode())}"
        return f"{signing_input}.{b64e(sign(signing_input.encode()))}"

    return floor_validate, floor_sign


# --- peers -----------------------------------------------------------------------------------


def peers(
    key: Key, token: str, payload: dict[str, Any]
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """name -> (validate, sign); a peer that cannot do this algorithm is left out."""
    alg, kid = key.alg, key.kid
    private_jwk = key.to_jwk(private=True)
    public_jwk = private_jwk if key.is_symmetric else key.to_jwk()
    required = {"orders:read"}
    out: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {}

    def scope_ok(claims: dict[str, Any]) -> None:
        if not required <= set(claims["scope"].split()):
            raise ValueError("scope")

    def add(
        name: str, build: Callable[[], tuple[Callable[[], object], Callable[[], object]]]
    ) -> None:
        try:
            validate, sign = build()
            validate()
            sign()
        except Exception as exc:  # the peer does not support this algorithm
            print(f"  {name} {alg}: n/a ({type(exc).__name__})", file=sys.stderr)
            return
        out[name] = (validate, sign)

    def pyjwt_build() -> tuple[Callable[[], object], Callable[[], object]]:
        vkey, skey = key._verifier, key._material

        def validate() -> object:
            claims = pyjwt.decode(
                token, vkey, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "iss", "aud"]},
            )  # fmt: skip
            scope_ok(claims)
            return claims

        return validate, lambda: pyjwt.encode(payload, skey, algorithm=alg, headers={"kid": kid})

    def joserfc_build() -> tuple[Callable[[], object], Callable[[], object]]:
        from joserfc import jwt as jjwt
        from joserfc.jwk import JWKRegistry

        vkey = JWKRegistry.import_key(public_jwk)
        skey = JWKRegistry.import_key(private_jwk)
        registry = jjwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
        )

        def validate() -> object:
            decoded = jjwt.decode(token, vkey, algorithms=[alg])
            registry.validate(decoded.claims)
            scope_ok(decoded.claims)
            return decoded

        return validate, lambda: jjwt.encode(
            {"alg": alg, "kid": kid}, payload, skey, algorithms=[alg]
        )

    def authlib_build() -> tuple[Callable[[], object], Callable[[], object]]:
        from authlib.jose import JsonWebKey, JsonWebToken

        engine = JsonWebToken([alg])
        vkey = JsonWebKey.import_key(public_jwk)
        skey = JsonWebKey.import_key(private_jwk)
        options = {
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": AUDIENCE},
            "exp": {"essential": True},
        }

        def validate() -> object:
            claims = engine.decode(token, vkey, claims_options=options)
            claims.validate()
            scope_ok(claims)
            return claims

        return validate, lambda: engine.encode({"alg": alg, "kid": kid}, payload, skey)

    def jwcrypto_build() -> tuple[Callable[[], object], Callable[[], object]]:
        from jwcrypto import jwk as jjwk
        from jwcrypto import jwt as jjwt

        vkey = jjwk.JWK(**public_jwk)
        skey = jjwk.JWK(**private_jwk)
        checks = {"iss": ISSUER, "aud": AUDIENCE, "exp": None}

        def validate() -> object:
            t = jjwt.JWT(jwt=token, key=vkey, algs=[alg], check_claims=checks)
            claims = json.loads(t.claims)
            scope_ok(claims)
            return claims

        def sign() -> object:
            t = jjwt.JWT(header={"alg": alg, "kid": kid}, claims=payload)
            t.make_signed_token(skey)
            return t.serialize()

        return validate, sign

    def jose_build() -> tuple[Callable[[], object], Callable[[], object]]:
        from jose import jwt as jjwt

        vkey = public_jwk
        skey = private_jwk

        def validate() -> object:
            claims = jjwt.decode(token, vkey, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
            scope_ok(claims)
            return claims

        return validate, lambda: jjwt.encode(payload, skey, algorithm=alg, headers={"kid": kid})

    add("PyJWT", pyjwt_build)
    add("joserfc", joserfc_build)
    add("Authlib", authlib_build)
    add("jwcrypto", jwcrypto_build)
    add("python-jose", jose_build)
    return out


# --- timing ----------------------------------------------------------------------------------


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved(
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    calls: int,
    more_calls: dict[str, int] | None = None,
) -> dict[str, tuple[float, float, float]]:
    """name -> (median µs, median paired ratio, median paired difference in µs) against the
    first contender (the floor).

    ``calls`` per sample, or ``more_calls[name]`` for contenders a hundred times cheaper
    than the rest (cache hits): a sample of a few dozen 1 µs calls mostly measures the CPU
    caches the previous contender left cold.

    Within a round the floor is timed before the first contender and again after every one,
    so each sample is paired with the mean of the floor timed just before and just after it:
    a slow moment of a shared machine hits both sides of a ratio alike. The order of the
    other contenders rotates from round to round.
    """
    floor_name, *names = list(contenders)
    floor = contenders[floor_name]
    samples: dict[str, list[float]] = {n: [] for n in contenders}
    ratios: dict[str, list[float]] = {floor_name: [1.0], **{n: [] for n in names}}
    diffs: dict[str, list[float]] = {floor_name: [0.0], **{n: [] for n in names}}
    for fn in contenders.values():
        per_call_us(fn, max(5, calls // 5))
    for r in range(rounds):
        shift = r % len(names)
        before = per_call_us(floor, calls)
        samples[floor_name].append(before)
        for name in names[shift:] + names[:shift]:
            value = per_call_us(contenders[name], (more_calls or {}).get(name, calls))
            after = per_call_us(floor, calls)
            samples[floor_name].append(after)
            paired = (before + after) / 2
            samples[name].append(value)
            ratios[name].append(value / paired)
            diffs[name].append(value - paired)
            before = after
    return {
        n: (
            statistics.median(samples[n]),
            statistics.median(ratios[n]),
            statistics.median(diffs[n]),
        )
        for n in contenders
    }


def cache_hits(
    validators: dict[str, tuple[Validator, str]], rounds: int, calls: int
) -> dict[str, tuple[float, float]]:
    """alg -> (median, minimum) µs of one ``validate(token, scopes=["orders:read"])`` answered
    from the cache, over ``rounds`` rounds whose order rotates. A hit does the same work
    whatever the algorithm. Timed with ``timeit`` and the call written inline (no wrapper
    function, which would add a tenth of what is measured); the minimum is what ``timeit``'s
    documentation recommends reading, the median what a shared machine gives."""
    timers = {
        alg: timeit.Timer(
            'validate(token, scopes=["orders:read"])',
            globals={"validate": validator.validate, "token": token},
        )
        for alg, (validator, token) in validators.items()
    }
    names = list(timers)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for timer in timers.values():
        timer.timeit(calls)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(timers[name].timeit(calls) / calls * 1e6)
    return {n: (statistics.median(v), min(v)) for n, v in samples.items()}


def import_times(rounds: int) -> tuple[float, float, float, float]:
    """Import costs in ms, each the median over fresh interpreters: ``import tokensmith``
    alone (the headline: it no longer imports jwt, which it loads only to parse a JWK or export
    a private one), ``import jwt`` alone, the median of their paired differences, and, in one
    interpreter, ``import jwt`` then ``import tokensmith``: what tokensmith adds to an
    application that already imported PyJWT (they share ``cryptography``)."""
    timed = (
        "import time; t = time.perf_counter(); import {first}; u = time.perf_counter(); "
        "import tokensmith; print(u - t, time.perf_counter() - u)"
    )
    samples: dict[str, list[float]] = {"jwt": [], "tokensmith": [], "added": []}
    # Bytecode is written and reused, as for an installed wheel (pip compiles at install).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run(first: str) -> tuple[float, float]:
        out = subprocess.run(
            [sys.executable, "-c", timed.format(first=first)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        a, b = out.stdout.split()
        return float(a) * 1000, float(b) * 1000

    for r in range(-1, rounds):
        # The order alternates: here a process started right after another one imports a few
        # ms slower or faster depending on which ran first, which biases a fixed order.
        if r % 2:
            alone_ms, _ = run("tokensmith")
            jwt_ms, added_ms = run("jwt")
        else:
            jwt_ms, added_ms = run("jwt")
            alone_ms, _ = run("tokensmith")
        if r < 0:
            continue  # the warm-up pass writes any missing bytecode
        samples["jwt"].append(jwt_ms)
        samples["added"].append(added_ms)
        samples["tokensmith"].append(alone_ms)
    diffs = [t - j for t, j in zip(samples["tokensmith"], samples["jwt"], strict=True)]
    return (
        statistics.median(samples["tokensmith"]),
        statistics.median(samples["jwt"]),
        statistics.median(samples["added"]),
        statistics.median(diffs),
    )


def threads_throughput(validate: Callable[[], object], threads: int, seconds: float) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            for _ in range(20):
                validate()
            n += 20
        counts[i] = n

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / seconds


# --- the run ---------------------------------------------------------------------------------


def fmt(result: tuple[float, float, float] | None) -> str:
    if result is None:
        return "n/a"
    value, ratio, _ = result
    return f"{value:.1f} ({ratio:.2f}×)"


def backends(rounds: int) -> list[tuple[str, float, float]]:
    """(label, median µs, median paired overhead µs) of validate() with each key source and
    revocation backend, against the same validator on a local MemoryKeyStore."""
    import contextlib
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tokensmith import MemoryRevocationList
    from tokensmith.jwks import RemoteJWKS, jwks_response

    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=ISSUER, ttl=3600)
    token = signer.issue("user-123", audience=AUDIENCE, scopes=SCOPES, claims={"sid": "s-1"})
    response = jwks_response(store)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in {**response.headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    stack = contextlib.ExitStack()
    stack.callback(http.shutdown)
    remote = RemoteJWKS(f"http://127.0.0.1:{http.server_address[1]}/jwks.json", issuer=ISSUER)
    stack.callback(remote.close)

    def make(keys: Any = store, **options: Any) -> Callable[[], object]:
        validator = Validator(keys, issuer=ISSUER, audience=AUDIENCE, **options)
        validator.validate(token)  # warm: fetches the JWKS, fills caches
        return lambda: validator.validate(token)

    contenders = {
        "validate(), local MemoryKeyStore (base)": make(),
        "RemoteJWKS (warm)": make(remote),
        "MemoryRevocationList": make(revocation=MemoryRevocationList()),
    }
    try:
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
        from tests.support.redis import RedisServer

        from tokensmith.revocation.redis import LocalCache, RedisRevocationList

        server = RedisServer()
        server.start()
        stack.callback(server.cleanup)
        direct = stack.enter_context(RedisRevocationList.from_url(server.url))
        fast = stack.enter_context(
            RedisRevocationList.from_url(server.url, local_cache=LocalCache(max_staleness=1.0))
        )
        deadline = time.monotonic() + 5
        while not fast.cache_live and time.monotonic() < deadline:
            time.sleep(0.01)
        contenders["RedisRevocationList (1 round trip)"] = make(revocation=direct)
        contenders["RedisRevocationList + local fast path"] = make(revocation=fast)
        contenders["cache hit (base for the next row)"] = make(cache=ValidatedTokenCache())
        contenders["cache hit + Redis fast path"] = make(
            cache=ValidatedTokenCache(), revocation=fast
        )
    except Exception as exc:  # no redis-server binary, or it did not start
        print(f"Redis rows skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
    with stack:
        cheap = ("cache hit (base for the next row)", "cache hit + Redis fast path")
        results = interleaved(contenders, rounds, 200, dict.fromkeys(cheap, 2000))
    rows = [(name, value, diff) for name, (value, _, diff) in results.items()]
    if "cache hit (base for the next row)" in results:  # the fast path against a cache hit
        base = results["cache hit (base for the next row)"][0]
        name, value, _ = rows[-1]
        rows[-1] = (name, value, value - base)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--markdown", help="write the tables to this file too")
    parser.add_argument("--thread-seconds", type=float, default=1.0)
    args = parser.parse_args()

    validate_rows, sign_rows, thread_rows = [], [], []
    hits: dict[str, tuple[Validator, str]] = {}
    peer_names = ["PyJWT", "joserfc", "Authlib", "jwcrypto", "python-jose"]
    now = int(time.time())
    for alg in ALGORITHMS:
        print(f"measuring {alg}...", file=sys.stderr)
        key = Key.generate(alg)
        store = MemoryKeyStore(KeySet([key]))
        signer = Signer(store, issuer=ISSUER, ttl=3600)
        token = signer.issue(
            "user-123", audience=AUDIENCE, scopes=SCOPES, claims={"tenant": "acme"}, not_before=now
        )
        payload = pyjwt.decode(token, options={"verify_signature": False})
        validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
        cached = Validator(store, issuer=ISSUER, audience=AUDIENCE, cache=ValidatedTokenCache())
        floor_validate, floor_sign = floor_functions(key)
        others = peers(key, token, payload)
        calls = 300 if alg == "HS256" else 60
        v = interleaved(
            {
                "floor": lambda: floor_validate(token),
                "tokensmith": lambda: validator.validate(token, scopes=["orders:read"]),
                **{n: f[0] for n, f in others.items()},
            },
            args.rounds,
            calls,
        )
        cached.validate(token)  # the entry is made
        hits[alg] = (cached, token)
        s = interleaved(
            {
                "floor": lambda: floor_sign(payload),
                "tokensmith": lambda: signer.issue(
                    "user-123", audience=AUDIENCE, scopes=SCOPES, claims={"tenant": "acme"}
                ),
                **{n: f[1] for n, f in others.items()},
            },
            args.rounds,
            calls,
        )
        validate_rows.append((alg, v))
        sign_rows.append((alg, s))
        thread_rows.append(
            (
                alg,
                [
                    threads_throughput(lambda: validator.validate(token), n, args.thread_seconds)
                    for n in (1, 2, 4)
                ],
            )
        )

    print("measuring cache hits...", file=sys.stderr)
    hit_us = cache_hits(hits, args.rounds, 5000)

    import_rounds = max(21, 2 * args.rounds)
    ts_import, jwt_import, import_added, import_diff = import_times(import_rounds)
    print("measuring key sources and revocation backends...", file=sys.stderr)
    backend_rows = backends(args.rounds)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {_cpu()}; medians of {args.rounds} interleaved rounds, µs per call "
        "(median of the per-round ratios to the floor).",
        "",
        "### validate()",
        "",
        "| alg | floor | tokensmith | cache hit | " + " | ".join(peer_names) + " |",
        "|---|---|---|---|" + "---|" * len(peer_names),
    ]
    for alg, r in validate_rows:
        cells = [fmt(r.get("tokensmith")), f"{hit_us[alg][0]:.2f} (min {hit_us[alg][1]:.2f})"]
        cells += [fmt(r.get(n)) for n in peer_names]
        lines.append(f"| {alg} | {r['floor'][0]:.1f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### issue() / encode",
        "",
        "| alg | floor | tokensmith | " + " | ".join(peer_names) + " |",
        "|---|---|---|" + "---|" * len(peer_names),
    ]
    for alg, r in sign_rows:
        cells = [fmt(r.get(n)) for n in ["tokensmith", *peer_names]]
        lines.append(f"| {alg} | {r['floor'][0]:.1f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Throughput with threads (validations per second, one process)",
        "",
        "| alg | 1 thread | 2 threads | 4 threads |",
        "|---|---|---|---|",
    ]
    for alg, counts in thread_rows:
        lines.append(f"| {alg} | {counts[0]:,.0f} | {counts[1]:,.0f} | {counts[2]:,.0f} |")
    lines += [
        "",
        "### Import time",
        "",
        f"`import tokensmith`: **{ts_import:.1f} ms** (PyJWT is imported only when a JWK is "
        f"parsed or a private one exported); `import jwt` {jwt_import:.1f} ms, median paired "
        f"difference {import_diff:+.1f} ms; after `import jwt` in the same interpreter, "
        f"`import tokensmith` adds {import_added:+.1f} ms (medians of {import_rounds} fresh "
        "interpreters each, the order alternating).",
        "",
    ]
    lines += [
        "### What a key source or revocation backend adds to validate() (ES256)",
        "",
        "| configuration | µs per validate() | added (paired median) |",
        "|---|---|---|",
    ]
    for name, value, diff in backend_rows:
        lines.append(f"| {name} | {value:.1f} | {diff:+.2f} µs |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(text)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
