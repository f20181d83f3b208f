"""What a DPoP-bound request costs, against the raw ``cryptography`` floor, side by side in one run.

    .venv/bin/python benchmarks/dpop.py [--rounds 11] [--calls 200] [--alg ES256]

Per request a resource server verifies two signatures: the access token's and the DPoP
proof's. The **floor** does only what cannot be skipped, with ``cryptography`` directly: split,
base64url-decode and ``json.loads`` both JWS, and verify both signatures (no claim checks, no
replay store, no URI comparison). **tokensmith** does the whole job:
``DPoPVerifier.verify(proof, method=, uri=, access_token=)`` (every RFC 9449 §4.3 check, the
``jti`` spent in a :class:`~tokensmith.replay.MemoryJtiReplayStore`) then
``Validator.validate(token, confirmation=proof.confirmation)``. Each call gets a fresh proof,
signed before the timing starts. Rounds are interleaved (``peers.interleaved``): the floor is
timed before and after every contender, so each ratio is paired. The target: <= 1.10x.

Also shown: a bearer ``validate()`` plus a raw proof verification (what DPoP adds to a bearer
request, read the other way), and a bearer ``validate()`` alone against its 1-verify floor.
Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

from peers import b64d, floor_functions, interleaved

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.dpop import DPoPProofMaker, DPoPVerifier

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
URI = "https://api.example.com/orders"


def supply(maker: DPoPProofMaker, token: str, count: int) -> Iterator[str]:
    """``count`` fresh proofs for the benchmark's request, signed ahead of the timing."""
    return iter([maker.proof("GET", URI, access_token=token) for _ in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--alg", default="ES256", choices=["ES256", "EdDSA", "RS256", "PS256"])
    args = parser.parse_args()

    issuer_key = Key.generate(args.alg)
    store = MemoryKeyStore(KeySet([issuer_key]))
    signer = Signer(store, issuer=ISSUER, ttl=3600)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
    client_key = Key.generate(args.alg)
    maker = DPoPProofMaker(client_key)
    token = signer.issue(
        "user-123", audience=AUDIENCE, scopes=["orders:read"], confirmation=maker.confirmation
    )
    bearer = signer.issue("user-123", audience=AUDIENCE, scopes=["orders:read"])
    verifier = DPoPVerifier(max_age=3600)

    token_floor, _ = floor_functions(issuer_key)
    raw_proof, _ = floor_functions(client_key)
    total = (args.rounds + 2) * args.calls * 2
    proofs = supply(maker, token, total)
    floor_proofs = supply(maker, token, total * 3)  # the floor runs twice per contender

    def floor() -> object:
        return token_floor(token), raw_proof(next(floor_proofs))

    def bearer_and_raw_proof() -> object:
        return validator.validate(bearer), raw_proof(next(floor_proofs))

    def tokensmith_dpop() -> object:
        proof = verifier.verify(next(proofs), method="GET", uri=URI, access_token=token)
        return validator.validate(token, confirmation=proof.confirmation)

    results = interleaved(
        {
            "floor: 2 raw verifies": floor,
            "tokensmith: proof + bound token": tokensmith_dpop,
            "tokensmith bearer validate + raw proof verify": bearer_and_raw_proof,
        },
        args.rounds,
        args.calls,
    )
    bearer_results = interleaved(
        {
            "floor: 1 raw verify": lambda: token_floor(bearer),
            "tokensmith: bearer validate": lambda: validator.validate(bearer),
        },
        args.rounds,
        args.calls,
    )
    dpop_median = results["tokensmith: proof + bound token"][0]
    bearer_median = results["tokensmith bearer validate + raw proof verify"][0]
    print(f"{args.alg}, {args.rounds} interleaved rounds of {args.calls} calls\n")
    print("| what | µs per request | × floor |")
    print("| --- | ---: | ---: |")
    for table in (results, bearer_results):
        for name, (median, ratio, _) in table.items():
            print(f"| {name} | {median:.1f} | {ratio:.2f} |")
    print(
        f"\nDPoP request / (bearer validate + raw proof verify): {dpop_median / bearer_median:.2f}"
    )
    payload = json.loads(b64d(token.split(".")[1]))
    assert payload["cnf"] == {"jkt": maker.jkt}


if __name__ == "__main__":
    main()
