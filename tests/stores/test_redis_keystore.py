"""RedisKeyStore: the KeyStore contract, fencing, encryption at rest, several processes."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support import ROOT
from tests.support.forge import b64
from tests.support.redis import RedisServer, RedisTarget, free_port
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    KeySet,
    RotationPolicy,
    Signer,
    UnknownKey,
    Validator,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.errors import KeyStoreCorrupt, WrongPassphrase
from tokensmith.stores._manifest import redis_associated_data
from tokensmith.stores.redis import RedisKeyStore
from tokensmith.testing import FakeClock, KeyStoreContract

pytestmark = pytest.mark.redis

KEK = bytes(range(32))
POLICY = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256")
ISS = "https://issuer.test"


def _client(url: str, **options: Any) -> Any:
    return redis.Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
        **options,
    )


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    connection = _client(redis_url)
    yield connection
    connection.close()


def _store(client: Any, clock: FakeClock, **options: Any) -> RedisKeyStore:
    return RedisKeyStore(client, policy=POLICY, kek=KEK, clock=clock, **options)


def open_store(url: str, cluster: bool, clock: FakeClock, policy: RotationPolicy) -> RedisKeyStore:
    """``key_store_factory`` of the contract: picklable, so replicas can run in processes."""
    return RedisKeyStore.from_url(url, cluster=cluster, policy=policy, kek=KEK, clock=clock)


class TestRedisKeyStoreContract(KeyStoreContract):
    """On one redis-server and on a real 3-node Redis Cluster (one client per test)."""

    shared = True

    @pytest.fixture(autouse=True)
    def _redis(self, any_redis: RedisTarget) -> Iterator[None]:
        self.target = any_redis
        self.client = any_redis.client()
        yield
        self.client.close()

    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> RedisKeyStore:
        return RedisKeyStore(self.client, policy=policy, kek=KEK, clock=clock)

    def key_store_factory(self) -> Callable[[FakeClock, RotationPolicy], RedisKeyStore]:
        return functools.partial(open_store, self.target.url, self.target.cluster)


# --- encryption at rest and tampering --------------------------------------------------------


def test_only_ciphertext_is_stored(client: Any, clock: FakeClock) -> None:
    store = _store(client, clock)
    store.signing_key()
    store.rotate()
    secrets_in_clear = []
    for key in store.keyset:
        jwk = key.to_jwk(private=True)
        secrets_in_clear.append(jwk["d"].encode())
        secrets_in_clear.append(key.to_pem(private=True))
    values = b"".join(client.get(name) or b"" for name in client.scan_iter("*"))
    assert values
    for secret in secrets_in_clear:
        assert secret not in values
    assert b"PRIVATE" not in values
    assert b'"d"' not in values
    document = json.loads(client.get(next(iter(client.scan_iter("*:keyset")))))
    assert {"kid", "alg", "nonce", "sealed", "not_before"} <= set(document["keys"][0])
    assert len(store.keyset) == 2


def test_wrong_kek_is_refused(client: Any, clock: FakeClock) -> None:
    _store(client, clock).signing_key()
    with pytest.raises(WrongPassphrase):
        RedisKeyStore(client, policy=POLICY, kek=b"\x01" * 32, clock=clock)


def _document(client: Any) -> tuple[str, dict[str, Any]]:
    name = next(iter(client.scan_iter("*:keyset"))).decode()
    return name, json.loads(client.get(name))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["keys"][0].update(retire_at=d["keys"][0]["retire_at"] + 1),
        lambda d: d["keys"][0].update(kid="other"),
        lambda d: d["keys"][0].update(sealed=d["keys"][0]["sealed"][:-4] + "AAAA"),
        lambda d: d["keys"][0].update(nonce="AAAA"),
        lambda d: d["keys"][0].update(alg="HS256"),
        lambda d: d["keys"][0].update(alg="none"),
        lambda d: d["keys"][0].update(not_before="soon"),
        lambda d: d["keys"].append(d["keys"][0]),
        lambda d: d["keys"].append({"kid": "evil", "alg": "ES256", "jwk": {"kty": "EC"}}),
        lambda d: d["keys"].append(7),
        lambda d: d.update(keys={}),
        lambda d: d.update(version=1),  # before the whole document was authenticated
        lambda d: d.update(version=3),
        lambda d: d.update(format="other"),
        lambda d: d.update(generation=0),
        lambda d: d.update(generation=5),
        lambda d: d["policy"].update(verify_for=1.0),  # issue 14 item 2: the whole document
        lambda d: d["policy"].update(alg="HS256"),
        lambda d: d.pop("mac", None),
        lambda d: d.update(mac="AAAA"),
        lambda d: d.update(mac=7),
        lambda d: d.update(extra="member"),
    ],
)
def test_tampered_document_is_refused(client: Any, clock: FakeClock, tamper: Any) -> None:
    _store(client, clock).signing_key()
    name, document = _document(client)
    tamper(document)
    client.set(name, json.dumps(document))
    with pytest.raises(KeyStoreCorrupt):
        _store(client, clock)


@pytest.mark.parametrize("value", [b"not json", b"\xff\xfe", b"[]", b"x" * (8 * 1024 * 1024 + 1)])
def test_foreign_document_is_refused(client: Any, clock: FakeClock, value: bytes) -> None:
    _store(client, clock).signing_key()
    name, _document_ = _document(client)
    client.set(name, value)
    with pytest.raises(KeyStoreCorrupt):
        _store(client, clock)


@pytest.mark.parametrize("value", [b"x", b"-1"])
def test_bad_generation_counter_is_refused(client: Any, clock: FakeClock, value: bytes) -> None:
    _store(client, clock).signing_key()
    gen = next(iter(client.scan_iter("*:gen")))
    client.set(gen, value)
    with pytest.raises(KeyStoreCorrupt):
        _store(client, clock)


def test_missing_document_is_refused(client: Any, clock: FakeClock) -> None:
    _store(client, clock).signing_key()
    name, _document_ = _document(client)
    client.delete(name)
    with pytest.raises(KeyStoreCorrupt):
        _store(client, clock)


def test_decode_responses_client_works(redis_url: str, clock: FakeClock) -> None:
    with _client(redis_url, decode_responses=True) as text_client:
        store = _store(text_client, clock)
        kid = store.signing_key().kid
        assert _store(text_client, clock).signing_key().kid == kid


@pytest.mark.parametrize(
    "options",
    [
        {"kek": b"short"},
        {"kek": "x" * 32},
        {"policy": None},
        {"prefix": "a{b}"},
        {"lock_ttl": 0},
        {"reload_interval": -1},
        {"lock_wait": float("nan")},
        {"lock_ttl": True},
    ],
)
def test_bad_options_are_refused(client: Any, options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"policy": POLICY, "kek": KEK, **options}
    with pytest.raises(ConfigurationError):
        RedisKeyStore(client, **arguments)


def test_repr_and_properties_name_no_secret(client: Any, clock: FakeClock) -> None:
    store = _store(client, clock, prefix="tenant:")
    key = store.signing_key()
    text = repr(store)
    assert key.kid in text and "generation=1" in text
    assert key.to_jwk(private=True)["d"] not in text and KEK.hex() not in text
    assert store.policy is POLICY and store.generation == 1
    assert all(name.startswith(b"tenant:{k.") for name in client.scan_iter("*"))


# --- fencing and the lock --------------------------------------------------------------------


def test_stale_lock_holder_cannot_write(client: Any, clock: FakeClock) -> None:
    first = _store(client, clock, lock_ttl=0.05)
    second = _store(client, clock, lock_ttl=5)
    first.signing_key()
    stale = first._try_lock()
    assert stale is not None
    time.sleep(0.1)  # the lock expires while its holder is "paused"
    kid = second.rotate().signing_key(clock()).kid
    document = first._seal(KeySet.generate("ES256"), first.generation + 1)
    names = first._names
    result = first._write_script(
        keys=[*names[:3], names[4]], args=[str(first.generation), document, stale, "1"]
    )
    assert result == -1  # the lock is no longer ours
    client.set(names[2], stale)  # even if the lock key said so, a newer fence already wrote
    result = first._write_script(
        keys=[*names[:3], names[4]],
        args=[str(second.generation), document, stale, stale.partition(":")[0]],
    )
    assert result == -3
    client.set(names[2], stale)
    result = first._write_script(keys=[*names[:3], names[4]], args=["0", document, stale, "99"])
    assert result == -2  # and a stale generation is refused
    client.delete(names[2])
    assert _store(client, clock).signing_key().kid == kid
    assert len(_store(client, clock).keyset) == 2


def test_writer_whose_lock_expired_starts_over(client: Any, clock: FakeClock) -> None:
    store = _store(client, clock)
    store.signing_key()
    names = store._names
    calls: list[int] = []
    original = store._write_script

    def expiring(**kwargs: Any) -> Any:
        if not calls:
            client.delete(names[2])  # the lock vanished before our write
        calls.append(1)
        return original(**kwargs)

    store._write_script = expiring
    store.rotate()
    assert len(calls) == 2 and len(store.keyset) == 2


def test_a_writer_whose_lock_keeps_expiring_gives_up_after_lock_wait(
    client: Any, clock: FakeClock
) -> None:
    store = _store(client, clock, lock_wait=0)
    store.signing_key()
    names, original = store._names, store._write_script

    def expiring(**kwargs: Any) -> Any:
        client.delete(names[2])  # every time, the lock is gone before our write
        return original(**kwargs)

    store._write_script = expiring
    with pytest.raises(BackendUnavailable, match="kept expiring") as caught:
        store.rotate()
    assert type(caught.value) is BackendUnavailable
    assert len(_store(client, clock).keyset) == 1  # nothing was written


def test_a_write_that_reaches_no_server_is_backend_unavailable(
    client: Any, clock: FakeClock
) -> None:
    """The lock is taken, then the write goes to a port nobody listens on (a real refusal)."""
    store = _store(client, clock)
    store.signing_key()
    dead = _client(f"redis://127.0.0.1:{free_port()}/0")
    store._write_script = dead.register_script("return 1")
    with pytest.raises(BackendUnavailable) as caught:
        store.rotate()
    assert type(caught.value) is BackendUnavailable
    assert client.get(store._names[2]) is None  # the lock was released
    dead.close()


def test_busy_lock_without_a_key_waits_then_fails(client: Any, clock: FakeClock) -> None:
    blocker = _store(client, clock)
    client.set(blocker._names[2], "1:someone-else", px=5000)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable):
        _store(client, clock, lock_wait=0.1).signing_key()
    assert time.monotonic() - started < 2


def test_busy_lock_with_a_key_keeps_signing(client: Any, clock: FakeClock) -> None:
    store = _store(client, clock)
    kid = store.signing_key().kid
    client.set(store._names[2], "1:someone-else", px=5000)
    clock.advance(POLICY.rotate_every - POLICY.publish_ahead + 1)  # maintenance is due
    assert store.signing_key().kid == kid  # no wait: the current key may still sign
    assert len(store.keyset) == 1


def test_waiter_picks_up_the_holders_key(client: Any, clock: FakeClock) -> None:
    holder = _store(client, clock)
    waiter = _store(client, clock, lock_wait=5)
    token = holder._try_lock()
    assert token is not None

    def finish() -> None:
        time.sleep(0.05)
        holder._unlock(token)
        holder.signing_key()

    thread = threading.Thread(target=finish)
    thread.start()
    kid = waiter.signing_key().kid
    thread.join()
    assert kid == holder.signing_key().kid
    assert len(holder.keyset) == 1


def test_unknown_kid_forces_one_reload(client: Any, clock: FakeClock) -> None:
    issuer = _store(client, clock)
    verifier = _store(client, clock, reload_interval=3600)
    signer = Signer(issuer, issuer=ISS, ttl=60, clock=clock)
    validator = Validator(verifier, issuer=ISS, audience="api", clock=clock)
    token = signer.issue("user-1", audience="api")  # made after verifier loaded (empty) set
    assert validator.validate(token).subject == "user-1"
    with pytest.raises(UnknownKey):
        verifier.verification_key("nope", "ES256")
    with pytest.raises(UnknownKey):
        verifier.verification_key("nope-again", "ES256")  # rate limited: no second GET


# --- outages ---------------------------------------------------------------------------------


def test_outage_keeps_the_cached_set_and_recovers(
    redis_server: RedisServer, client: Any, clock: FakeClock
) -> None:
    store = _store(client, clock)
    kid = store.signing_key().kid
    kept = {name: client.get(name) for name in client.scan_iter("*")}
    redis_server.stop()
    clock.advance(5)  # past reload_interval: a check is attempted and fails
    assert store.signing_key().kid == kid
    assert store.jwks()["keys"][0]["kid"] == kid
    with pytest.raises(BackendUnavailable):
        store.verification_key("unknown", "ES256")  # cannot tell whether it exists
    with pytest.raises(BackendUnavailable):
        _store(client, clock)
    with pytest.raises(BackendUnavailable):
        store.rotate()
    clock.advance(POLICY.rotate_every * 2)  # the cached set can no longer sign
    with pytest.raises(BackendUnavailable):
        store.signing_key()
    redis_server.start()
    client.mset(kept)  # a Redis that persists its data (the test server keeps nothing)
    assert store.signing_key().kid != kid


# --- several processes -----------------------------------------------------------------------


ISSUER_CHILD = r"""
import json, sys, time
import redis
from tokensmith import Key, RotationPolicy
from tokensmith.stores._manifest import redis_associated_data
from tokensmith.stores.redis import RedisKeyStore

