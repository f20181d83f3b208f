from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.support import ISSUER
from tests.support.forge import forge
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    ExpiredToken,
    InvalidAudience,
    InvalidClaim,
    InvalidIssuer,
    InvalidTokenType,
    Key,
    KeySet,
    MalformedToken,
    MemoryKeyStore,
    MissingClaim,
    Signer,
    TokenTooOld,
    UnknownKey,
)
from tokensmith.errors import InvalidClient, InvalidRequest, ReplayedToken
from tokensmith.oauth import (
    CLIENT_ASSERTION_TYPE,
    authenticate_client,
    create_client_assertion,
    issue_access_token,
    unverified_client_id,
    validate_client_assertion,
)
from tokensmith.replay import JtiReplayStore, MemoryJtiReplayStore, RedisJtiReplayStore
from tokensmith.testing import FakeClock

ENDPOINT = "https://auth.example.test/token"


@pytest.fixture
def client_key() -> Key:
    return Key.generate("ES256")


@pytest.fixture
def client_keys(client_key: Key, clock: FakeClock) -> MemoryKeyStore:
    return MemoryKeyStore(KeySet([client_key.public_key()]), clock=clock)


def check(
    assertion: Any, keys: Any, clock: FakeClock, replay: JtiReplayStore | None = None, **kw: Any
) -> Any:
    return validate_client_assertion(
        assertion,
        client_keys=keys,
        client_id=kw.pop("client_id", "app"),
        token_endpoint=kw.pop("token_endpoint", ENDPOINT),
        replay_store=replay if replay is not None else MemoryJtiReplayStore(clock=clock),
        clock=clock,
        **kw,
    )


def own_signer(client_key: Key, clock: FakeClock, issuer: str = "app", **kw: Any) -> Signer:
    return Signer(
        MemoryKeyStore(KeySet([client_key]), clock=clock), issuer=issuer, clock=clock, **kw
    )


