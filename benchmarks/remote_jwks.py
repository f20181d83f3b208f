"""Warm key lookup: RemoteJWKS against a local KeySet (and PyJWT's PyJWKClient), per call.

    .venv/bin/python benchmarks/remote_jwks.py [--rounds 7] [--number 200000]

The remote set is fetched once from a real HTTP server on 127.0.0.1; every timed call then hits
the warm cache. Contenders:

* ``KeySet.verification_key(kid, alg, now)`` — the local floor (``now`` passed in);
* ``MemoryKeyStore.verification_key(kid, alg)`` — the local store (reads the clock);
* ``RemoteJWKS.verification_key(kid, alg)`` — the remote cache (clock read, compare, lookup);
* ``AsyncRemoteJWKS.verification_key`` driven without an event loop (coroutine ``send``);
* an ``async def`` wrapper around the KeySet floor, driven the same way (the cost of a
  coroutine call itself, the floor for the async face);
* PyJWT ``PyJWKClient.get_signing_key(kid)``: default options (JWK set cached, keys re-parsed
  on every call) and ``cache_keys=True`` (an ``lru_cache`` that never expires entries).

The per-call overhead of RemoteJWKS is reported against the KeySet floor; the issue's target is
at most 1 µs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import timeit
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tokensmith import KeySet, MemoryKeyStore
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS, jwks_response


def serve(body: bytes, headers: dict[str, str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_coroutine(coro: object) -> object:
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the warm path awaited something")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()

    keyset = KeySet.generate("ES256")
    store = MemoryKeyStore(keyset)
    response = jwks_response(store)
    server = serve(response.body, dict(response.headers))
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    kid = next(iter(keyset)).kid
    remote = RemoteJWKS(url)
    remote.refresh()
    aremote = AsyncRemoteJWKS(url)
    aremote._state = remote._state  # share the warm snapshot: no event loop needed
    now = time.time()

    async def async_floor() -> object:
        return keyset.verification_key(kid, "ES256", now)

    contenders: dict[str, Callable[[], object]] = {
        "KeySet.verification_key (floor)": lambda: keyset.verification_key(kid, "ES256", now),
        "MemoryKeyStore.verification_key": lambda: store.verification_key(kid, "ES256"),
        "RemoteJWKS.verification_key": lambda: remote.verification_key(kid, "ES256"),
        "async floor (coroutine around KeySet)": lambda: run_coroutine(async_floor()),
        "AsyncRemoteJWKS.verification_key": lambda: run_coroutine(
            aremote.verification_key(kid, "ES256")
        ),
    }
    try:
        import jwt

        client = jwt.PyJWKClient(url, cache_keys=True)
        client.get_signing_key(kid)
        contenders["PyJWT PyJWKClient(cache_keys=True)"] = lambda: client.get_signing_key(kid)
        plain = jwt.PyJWKClient(url)
        plain.get_signing_key(kid)
        contenders["PyJWT PyJWKClient() default"] = lambda: plain.get_signing_key(kid)
    except Exception as exc:  # pragma: no cover - PyJWT variant without the client
        print(f"(PyJWT client skipped: {type(exc).__name__})")

    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, call in contenders.items():
            number = args.number if "PyJWT" not in name else max(args.number // 50, 1000)
            results[name].append(timeit.timeit(call, number=number) / number * 1e9)
    server.shutdown()
    server.server_close()

    floor = statistics.median(results["KeySet.verification_key (floor)"])
    rows = []
    for name, samples in results.items():
        median = statistics.median(samples)
        rows.append(
            {
                "contender": name,
                "ns_per_call": round(median, 1),
                "overhead_ns": round(median - floor, 1),
            }
        )
        print(f"{name:40s} {median:9.1f} ns/call   (+{median - floor:7.1f} ns over the floor)")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