def slow_generate(alg):
    time.sleep(0.2)  # widen the race window
    return Key.generate(alg)

url = sys.argv[1]
policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256",
                        generate=slow_generate)
with redis.Redis.from_url(url) as client:
    store = RedisKeyStore(client, policy=policy, kek=bytes(range(32)))
    client.rpush("ready", "1")
    client.blpop(["go"], timeout=10)
    keyset = store.rotate()
    print(json.dumps(sorted(k.kid for k in keyset)), flush=True)
"""


def test_two_issuer_processes_rotating_at_once_add_one_key(redis_url: str, client: Any) -> None:
    first = RedisKeyStore(client, policy=POLICY, kek=KEK)
    original = first.signing_key().kid
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", ISSUER_CHILD, redis_url],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        with redis.Redis.from_url(redis_url) as blocking:  # no socket timeout for BLPOP
            for _ in children:
                assert blocking.blpop(["ready"], timeout=10) is not None
            blocking.rpush("go", "1", "1")
        outputs = []
        for child in children:
            out, _ = child.communicate(timeout=15)
            assert child.returncode == 0
            outputs.append(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert outputs[0] == outputs[1]  # both replicas ended with the same set
    assert len(outputs[0]) == 2 and original in outputs[0]
    assert sorted(k.kid for k in RedisKeyStore(client, policy=POLICY, kek=KEK).keyset) == outputs[0]


@pytest.mark.parametrize("content", ["garbage", "other-kid"])
def test_authentic_but_unusable_entry_is_refused(
    client: Any, clock: FakeClock, content: str
) -> None:
    store = _store(client, clock)
    store.signing_key()
    name, document = _document(client)
    entry = document["keys"][0]
    times = {k: entry[k] for k in ("not_before", "retire_at", "not_after")}
    if content == "garbage":
        plaintext = b'{"kty": "nope"}'
    else:
        other = KeySet.generate("ES256").signing_key(clock())
        plaintext = json.dumps(other.to_jwk(private=True)).encode()
    associated = redis_associated_data(store._sealing.store, entry["kid"], entry["alg"], times)
    nonce, sealed = store._sealing.seal(plaintext, associated)
    entry.update(nonce=b64(nonce), sealed=b64(sealed))
    client.set(name, json.dumps(_authentic(store, document)))
    with pytest.raises(KeyStoreCorrupt):
        _store(client, clock)


def test_cached_hits_pick_up_another_replicas_rotation_after_the_reload_interval(
    client: Any, clock: FakeClock
) -> None:
    """A validator cache over a Redis store answers as the store does: hits are confirmed
    without a round trip until the reload interval passes, then the store looks again and a
    changed set means one fresh verification."""
    ours = _store(client, clock, reload_interval=5)
    theirs = _store(client, clock, reload_interval=5)
    cache = ValidatedTokenCache()
    cached = Validator(ours, issuer="https://i", audience="a", clock=clock, cache=cache)
    token = Signer(ours, issuer="https://i", ttl=600, clock=clock).issue("u", audience="a")
    first = cached.validate(token)

    def reads() -> int:  # the commands a RedisKeyStore reads with
        stats = client.info("commandstats")
        return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("get", "mget"))

    before = reads()
    assert cached.validate(token) is first
    assert reads() == before  # the hit made no round trip
    clock.advance(6)  # past the reload interval: the next hit asks, and the store reads
    assert cached.validate(token) is first
    assert reads() > before
    seen = ours._keyset
    theirs.rotate()
    assert cached.validate(token) is first and ours._keyset is seen  # not looked yet
    clock.advance(6)
    assert cached.validate(token).jti == first.jti
    assert ours._keyset is not seen and len(ours._keyset) == len(seen) + 1
    entry = cache.get(token)
    assert entry is not None and entry[5] is ours._keyset  # verified again under the new set


# --- the whole document is authenticated; no rollback (issue 14 item 2) ----------------------


def _authentic(store: RedisKeyStore, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a valid MAC: what only a holder of the KEK could write."""
    body = {name: value for name, value in document.items() if name != "mac"}
    return {**body, "mac": store._sealing.mac(body)}


