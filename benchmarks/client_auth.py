"""What a ``client_secret_basic`` attempt costs, and that every failure costs the same.

    .venv/bin/python benchmarks/client_auth.py [--rounds 20]

Runs, interleaved in one loop so that load on the machine hits every case alike: the right
secret, a wrong secret, an unknown client id, and a client registered for another method
(``client_secret_post``), all through ``ClientAuthenticator.authenticate`` with a
``Basic`` header. Prints the median milliseconds per attempt and each case's ratio to the
right-secret case: the ratios near 1.0 are the point (no timing oracle for client ids or
methods), the milliseconds are scrypt's cost (``N = 2**14``, ``r = 8``, ``p = 1``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tokensmith.errors import InvalidClient  # noqa: E402
from tokensmith.oauth import (  # noqa: E402
    Client,
    ClientAuthenticator,
    ClientRegistration,
    MemoryClientRegistry,
    basic_authorization,
    generate_client_secret,
    hash_client_secret,
)

SECRET = generate_client_secret()


def authenticator() -> ClientAuthenticator:
    def client(client_id: str) -> Client:
        return Client(client_id, allowed_scopes=frozenset({"a"}), audience="api")

    stored = hash_client_secret(SECRET)
    return ClientAuthenticator(
        MemoryClientRegistry(
            [
                ClientRegistration(client("basic"), "client_secret_basic", secret_hash=stored),
                ClientRegistration(client("post"), "client_secret_post", secret_hash=stored),
            ]
        )
    )


def attempt(auth: ClientAuthenticator, header: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(InvalidClient):
            auth.authenticate({}, http_method="POST", authorization=header)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    auth = authenticator()
    cases = {
        "right secret": attempt(auth, basic_authorization("basic", SECRET)),
        "wrong secret": attempt(auth, basic_authorization("basic", SECRET + "x")),
        "unknown client": attempt(auth, basic_authorization("nobody", SECRET)),
        "other method": attempt(auth, basic_authorization("post", SECRET)),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)
    base = statistics.median(times["right secret"])
    print(f"{'case':<16}{'median ms':>10}{'ratio':>8}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<16}{median * 1e3:>10.1f}{median / base:>8.2f}")


if __name__ == "__main__":
    main()
