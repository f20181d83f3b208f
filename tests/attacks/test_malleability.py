"""ECDSA malleability: a high-S twin is a second valid string for one token (issue 13 item 18).

``(r, s)`` and ``(r, n - s)`` both verify (ECDSA, and the ``cryptography`` backend, accept both),
so anyone holding a token can make its twin without the key. The twin carries the same claims and
must be exactly as valid as the original: the validated-token cache, the revocation lists and the
replay stores must key on what was verified (``jti``, ``sub``, ``sid``), never on the token text,
or a revoked or spent token would come back as its twin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.attacks._assert import validated
from tests.support.forge import CURVE_ORDERS, b64, unb64
from tokensmith import (
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    ReplayedToken,
    RevocationList,
    Signer,
    TokenRevoked,
    Validator,
    revoke_token,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.oauth import create_client_assertion, validate_client_assertion
from tokensmith.replay import MemoryJtiReplayStore, RedisJtiReplayStore
from tokensmith.revocation.redis import RedisRevocationList
from tokensmith.revocation.sqlite import SQLiteRevocationList
from tokensmith.testing import FakeClock

ISSUER = "https://auth.example.test"
AUDIENCE = "orders-api"
ENDPOINT = "https://auth.example.test/token"


def twin(token: str, alg: str) -> str:
    """The same token with ``s`` replaced by ``n - s``: valid, and a different string."""
    head, _, signature = token.rpartition(".")
    raw = unb64(signature)
    width = len(raw) // 2
    r, s = raw[:width], int.from_bytes(raw[width:], "big")
    other = (CURVE_ORDERS[alg] - s).to_bytes(width, "big")
    return f"{head}.{b64(r + other)}"


@pytest.fixture(params=["ES256", "ES384", "ES512"])
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(alg: str, clock: FakeClock) -> MemoryKeyStore:
    return MemoryKeyStore(KeySet([Key.generate(alg, kid=f"k-{alg}")]), clock=clock)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def revocations(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[RevocationList]:
    if request.param == "memory":
        yield MemoryRevocationList(clock=clock)
    elif request.param == "sqlite":
        yield SQLiteRevocationList(tmp_path / "revoked.db", clock=clock)
    else:
        url = request.getfixturevalue("redis_url")
        yield RedisRevocationList.from_url(url, clock=clock)


def test_the_twin_is_valid_and_a_different_string(
    alg: str, store: MemoryKeyStore, clock: FakeClock
) -> None:
    token = Signer(store, issuer=ISSUER, ttl=600, clock=clock).issue("u", audience=AUDIENCE)
    other = twin(token, alg)
    assert other != token and twin(other, alg) == token
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    assert validated(validator, other) == validated(validator, token)


@pytest.mark.parametrize("how", ["jti", "subject", "session"])
def test_a_revoked_token_stays_revoked_as_its_twin_cached_or_not(
    alg: str,
    store: MemoryKeyStore,
    clock: FakeClock,
    revocations: RevocationList,
    how: str,
) -> None:
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock)
    token = signer.issue("u", audience=AUDIENCE, claims={"sid": "s-1"})
    other = twin(token, alg)
    cache = ValidatedTokenCache()
    cached = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=cache, revocation=revocations
    )
    plain = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, revocation=revocations)
    verified = validated(cached, token)
    assert validated(cached, other) == verified  # a miss: fully verified, then cached too
    assert len(cache) == 2
    assert validated(cached, other) is validated(cached, other)  # now a hit
    clock.advance(1)
    if how == "jti":
        revoke_token(revocations, verified)
    elif how == "subject":
        revocations.revoke_subject("u", issuer=ISSUER, before=clock(), expires_at=clock() + 600)
    else:
        revocations.revoke_session("s-1", issuer=ISSUER, expires_at=clock() + 600)
    for validator in (cached, plain):
        for candidate in (token, other):
            with pytest.raises(TokenRevoked):
                validated(validator, candidate)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_spent_client_assertion_cannot_be_replayed_as_its_twin(
    alg: str, clock: FakeClock, backend: str, request: pytest.FixtureRequest
) -> None:
    key = Key.generate(alg, kid="client-key")
    replay: Any = (
        MemoryJtiReplayStore(clock=clock)
        if backend == "memory"
        else RedisJtiReplayStore.from_url(request.getfixturevalue("redis_url"), clock=clock)
    )
    assertion = create_client_assertion(key, "app", ENDPOINT, clock=clock)

    def check(candidate: str) -> object:
        return validate_client_assertion(
            candidate,
            client_keys=MemoryKeyStore(KeySet([key.public_key()]), clock=clock),
            client_id="app",
            token_endpoint=ENDPOINT,
            replay_store=replay,
            clock=clock,
        )

    check(twin(assertion, alg))  # the twin spends the jti first...
    with pytest.raises(ReplayedToken):
        check(assertion)  # ... and the original is a replay
    with pytest.raises(ReplayedToken):
        check(twin(assertion, alg))