def _refused(call: Any, error: type[Exception] = KeyStoreCorrupt) -> Exception:
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error, type(caught.value).__name__
    return caught.value


def test_a_saved_document_stored_back_after_a_rotation_is_refused(
    client: Any, clock: FakeClock
) -> None:
    """A Redis writer saves the authentic document, another replica rotates (after a suspected
    leak, say), the writer stores the saved copy back: the retired key must not sign again."""
    ours = _store(client, clock)
    theirs = _store(client, clock)
    retired = ours.signing_key().kid
    names = ours._names
    saved = client.mget([names[0], names[1]])  # the document and its generation counter
    successor = next(k.kid for k in theirs.rotate() if k.kid != retired)
    clock.advance(2)  # past the reload interval: ours has read the rotated set
    assert successor in ours.keyset and ours.generation == 2
    client.mset({names[0]: saved[0], names[1]: saved[1]})  # the rollback
    clock.advance(2)
    for store in (ours, theirs):
        error = _refused(store.signing_key)
        assert "generation 1" in str(error) and "2" in str(error)
        assert _refused(store.rotate)  # nothing is written on top of the old set either
    clock.advance(POLICY.publish_ahead)  # the successor's turn: the retired key has stopped
    for _ in range(3):
        for store in (ours, theirs):
            with contextlib.suppress(KeyStoreCorrupt):
                assert store.signing_key().kid == successor
            clock.advance(1)
    assert client.mget([names[0], names[1]]) == saved  # nothing was written over it


