"""validate() with a Redis revocation check over loopback, and the local fast path.

    .venv/bin/python benchmarks/redis_revocation.py [--url redis://127.0.0.1:6379/0] [-n 3000]

Without ``--url`` a private redis-server is started on a free loopback port (as in the tests).
Reported (median of interleaved rounds, ES256 tokens):

* validations/s of ``avalidate()`` with ``AsyncRedisRevocationList`` with 1 and 8 concurrent
  asyncio tasks, and of sync ``validate()`` with ``RedisRevocationList``;
* the overhead of the Redis check over the same validator without revocation;
* the warm overhead of the fast path (``LocalCache``): ``validate()`` with a validated-token
  cache (so the base is a few µs) with and without the fast-path revocation check, and a bare
  warm ``is_revoked()`` call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tokensmith import MemoryKeyStore, Signer, Validator  # noqa: E402
from tokensmith.cache import ValidatedTokenCache  # noqa: E402
from tokensmith.revocation.redis import (  # noqa: E402
    AsyncRedisRevocationList,
    LocalCache,
    RedisRevocationList,
)

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"


def per_call(function: Any, number: int, rounds: int = 5) -> float:
    """Median seconds per call over ``rounds`` runs of ``number`` calls."""
    return statistics.median(timeit.repeat(function, number=number, repeat=rounds)) / number


async def async_rate(validator: Validator, token: str, total: int, tasks: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await validator.avalidate(token)

    started = time.perf_counter()
    await asyncio.gather(*(worker(total // tasks) for _ in range(tasks)))
    return (total // tasks * tasks) / (time.perf_counter() - started)


async def async_rates(url: str, token: str, store: MemoryKeyStore, total: int) -> dict[str, float]:
    results: dict[str, float] = {}
    async with AsyncRedisRevocationList.from_url(url) as revocations:
        validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, revocation=revocations)
        await async_rate(validator, token, 200, 1)  # warm up connections and scripts
        for tasks in (1, 8):
            runs = [await async_rate(validator, token, total, tasks) for _ in range(3)]
            results[f"avalidate + Redis, {tasks} task{'s' if tasks > 1 else ''}"] = max(runs)
    plain = Validator(store, issuer=ISSUER, audience=AUDIENCE)
    for tasks in (1, 8):
        runs = [await async_rate(plain, token, total, tasks) for _ in range(3)]
        results[f"avalidate, no revocation, {tasks} task{'s' if tasks > 1 else ''}"] = max(runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing Redis (default: start a private one)")
    parser.add_argument("-n", type=int, default=3000, help="validations per measurement")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from tests.support.redis import RedisServer

        server = RedisServer()
        server.start()
        url = server.url
    try:
        run(url, args.n)
    finally:
        if server is not None:
            server.cleanup()


def run(url: str, total: int) -> None:
    store = MemoryKeyStore()
    signer = Signer(store, issuer=ISSUER, ttl=3600)
    token = signer.issue("user-1", audience=AUDIENCE, claims={"sid": "session-1"})

    rates = asyncio.run(async_rates(url, token, store, total))

    plain = Validator(store, issuer=ISSUER, audience=AUDIENCE)
    with (
        RedisRevocationList.from_url(url) as direct,
        RedisRevocationList.from_url(url, local_cache=LocalCache(max_staleness=1.0)) as fast,
    ):
        checked = Validator(store, issuer=ISSUER, audience=AUDIENCE, revocation=direct)
        base = per_call(lambda: plain.validate(token), total // 3)
        with_redis = per_call(lambda: checked.validate(token), total // 3)

        deadline = time.monotonic() + 5
        while not fast.cache_live and time.monotonic() < deadline:
            time.sleep(0.01)
        cached_plain = Validator(
            store, issuer=ISSUER, audience=AUDIENCE, cache=ValidatedTokenCache()
        )
        cached_fast = Validator(
            store, issuer=ISSUER, audience=AUDIENCE, cache=ValidatedTokenCache(), revocation=fast
        )
        verified = cached_fast.validate(token)  # warms both caches
        cached_plain.validate(token)
        number = 200_000
        rounds = []
        for _ in range(7):  # interleaved, so drift hits both sides alike
            a = per_call(lambda: cached_plain.validate(token), number, rounds=1)
            b = per_call(lambda: cached_fast.validate(token), number, rounds=1)
            rounds.append((a, b))
        cached_base = statistics.median(a for a, _ in rounds)
        cached_with_fast = statistics.median(b for _, b in rounds)
        bare_hit = per_call(lambda: fast.is_revoked(verified), number)
        assert fast.cache_live, "the fast path never went live"

    print(
        f"Redis at {url.rsplit('@', maxsplit=1)[-1]}, ES256 tokens, {total} validations per rate\n"
    )
    print("| measurement | result |")
    print("| --- | --- |")
    print(f"| validate(), no revocation | {1 / base:,.0f} /s ({base * 1e6:.1f} µs) |")
    print(
        f"| validate() + RedisRevocationList (1 MGET) | {1 / with_redis:,.0f} /s "
        f"({with_redis * 1e6:.1f} µs) |"
    )
    print(f"| overhead of the Redis check (sync) | {(with_redis - base) * 1e6:+.1f} µs |")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} /s |")
    one = rates["avalidate + Redis, 1 task"]
    one_plain = rates["avalidate, no revocation, 1 task"]
    print(
        f"| overhead of the Redis check (async, 1 task) | {(1 / one - 1 / one_plain) * 1e6:+.1f} µs |"
    )
    print(f"| validate() with token cache, no revocation | {cached_base * 1e6:.2f} µs |")
    print(f"| validate() with token cache + fast path, warm | {cached_with_fast * 1e6:.2f} µs |")
    print(
        f"| fast-path warm overhead in validate() | {(cached_with_fast - cached_base) * 1e6:+.2f} µs |"
    )
    print(f"| bare warm is_revoked() | {bare_hit * 1e6:.2f} µs |")


if __name__ == "__main__":
    main()
