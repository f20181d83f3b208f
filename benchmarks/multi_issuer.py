"""What routing on the unverified ``iss`` adds to ``validate()``, side by side in one process.

    .venv/bin/python benchmarks/multi_issuer.py [--rounds 11] [--number 2000]

Contenders, per algorithm (HS256, ES256), each validating the same token: a plain
``Validator`` for that one issuer; ``MultiIssuerValidator`` over a static map of 2 issuers;
``MultiIssuerValidator`` over a tenant template with 100 tenants already set up; and
``unverified_issuer()`` alone (the reading that routing adds); and a cache hit through a
``Validator`` and through a ``MultiIssuerValidator`` with ``cache_size``. Rounds are interleaved, their
order rotating; the table shows the median per-call time and the median of the per-round
ratios to the plain validator timed in the same round. Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

from tokensmith import KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.cache import ValidatedTokenCache
from tokensmith.issuers import MultiIssuerValidator, unverified_issuer

AUDIENCE = "orders-api"
TEMPLATE = "https://login.example.com/{tid}/v2.0"


def contenders(alg: str) -> dict[str, Callable[[], object]]:
    tenants = {f"t{n}": MemoryKeyStore(KeySet.generate(alg)) for n in range(100)}
    issuers = {TEMPLATE.replace("{tid}", tid): store for tid, store in tenants.items()}
    iss = TEMPLATE.replace("{tid}", "t42")
    store = issuers[iss]
    token = Signer(store, issuer=iss).issue("u", audience=AUDIENCE, claims={"tid": "t42"})
    plain = Validator(store, issuer=iss, audience=AUDIENCE)
    other = TEMPLATE.replace("{tid}", "t7")
    static = MultiIssuerValidator({iss: store, other: issuers[other]}, audience=AUDIENCE)
    templated = MultiIssuerValidator(
        templates=TEMPLATE, keys_for=issuers.__getitem__, audience=AUDIENCE, max_issuers=200
    )
    cached_plain = Validator(store, issuer=iss, audience=AUDIENCE, cache=ValidatedTokenCache(100))
    cached = MultiIssuerValidator(
        templates=TEMPLATE, keys_for=issuers.__getitem__, audience=AUDIENCE, cache_size=100
    )
    cached.validate(token)
    cached_plain.validate(token)
    for tid, tenant_store in tenants.items():  # set every tenant up, as in a warm service
        tenant_iss = TEMPLATE.replace("{tid}", tid)
        signer = Signer(tenant_store, issuer=tenant_iss)
        templated.validate(signer.issue("u", audience=AUDIENCE, claims={"tid": tid}))
    return {
        "Validator (one issuer)": lambda: plain.validate(token),
        "MultiIssuerValidator, static map of 2": lambda: static.validate(token),
        "MultiIssuerValidator, template, 100 tenants": lambda: templated.validate(token),
        "unverified_issuer() alone": lambda: unverified_issuer(token),
        "Validator, cache hit": lambda: cached_plain.validate(token),
        "MultiIssuerValidator, template, cache hit": lambda: cached.validate(token),
    }


def measure(alg: str, rounds: int, number: int) -> None:
    runs = contenders(alg)
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up
        timeit.timeit(runs[name], number=number // 10)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        this_round = {name: timeit.timeit(runs[name], number=number) / number for name in order}
        for name in names:
            times[name].append(this_round[name])
            ratios[name].append(this_round[name] / this_round[names[0]])
    print(f"\n{alg}: median of {rounds} interleaved rounds x {number} calls")
    print(f"| {'contender':<45} | {'µs/call':>8} | {'vs Validator':>12} |")
    print(f"| {'-' * 45} | {'-' * 8}: | {'-' * 12}: |")
    for name in names:
        us = statistics.median(times[name]) * 1e6
        print(f"| {name:<45} | {us:8.1f} | {statistics.median(ratios[name]):11.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    for alg in ("HS256", "ES256"):
        measure(alg, args.rounds, args.number)


if __name__ == "__main__":
    main()
