"""The ``face`` every router test can run through (``validate`` or ``avalidate``), and tenants:
each with its own key store and signer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tokensmith import KeySet, MemoryKeyStore, Signer, VerifiedToken
from tokensmith.errors import TokensmithError
from tokensmith.testing import FakeClock

AUD = "orders-api"
A = "https://a.example"
B = "https://b.example"


class Run:
    """``run(router, token)`` through the face under test; ``run.refused(...)`` the exact class."""

    def __init__(self, face: str, runner: asyncio.Runner) -> None:
        self.face = face
        self.runner = runner

    def __call__(self, validator: Any, token: str | bytes, **kwargs: Any) -> VerifiedToken:
        if self.face == "validate":
            return validator.validate(token, **kwargs)  # type: ignore[no-any-return]
        return self.runner.run(validator.avalidate(token, **kwargs))  # type: ignore[no-any-return]

    def refused(
        self, validator: Any, token: str | bytes, error: type[TokensmithError], **kwargs: Any
    ) -> TokensmithError:
        with pytest.raises(error) as info:
            self(validator, token, **kwargs)
        assert type(info.value) is error, type(info.value).__name__
        return info.value


@pytest.fixture(params=["validate", "avalidate"])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    with asyncio.Runner() as runner:
        yield Run(request.param, runner)


def tenant(clock: FakeClock, issuer: str, alg: str = "ES256") -> tuple[MemoryKeyStore, Signer]:
    store = MemoryKeyStore(KeySet.generate(alg), clock=clock)
    return store, Signer(store, issuer=issuer, ttl=600, clock=clock)
