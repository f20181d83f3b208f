"""What keeping the event loop free costs ``avalidate()``, side by side in one run.

    .venv/bin/python benchmarks/avalidate.py [--rounds 9] [-n 20000]

Rows (ES256, one token, no cache), each timed as ``n`` awaits inside one coroutine, in
interleaved rounds whose order rotates; the table shows the median per-call time and its
median ratio to ``validate()`` timed in the same round:

* ``validate()``, the sync face: the floor;
* "inline sync call": a coroutine calling ``validate()``, which is what ``avalidate()`` did with a
  sync backend before issue 16 (and what it still costs where the backend may answer inline);
* ``avalidate()`` over ``MemoryKeyStore`` + ``MemoryRevocationList`` (their non-blocking
  twins, on the loop), and over a warm ``RemoteJWKS`` (its twin answers from the cache);
* ``avalidate()`` over a sync key source that declares nothing, so every call hops to
  tokensmith's worker pool and back: the price of not declaring a twin.

Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.jwks import HTTPResponse, RemoteJWKS, jwks_response
from tokensmith.revocation import MemoryRevocationList

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"


class Quiet:
    """A sync key source that says nothing about blocking (asked in the pool every time)."""

    def __init__(self, store: MemoryKeyStore) -> None:
        self.store = store

    def verification_key(self, kid: str | None, alg: str) -> Key:
        return self.store.verification_key(kid, alg)


class Served:
    """A transport answering from the issuer's store in process (the fetch is not measured)."""

    def __init__(self, store: MemoryKeyStore) -> None:
        self.store = store

    def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        response = jwks_response(self.store, max_age=3600)
        headers = {name.lower(): value for name, value in response.headers.items()}
        return HTTPResponse(200, headers, response.body)


async def per_call(call: Callable[[], Awaitable[object]], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        await call()
    return (time.perf_counter() - start) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("-n", type=int, default=20_000, help="calls per row per round")
    args = parser.parse_args()
    store = MemoryKeyStore(KeySet.generate("ES256"))
    token = Signer(store, issuer=ISSUER, ttl=3600).issue("user-1", audience=AUDIENCE)
    remote = RemoteJWKS("https://auth.example.com/jwks.json", transport=Served(store))
    remote.refresh()
    revocations = MemoryRevocationList()
    floor = Validator(store, issuer=ISSUER, audience=AUDIENCE)
    memory = Validator(store, issuer=ISSUER, audience=AUDIENCE, revocation=revocations)
    warm = Validator(remote, issuer=ISSUER, audience=AUDIENCE)
    quiet = Validator(Quiet(store), issuer=ISSUER, audience=AUDIENCE)

    async def sync_face() -> object:
        return floor.validate(token)

    async def inline() -> object:
        return memory.validate(token)

    rows: dict[str, Callable[[], Awaitable[object]]] = {
        "inline sync call (avalidate before issue 16)": inline,
        "avalidate(), MemoryKeyStore + MemoryRevocationList": lambda: memory.avalidate(token),
        "avalidate(), warm RemoteJWKS": lambda: warm.avalidate(token),
        "avalidate(), sync source without a twin (pool)": lambda: quiet.avalidate(token),
    }

    async def run() -> dict[str, tuple[list[float], list[float]]]:
        results: dict[str, tuple[list[float], list[float]]] = {"validate()": ([], [])}
        results.update({name: ([], []) for name in rows})
        for call in (sync_face, *rows.values()):  # warm-up
            await per_call(call, 500)
        names = list(rows)
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                base = await per_call(sync_face, args.n)
                took = await per_call(rows[name], args.n)
                results["validate()"][0].append(base)
                results[name][0].append(took)
                results[name][1].append(took / base)
        return results

    results = asyncio.run(run())
    print(f"ES256, {args.n} calls per row per round, {args.rounds} rounds\n")
    print("| call | median per call | ratio to validate() |")
    print("| --- | --- | --- |")
    for name, (times, ratios) in results.items():
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "1.00"
        print(f"| {name} | {statistics.median(times) * 1e6:.1f} µs | {ratio} |")
    remote.close()


if __name__ == "__main__":
    main()
