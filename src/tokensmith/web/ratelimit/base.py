"""What every rate limiter shares: the decision, the protocols, the GCRA and client keys (the
limiters: :mod:`.memory`, :mod:`.redis`; the brute-force throttles built on them: :mod:`.throttle`).

Key clients by :func:`client_key`, not by the raw address string: it gives one key per
client however its address is spelled, and one key per IPv6 ``/64`` (a host can rotate freely
inside its ``/64``).

The Generic Cell Rate Algorithm is a token bucket stored as one number per key, the
*theoretical arrival time* (TAT): a check is one read, one comparison and one write, so the Redis
backend does it in one atomic Lua script and every process sharing that Redis sees one limit.

:class:`RefusalThrottle` is the ready brute-force policy built on it: check a client before
validating its token, record each refusal, and after ``max_refusals`` refusals in a burst the
client is answered 429 until the bucket drains (one more attempt per ``window / max_refusals``
seconds, so a sustained attacker gets at most ``max_refusals`` guesses per ``window``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from ..._options import integer, number
from ...errors import ConfigurationError
from ..netrules import parse_address

__all__ = [
    "AsyncRateLimiter",
    "Decision",
    "RateLimiter",
    "check_cost",
    "check_key",
    "client_key",
    "gcra",
    "limits",
]

_MAX_KEY: Final = 512


def client_key(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    ipv6_prefix: int = 64,
    ipv4_prefix: int = 32,
) -> str:
    """The rate-limit key of a client address: one key per client, however it is spelled.

    The address is canonicalised (:func:`~tokensmith.web.parse_address`: whitespace,
    brackets and IPv6 zone ids go; IPv4-mapped IPv6 is IPv4; IPv6 in its compressed form), then
    aggregated to its network: IPv6 to ``ipv6_prefix`` bits (``/64`` by default, because one
    host or subscriber is given a whole ``/64`` and can pick any address in it), IPv4 to
    ``ipv4_prefix`` (``/32``: the address). The key is the address (``"203.0.113.7"``) or the
    network (``"2001:db8:1:2::/64"``). Anything that is not an IP address raises
    :class:`~tokensmith.errors.NetworkNotAllowed`.
    """
    v6 = integer("ipv6_prefix", ipv6_prefix, minimum=0, maximum=128)
    v4 = integer("ipv4_prefix", ipv4_prefix, minimum=0, maximum=32)
    ip = parse_address(address)
    prefix = v4 if ip.version == 4 else v6
    if prefix == ip.max_prefixlen:
        return str(ip)
    host_bits = ip.max_prefixlen - prefix
    return f"{type(ip)(int(ip) >> host_bits << host_bits)}/{prefix}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of one check: allowed or not, when to retry, and what is left of the burst.

    ``retry_after`` is in seconds (``0.0`` when allowed); ``remaining`` is how many more
    requests would be allowed right now (after this one, for a check).
    """

    allowed: bool
    retry_after: float
    remaining: int


@runtime_checkable
class RateLimiter(Protocol):
    """What :class:`RefusalThrottle` needs; both limiters here implement it."""

    def check(self, key: str, *, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``key`` if allowed; a denied check counts nothing."""
        ...

    def peek(self, key: str) -> Decision:
        """Would one more request for ``key`` be allowed? Counts nothing."""
        ...


@runtime_checkable
class AsyncRateLimiter(Protocol):
    """The async twin of :class:`RateLimiter` (what :class:`AsyncRefusalThrottle` needs)."""

    async def check(self, key: str, *, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``key`` if allowed; a denied check counts nothing."""
        ...

    async def peek(self, key: str) -> Decision:
        """Would one more request for ``key`` be allowed? Counts nothing."""
        ...


def limits(rate: object, burst: object) -> tuple[float, int]:
    """``(interval, burst)``: seconds between requests at ``rate`` per second, and the burst."""
    per_second = number("rate", rate, unit="requests per second", positive=True)
    return 1.0 / per_second, integer("burst", burst, minimum=1)


def check_key(key: object) -> str:
    """A rate-limit key: a non-empty string of at most 512 characters."""
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ConfigurationError(f"a rate-limit key must be a non-empty string of <= {_MAX_KEY}")
    return key


def check_cost(cost: object, burst: int) -> int:
    """How many requests one check counts: an int from 1 to ``burst``."""
    return integer("cost", cost, minimum=1, maximum=burst)


def gcra(
    tat: float, now: float, interval: float, burst: int, cost: int
) -> tuple[bool, float, int, float]:
    """``(allowed, retry_after, remaining, new_tat)``: the whole algorithm, in Python (the Redis
    backend runs the same steps in Lua)."""
    tat = max(tat, now)
    new_tat = tat + interval * cost
    allow_at = new_tat - burst * interval
    if now < allow_at:
        remaining = max(0, int((now - (tat - burst * interval)) / interval + 1e-9))
        return False, allow_at - now, remaining, tat
    return True, 0.0, int((now - allow_at) / interval + 1e-9), new_tat