def test_a_replica_that_never_saw_the_newer_generation_cannot_tell(
    client: Any, clock: FakeClock
) -> None:
    """The documented limit: the only witness of the newer generation is the memory of the
    processes that read it. A replica started after the rollback accepts the old copy."""
    first = _store(client, clock)
    old = first.signing_key().kid
    names = first._names
    saved = client.mget([names[0], names[1]])
    first.rotate()
    client.mset({names[0]: saved[0], names[1]: saved[1]})
    fresh = _store(client, clock)
    assert fresh.generation == 1 and [k.kid for k in fresh.keyset] == [old]


def test_a_key_set_deleted_under_a_replica_is_refused(client: Any, clock: FakeClock) -> None:
    """Deleting the document and its counter is a rollback to generation 0: a replica that read
    the set refuses (and writes no new first key over it); a replica started afterwards
    begins a new set."""
    ours = _store(client, clock)
    kid = ours.signing_key().kid
    client.flushall()
    clock.advance(2)
    _refused(ours.signing_key)
    assert client.keys("*") == []
    fresh = _store(client, clock)
    assert fresh.signing_key().kid != kid


def test_a_document_that_drops_an_authentic_key_is_refused(client: Any, clock: FakeClock) -> None:
    """Every entry is sealed on its own; before, leaving one out (the successor) went unseen."""
    store = _store(client, clock)
    store.signing_key()
    store.rotate()
    name, document = _document(client)
    assert len(document["keys"]) == 2
    for keep in (document["keys"][:1], document["keys"][1:], document["keys"][::-1]):
        client.set(name, json.dumps({**document, "keys": keep}))
        _refused(lambda: _store(client, clock))


