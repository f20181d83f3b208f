"""Cost per event of the in-memory anomaly windows as distinct keys stream through a full store.

    .venv/bin/python benchmarks/anomaly_windows.py [--keys 1000000] [--max-keys 100000]

Pushes ``--keys`` distinct keys (one event each) through ``MemoryWindows(max_keys=...)``: the
store is full after the first ``--max-keys`` and every later key evicts. Reported per slice of
100,000 events, in microseconds per event, for the store alone (``MemoryWindows.add``) and for
a ``RefusalBurstDetector`` fed ``token.refused`` events, each from another IPv6 ``/64`` (an
attacker rotating networks; rotating addresses inside one ``/64`` is one key). Flat columns
mean eviction is O(1) amortised; before issue 14 item 3 each new key in a full store scanned
every key (about 29 ms per event at 100,000 keys).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tokensmith.observability.anomaly import MemoryWindows, RefusalBurstDetector  # noqa: E402
from tokensmith.observability.audit import AuditEvent  # noqa: E402

T0 = 1_700_000_000.0
SLICE = 100_000


def slices(total: int, event: Callable[[int], None]) -> list[float]:
    """Microseconds per event for each slice of ``SLICE`` events."""
    costs = []
    for start in range(0, total, SLICE):
        count = min(SLICE, total - start)
        began = time.perf_counter()
        for i in range(start, start + count):
            event(i)
        costs.append((time.perf_counter() - began) / count * 1e6)
    return costs


def store_events(max_keys: int) -> Callable[[int], None]:
    windows = MemoryWindows(max_keys=max_keys)

    def event(i: int) -> None:
        windows.add(f"refused:ip:{i}", "m", T0 + i * 1e-4, 60.0)

    return event


def detector_events(max_keys: int) -> Callable[[int], None]:
    signals: list[AuditEvent] = []
    detector = RefusalBurstDetector(
        signals.append,
        threshold=20,
        window=60.0,
        by=("ip",),
        store=MemoryWindows(max_keys=max_keys),
    )

    def event(i: int) -> None:
        ip = f"2001:db8:{i >> 16 & 0xFFFF:x}:{i & 0xFFFF:x}:{i * 2654435761 & 0xFFFF:x}::1"
        detector(AuditEvent("token.refused", T0 + i * 1e-4, code="invalid_signature", ip=ip))

    return event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys pushed")
    parser.add_argument("--max-keys", type=int, default=100_000, help="MemoryWindows max_keys")
    args = parser.parse_args(argv)
    store = slices(args.keys, store_events(args.max_keys))
    detector = slices(args.keys, detector_events(args.max_keys))
    print(f"{args.keys:,} distinct keys, MemoryWindows(max_keys={args.max_keys:,})")
    print(f"{'events':>22}  {'store µs/event':>14}  {'detector µs/event':>17}")
    for n, (a, b) in enumerate(zip(store, detector, strict=True)):
        first, last = n * SLICE + 1, min((n + 1) * SLICE, args.keys)
        print(f"{first:>10,}-{last:>11,}  {a:>14.2f}  {b:>17.2f}")
    full = store[args.max_keys // SLICE :] or store
    print(
        f"full store: {min(full):.2f}-{max(full):.2f} µs/event (max/min {max(full) / min(full):.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
