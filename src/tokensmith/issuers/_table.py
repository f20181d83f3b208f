"""The bookkeeping of lazily set-up issuers: bounded, budgeted, and failures remembered.

A multi-issuer validator that sets issuers up on demand must not let the tokens it is sent
decide how much memory it holds or how many fetches it starts. This table holds that line:

* at most ``max_issuers`` issuers are kept; when one more is needed, the least recently used
  issuer that never verified a token goes first, and only then the least recently used of
  the rest, so a flood of made-up tenants cannot push out the tenants that are in use;
* at most ``budget`` issuers are set up per ``window`` seconds (a sliding window); past it a
  new issuer is refused as an outage (503) until the window moves on;
* an issuer whose set-up or first use failed as an outage (its metadata or keys could not be
  fetched) is dropped and refused, without a fetch, for ``retry_after`` seconds; at most
  ``max_issuers`` such failures are remembered.

Sans I/O: the caller passes ``now`` and the function that builds a route. Set-ups run one at
a time (two threads never set up the same issuer twice), outside the short lock that serves
the issuers already kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import BackendUnavailable

if TYPE_CHECKING:
    from ..validator import Validator

__all__ = ["IssuerTable", "Route"]


class Route:
    """One issuer's validator, and whether it has verified a token yet."""

    __slots__ = ("issuer", "lazy", "proven", "validator")

    def __init__(self, issuer: str, validator: Validator, *, lazy: bool) -> None:
        self.issuer = issuer
        self.validator = validator
        self.lazy = lazy
        self.proven = not lazy


class IssuerTable:
    """Lazily set-up issuers, bounded (see the module's docstring)."""

    __slots__ = (
        "_budget",
        "_created",
        "_failed",
        "_lock",
        "_max",
        "_proven",
        "_retry_after",
        "_setup_lock",
        "_unproven",
        "_window",
        "setups",
    )

    def __init__(self, *, max_issuers: int, budget: int, window: float, retry_after: float):
        self._max = max_issuers
        self._budget = budget
        self._window = window
        self._retry_after = retry_after
        self._unproven: OrderedDict[str, Route] = OrderedDict()
        self._proven: OrderedDict[str, Route] = OrderedDict()
        self._failed: OrderedDict[str, float] = OrderedDict()
        self._created: deque[float] = deque()
        self._lock = threading.Lock()
        self._setup_lock = threading.Lock()
        self.setups = 0
        """How many issuers were set up so far (each may have started a fetch)."""

    def issuers(self) -> tuple[str, ...]:
        """The issuers kept now: those that verified a token, then the others."""
        with self._lock:
            return (*self._proven, *self._unproven)

    def get(self, issuer: str) -> Route | None:
        """The kept route of ``issuer`` (now the most recently used), or ``None``."""
        with self._lock:
            for kept in (self._proven, self._unproven):
                route = kept.get(issuer)
                if route is not None:
                    kept.move_to_end(issuer)
                    return route
            return None

    def setup(self, issuer: str, now: float, build: Callable[[], Route]) -> Route:
        """The route of ``issuer``, set up with ``build`` if it is not kept yet, within the
        budget and unless it failed recently (both refusals are
        :class:`~tokensmith.errors.BackendUnavailable`).

        One set-up at a time (so an issuer is never set up twice), and ``build`` runs outside
        the lock that :meth:`get` takes: issuers already kept are served meanwhile.
        """
        with self._setup_lock:
            with self._lock:
                route = self._proven.get(issuer) or self._unproven.get(issuer)
                if route is not None:
                    return route
                self._admit(issuer, now)
            try:
                route = build()
            except BackendUnavailable:
                with self._lock:
                    self._remember(issuer, now)
                raise
            with self._lock:
                self._unproven[issuer] = route
                self._evict()
            return route

    def _admit(self, issuer: str, now: float) -> None:
        """Refuse an issuer that failed recently, or one past the budget; else count it (a
        set-up that fails counts too: it may have fetched). The lock is held."""
        until = self._failed.get(issuer)
        if until is not None:
            if now < until:
                raise BackendUnavailable(
                    "this issuer's keys could not be fetched recently; not retried yet"
                )
            del self._failed[issuer]
        created = self._created
        while created and created[0] <= now - self._window:
            created.popleft()
        if len(created) >= self._budget:
            raise BackendUnavailable("too many new issuers were set up recently")
        created.append(now)
        self.setups += 1

    def _evict(self) -> None:
        """Back under the cap: an unused issuer goes first (the lock is held)."""
        if len(self._unproven) + len(self._proven) > self._max:
            (self._unproven or self._proven).popitem(last=False)

    def proven(self, route: Route) -> None:
        """``route`` verified a token: it now outlives the issuers that never did."""
        if route.proven:
            return
        issuer = route.issuer
        with self._lock:
            route.proven = True
            if self._unproven.get(issuer) is route:
                del self._unproven[issuer]
            elif issuer in self._unproven or issuer in self._proven:
                return  # set up again since; that route is kept
            self._proven[issuer] = route  # (back) in, even if the table had pushed it out
            self._evict()

    def failed(self, route: Route, now: float) -> None:
        """``route`` could not reach its keys: an issuer that never verified a token is
        dropped and refused until ``now + retry_after``."""
        if route.proven:
            return
        with self._lock:
            if self._unproven.get(route.issuer) is route:
                del self._unproven[route.issuer]
            self._remember(route.issuer, now)

    def _remember(self, issuer: str, now: float) -> None:
        """Refuse ``issuer`` until ``now + retry_after`` (the lock is held)."""
        self._failed[issuer] = now + self._retry_after
        self._failed.move_to_end(issuer)
        if len(self._failed) > self._max:
            self._failed.popitem(last=False)