def test_round_trip_and_single_use(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    replay = MemoryJtiReplayStore(clock=clock)
    assertion = create_client_assertion(client_key, "app", ENDPOINT, clock=clock)
    tok = check(assertion, client_keys, clock, replay)
    assert tok.issuer == tok.subject == "app"
    assert tok.expires_at == clock() + 60
    with pytest.raises(ReplayedToken):
        check(assertion, client_keys, clock, replay)
    assert len(replay) == 1
    clock.advance(60 + 31)
    assert len(replay) == 0


def test_issuer_identifier_as_audience(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    assertion = create_client_assertion(client_key, "app", ISSUER, clock=clock)
    with pytest.raises(InvalidAudience):
        check(assertion, client_keys, clock)
    assert check(assertion, client_keys, clock, issuer=ISSUER).audience == (ISSUER,)


def test_claim_refusals(client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock) -> None:
    signer = own_signer(client_key, clock)
    with pytest.raises(InvalidClaim) as info:  # sub is not the client
        check(signer.issue("other", audience=ENDPOINT), client_keys, clock)
    assert type(info.value) is InvalidClaim and info.value.claim == "sub"
    with pytest.raises(MissingClaim):
        check(signer.issue(None, audience=ENDPOINT), client_keys, clock)
    with pytest.raises(InvalidIssuer):
        check(
            own_signer(client_key, clock, issuer="evil").issue("app", audience=ENDPOINT),
            client_keys,
            clock,
        )
    with pytest.raises(InvalidAudience):
        check(signer.issue("app", audience="https://elsewhere/token"), client_keys, clock)
    with pytest.raises(InvalidClaim) as info:  # lifetime longer than max_lifetime
        check(signer.issue("app", audience=ENDPOINT, ttl=3600), client_keys, clock)
    assert info.value.claim == "exp"
    with pytest.raises(InvalidClaim):
        check(signer.issue("app", audience=ENDPOINT, ttl=120), client_keys, clock, max_lifetime=60)
    assertion = signer.issue("app", audience=ENDPOINT, ttl=300)
    clock.advance(300 + 29)
    with pytest.raises(TokenTooOld):  # iat too old (only reachable with a large leeway)
        check(assertion, client_keys, clock, leeway=300, max_lifetime=10)
    clock.advance(400)
    with pytest.raises(ExpiredToken):
        check(assertion, client_keys, clock)


def test_missing_jti_and_exp_are_refused(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    base = {"iss": "app", "sub": "app", "aud": ENDPOINT, "iat": int(clock())}
    header = {"alg": "ES256", "kid": client_key.kid}
    with pytest.raises(MissingClaim) as info:
        check(forge(header, {**base, "exp": int(clock()) + 60}, client_key), client_keys, clock)
    assert info.value.claim == "jti"
    with pytest.raises(MissingClaim) as info:
        check(forge(header, {**base, "jti": "j"}, client_key), client_keys, clock)
    assert info.value.claim == "exp"
    # null is not a value: a null jti or sub is missing too (it used to reach an assert)
    for name in ("jti", "sub"):
        body = {**base, "jti": "j", "exp": int(clock()) + 60, name: None}
        with pytest.raises(MissingClaim) as info:
            check(forge(header, body, client_key), client_keys, clock)
        assert type(info.value) is MissingClaim and info.value.claim == name


def test_an_access_token_is_not_an_assertion(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    signer = own_signer(client_key, clock)
    at = issue_access_token(signer, client_id="app", audience=ENDPOINT, ttl=60)
    with pytest.raises(InvalidTokenType):
        check(at.token, client_keys, clock)
    explicit = own_signer(client_key, clock, token_type="client-authentication+jwt")
    assert check(explicit.issue("app", audience=ENDPOINT, ttl=60), client_keys, clock)


def test_hmac_needs_explicit_opt_in(clock: FakeClock) -> None:
    secret = Key.generate("HS256")
    keys = MemoryKeyStore(KeySet([secret]), clock=clock)
    assertion = create_client_assertion(secret, "app", ENDPOINT, clock=clock)
    from tokensmith import AlgorithmNotAllowed

    with pytest.raises(AlgorithmNotAllowed):
        check(assertion, keys, clock)
    assert check(assertion, keys, clock, algorithms=["HS256"])


def test_wrong_key_is_refused(client_key: Key, clock: FakeClock) -> None:
    other = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    with pytest.raises(UnknownKey):
        check(create_client_assertion(client_key, "app", ENDPOINT, clock=clock), other, clock)


def test_configuration_errors(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError):
        create_client_assertion(client_key, "app", ENDPOINT, ttl=301, clock=clock)
    with pytest.raises(ConfigurationError):
        create_client_assertion(client_key.public_key(), "app", ENDPOINT)
    with pytest.raises(ConfigurationError):
        create_client_assertion(client_key, "", ENDPOINT)
    with pytest.raises(ConfigurationError):
        create_client_assertion(client_key, "app", ENDPOINT, token_type="at+jwt")
    assertion = create_client_assertion(client_key, "app", ENDPOINT, clock=clock)
    with pytest.raises(ConfigurationError):
        check(assertion, client_keys, clock, replay=object())  # type: ignore[arg-type]
    for bad in (0, 301, True, "60"):
        with pytest.raises(ConfigurationError):
            check(assertion, client_keys, clock, max_lifetime=bad)
    with pytest.raises(ConfigurationError):
        check(assertion, client_keys, clock, token_endpoint="")
    with pytest.raises(MalformedToken):
        check(None, client_keys, clock)
    replay = MemoryJtiReplayStore(clock=clock)
    for args in (("", "j", 1.0), ("i", "", 1.0), ("i", "j", float("nan")), ("i", "j", True)):
        with pytest.raises(ConfigurationError):
            replay.use(args[0], args[1], expires_at=args[2])
    with pytest.raises(ConfigurationError):
        RedisJtiReplayStore(object())


def test_unverified_client_id(client_key: Key, clock: FakeClock) -> None:
    assert (
        unverified_client_id(create_client_assertion(client_key, "app", ENDPOINT, clock=clock))
        == "app"
    )
    for bad in (None, "a.b", "a.!.c", "a." + "x" * 9000 + ".c", "a.e30.c"):
        with pytest.raises(MalformedToken):
            unverified_client_id(bad)


def test_replay_is_scoped_to_issuer(clock: FakeClock) -> None:
    replay = MemoryJtiReplayStore(clock=clock)
    assert replay.use("a", "b:c", expires_at=clock() + 10)
    assert replay.use("a:b", "c", expires_at=clock() + 10)
    assert not replay.use("a", "b:c", expires_at=clock() + 10)
    assert "b:c" not in repr(replay)


def race(store: JtiReplayStore, expires_at: float) -> list[bool]:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(store.use("app", "same-jti", expires_at=expires_at))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_memory_store_concurrent_use_has_one_winner(clock: FakeClock) -> None:
    assert sorted(race(MemoryJtiReplayStore(clock=clock), clock() + 60)) == [False] * 7 + [True]


@pytest.mark.redis
def test_redis_store(
    any_redis: Any, client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    """On one redis-server and on a real 3-node Redis Cluster."""
    store = RedisJtiReplayStore.from_url(any_redis.url, cluster=any_redis.cluster, clock=clock)
    try:
        assertion = create_client_assertion(client_key, "app", ENDPOINT, clock=clock)
        check(assertion, client_keys, clock, store)
        with pytest.raises(ReplayedToken):
            check(assertion, client_keys, clock, store)
        raw = any_redis.client()
        try:
            (key,) = (
                raw.keys("tokensmith:jti:*", target_nodes="all")
                if any_redis.cluster
                else (raw.keys("tokensmith:jti:*"))
            )
            assert 85_000 <= raw.pttl(key) <= 90_000  # exp (60 s) + leeway (30 s)
            assert b"app" not in key
        finally:
            raw.close()
        assert sorted(race(store, clock() + 60)) == [False] * 7 + [True]
        assert "tokensmith:jti:" in repr(store)
    finally:
        store.close()


@pytest.mark.redis
def test_redis_outage_is_backend_unavailable(clock: FakeClock) -> None:
    from tests.support.redis import free_port

    store = RedisJtiReplayStore.from_url(f"redis://127.0.0.1:{free_port()}/0", clock=clock)
    try:
        with pytest.raises(BackendUnavailable):
            store.use("app", "j", expires_at=clock() + 60)
    finally:
        store.close()


def test_authenticate_client(
    client_key: Key, client_keys: MemoryKeyStore, clock: FakeClock
) -> None:
    replay = MemoryJtiReplayStore(clock=clock)
    registry = {"app": client_keys}

    def auth(params: dict[str, str]) -> str:
        return authenticate_client(
            params,
            client_keys=registry.get,
            token_endpoint=ENDPOINT,
            replay_store=replay,
            clock=clock,
        )

    def params(assertion: str, **extra: str) -> dict[str, str]:
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            **extra,
        }

    assert auth(params(create_client_assertion(client_key, "app", ENDPOINT, clock=clock))) == "app"
    assertion = create_client_assertion(client_key, "app", ENDPOINT, clock=clock)
    with pytest.raises(InvalidRequest):
        auth({"client_assertion": assertion})
    with pytest.raises(InvalidClient) as info:
        auth(params(assertion, client_id="other"))
    assert isinstance(info.value.__cause__, InvalidClaim)
    with pytest.raises(InvalidClient):
        auth(params(create_client_assertion(client_key, "ghost", ENDPOINT, clock=clock)))
    with pytest.raises(InvalidClient):
        auth(params("not-a-jwt"))
    assert auth(params(assertion, client_id="app")) == "app"
    with pytest.raises(InvalidClient) as info:
        auth(params(assertion))
    assert isinstance(info.value.__cause__, ReplayedToken)