def test_a_document_copied_from_another_prefix_is_refused(client: Any, clock: FakeClock) -> None:
    source = _store(client, clock, prefix="a:")
    source.signing_key()
    target = _store(client, clock, prefix="b:")
    target.signing_key()
    for index in (0, 1):
        client.set(target._names[index], client.get(source._names[index]))
    _refused(lambda: _store(client, clock, prefix="b:"))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["keys"].append(7),
        lambda d: d.update(keys={}),
        lambda d: d.update(generation=0),
        lambda d: d["keys"][0].update(not_before="soon"),
        lambda d: d["keys"].append(d["keys"][0]),
        lambda d: d["keys"][0].update(kid=5),
        lambda d: d["keys"][0].update(nonce="AAAA"),
        lambda d: d["keys"][0].update(nonce=5),
        lambda d: d["keys"][0].update(nonce="!!"),
        lambda d: d["keys"][0].update(sealed=d["keys"][0]["sealed"][:-4] + "AAAA"),
        lambda d: d.update(generation=5),  # the counter says 1
    ],
)
def test_an_authentic_but_malformed_document_is_refused(
    client: Any, clock: FakeClock, tamper: Any
) -> None:
    """What only a KEK holder could write is still checked field by field."""
    store = _store(client, clock)
    store.signing_key()
    name, document = _document(client)
    tamper(document)
    client.set(name, json.dumps(_authentic(store, document)))
    _refused(lambda: _store(client, clock))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.lists(st.sampled_from(["keys", 0, "kid", "sealed", "policy", "mac", "x"]), max_size=3),
    value=_JSON,
)
def test_any_change_to_a_stored_document_is_refused_as_corrupt(
    client: Any, clock: FakeClock, path: list[Any], value: Any
) -> None:
    """Whatever a Redis writer stores, reading it raises KeyStoreCorrupt (or WrongPassphrase
    for a foreign KEK check), never a bare exception, and never yields keys."""
    store = _store(client, clock)  # every example reads the same rotated set from Redis
    if len(store.keyset) < 2:
        store.signing_key()
        store.rotate()
    _name, document = _document(client)
    target: Any = document
    try:
        for step in path[:-1]:
            target = target[step]
        if path:
            target[path[-1]] = value
        else:
            document = value
    except (KeyError, IndexError, TypeError):
        return
    raw = json.dumps(document)
    if raw == json.dumps(_document(client)[1]):
        return  # nothing changed
    with pytest.raises((KeyStoreCorrupt, WrongPassphrase)):
        store._open(raw.encode())
