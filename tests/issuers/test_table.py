"""The issuer table's bounds, directly: the order of eviction, the budget, remembered failures."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith import KeySet, MemoryKeyStore, Validator
from tokensmith.errors import BackendUnavailable, ConfigurationError, JWKSFetchError
from tokensmith.issuers._table import IssuerTable, Route


def table(**options: Any) -> IssuerTable:
    settings: dict[str, Any] = {"max_issuers": 2, "budget": 10, "window": 60.0, "retry_after": 30.0}
    settings.update(options)
    return IssuerTable(**settings)


VALIDATOR = Validator(
    MemoryKeyStore(KeySet.generate("HS256")), issuer="https://x.example", audience="a"
)


def route(issuer: str) -> Route:
    return Route(issuer, VALIDATOR, lazy=True)


def test_unused_issuers_go_first_then_the_least_recently_used() -> None:
    t = table()
    a = t.setup("a", 0, lambda: route("a"))
    t.proven(a)
    t.setup("b", 0, lambda: route("b"))
    t.setup("c", 0, lambda: route("c"))  # b never verified a token: it goes
    assert t.issuers() == ("a", "c")
    t.proven(t.setup("c", 0, lambda: route("unused")))
    assert t.issuers() == ("a", "c")
    assert t.get("a") is a  # now the most recently used
    d = t.setup("d", 0, lambda: route("d"))
    assert t.issuers() == ("c", "a")  # full of issuers in use: the newcomer is not kept...
    t.proven(d)  # ...until it verifies a token; then the least recently used one goes
    assert t.issuers() == ("a", "d")
    t.proven(d)  # twice is once
    assert t.get("c") is None


def test_a_route_set_up_again_meanwhile_is_the_one_kept() -> None:
    t = table(max_issuers=1)
    first = t.setup("a", 0, lambda: route("a"))
    t.setup("b", 0, lambda: route("b"))  # pushes a out
    second = t.setup("a", 0, lambda: route("a"))  # and a back, b out
    t.proven(first)  # the old route verified a token late
    assert t.get("a") is second


def test_the_budget_is_a_sliding_window() -> None:
    t = table(max_issuers=10, budget=2)
    t.setup("a", 0, lambda: route("a"))
    t.setup("b", 10, lambda: route("b"))
    with pytest.raises(BackendUnavailable) as info:
        t.setup("c", 59, lambda: route("c"))
    assert type(info.value) is BackendUnavailable
    assert t.setup("a", 59, lambda: route("again")).issuer == "a"  # kept ones cost nothing
    t.setup("c", 60, lambda: route("c"))
    assert t.setups == 3


def test_failures_are_remembered_until_the_retry_time_and_bounded() -> None:
    t = table(max_issuers=2)
    a = t.setup("a", 0, lambda: route("a"))
    t.failed(a, 0)
    assert t.get("a") is None
    with pytest.raises(BackendUnavailable):
        t.setup("a", 29, lambda: route("a"))
    assert t.setup("a", 30, lambda: route("a")).issuer == "a"
    t.failed(a, 30)  # the old route: nothing kept is dropped, the failure is remembered
    assert t.get("a") is not None
    for name in "xyz":
        t.failed(route(name), 40)
    assert len(t._failed) == 2  # noqa: SLF001


def test_an_issuer_in_use_is_never_dropped_for_a_failure() -> None:
    t = table()
    a = t.setup("a", 0, lambda: route("a"))
    t.proven(a)
    t.failed(a, 0)
    assert t.get("a") is a


def test_a_set_up_that_fails_counts_against_the_budget_and_is_remembered() -> None:
    t = table(budget=2)

    def outage() -> Route:
        raise JWKSFetchError("down")

    def mistake() -> Route:
        raise ConfigurationError("bad")

    with pytest.raises(JWKSFetchError):
        t.setup("a", 0, outage)
    with pytest.raises(BackendUnavailable):
        t.setup("a", 1, lambda: route("a"))  # remembered: not tried again yet
    with pytest.raises(ConfigurationError):
        t.setup("b", 1, mistake)
    with pytest.raises(BackendUnavailable):
        t.setup("c", 2, lambda: route("c"))  # both attempts used the budget
    assert t.setups == 2
