"""The web layer takes a MultiIssuerValidator where it takes a Validator: same answers."""

from __future__ import annotations

import asyncio

import pytest

from tests.issuers.conftest import AUD, A, B, tenant
from tokensmith import Signer
from tokensmith.errors import TokensmithError
from tokensmith.issuers import MultiIssuerValidator
from tokensmith.testing import FakeClock
from tokensmith.web import Guard
from tokensmith.web.request import RequestFacts


def request(token: str) -> RequestFacts:
    return RequestFacts(
        method="GET",
        scheme="https",
        host="api.example.test",
        path="/orders",
        query="",
        headers=[("Authorization", f"Bearer {token}")],
        peer="203.0.113.7",
    )


def test_a_guard_answers_for_a_multi_issuer_validator() -> None:
    clock = FakeClock()
    a_store, a = tenant(clock, A)
    b_store, _b = tenant(clock, B)
    guard = Guard(
        MultiIssuerValidator({A: a_store, B: b_store}, audience=AUD, clock=clock),
    )
    token = a.issue("alice", audience=AUD, scopes=["read"])
    assert guard.authenticate(request(token), scopes=["read"]).subject == "alice"
    assert asyncio.run(guard.aauthenticate(request(token))).issuer == A
    forged = Signer(a_store, issuer=B, clock=clock).issue("admin", audience=AUD)
    with pytest.raises(TokensmithError) as info:
        guard.authenticate(request(forged))
    answer = guard.answer(info.value)
    assert answer.status == 401
    assert forged not in repr(answer.headers) + answer.body.decode()
    with pytest.raises(TokensmithError) as info:
        guard.authenticate(request(token), scopes=["write"])
    assert guard.answer(info.value).status == 403
