"""RemoteJWKS / AsyncRemoteJWKS against a real HTTP server on 127.0.0.1 that misbehaves on cue."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensmith.jwks.remote as remote_module
from tests.support.jwks_server import JWKSServer
from tests.support.wait import await_until, wait_until
from tokensmith import (
    UNCHECKED,
    AlgorithmMismatch,
    AmbiguousKey,
    BackendUnavailable,
    ConfigurationError,
    InvalidIssuer,
    Key,
    KeySet,
    MemoryKeyStore,
    RotationPolicy,
    Signer,
    TokenError,
    UnknownKey,
    Validator,
)
from tokensmith.errors import JWKSFetchError
from tokensmith.jwks._remote_config import Config
from tokensmith.jwks._remote_core import Core
from tokensmith.jwks.remote import (
    AsyncRemoteJWKS,
    HTTPResponse,
    RemoteJWKS,
    StdlibTransport,
)
from tokensmith.observability import AuditEvent
from tokensmith.testing import FakeClock

ISS = "https://auth.example.test"
AUD = "orders-api"
PATH = "/jwks.json"


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


@pytest.fixture
def store(clock: FakeClock) -> MemoryKeyStore:
    return MemoryKeyStore(KeySet.generate("ES256"), clock=clock)


def make_remote(server: JWKSServer, clock: FakeClock, **options: Any) -> RemoteJWKS:
    options.setdefault("timeout", 2.0)  # generous: a loaded CI machine must not time out
    return RemoteJWKS(server.url(), clock=clock, **options)


def jwks_doc(*keys: Key) -> dict[str, Any]:
    return {"keys": [k.to_jwk() for k in keys]}


def serve_keys(server: JWKSServer, *keys: Key, max_age: int = 300) -> None:
    server.serve_json(PATH, jwks_doc(*keys), headers={"Cache-Control": f"max-age={max_age}"})


# --- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://127.0.0.1.example.com/jwks",
        "ftp://127.0.0.1/jwks",
        "file:///etc/passwd",
        "https://user:pw@example.com/jwks",
        "https://example.com/jwks#frag",
        "https:///jwks",
        "https://example.com:0/jwks",
        "https://example.com:99999/jwks",
        "https://exa mple.com/jwks",
        "",
        "http://sub.localhost/jwks",
    ],
)
def test_unsafe_urls_are_refused_at_construction(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RemoteJWKS(url)


def test_non_string_url_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        RemoteJWKS(b"https://example.com")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.5.6.7/jwks",
        "http://localhost/jwks",
        "http://[::1]:9000/jwks",
        "HTTPS://EXAMPLE.COM/x?y=1",
    ],
)
def test_https_and_loopback_urls_are_accepted(url: str) -> None:
    RemoteJWKS(url)


@pytest.mark.parametrize(
    "options",
    [
        {"min_ttl": 0},
        {"min_ttl": 100, "max_ttl": 10},
        {"max_ttl": float("inf")},
        {"cooldown": 0},
        {"cooldown_burst": 0},
        {"cooldown_burst": 11},
        {"cooldown_burst": 1.5},
        {"cooldown_burst": True},
        {"max_stale": -1},
        {"timeout": 0},
        {"timeout": 1000},
        {"max_bytes": 10},
        {"max_keys": 0},
        {"retry_interval": 0},
        {"algorithms": []},
        {"algorithms": ["HS256"]},
        {"algorithms": 5},
        {"default_algorithms": {"RSA": "ES256"}},
        {"default_algorithms": {"oct": "HS256"}},
        {"default_algorithms": {"EC": "ESX"}},
        {"issuer": ""},
        {"issuer": 5},
        {"clock": 5},
        {"audit": 5},
        {"background_refresh": "yes"},
        {"transport": object()},
        {"min_ttl": True},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RemoteJWKS("https://example.com/jwks", **options)


def test_async_transport_needs_the_async_face() -> None:
    class Async:
        async def fetch(self, *args: Any) -> HTTPResponse:
            return HTTPResponse(200)

    with pytest.raises(ConfigurationError):
        RemoteJWKS("https://example.com/jwks", transport=Async())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncRemoteJWKS("https://example.com/jwks", transport=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncRemoteJWKS("https://example.com/jwks", background_refresh=1)  # type: ignore[arg-type]


def test_repr_names_host_and_issuer_only() -> None:
    remote = RemoteJWKS("https://example.com/jwks?secret=abc", issuer=ISS)
    assert "secret" not in repr(remote)
    assert "example.com" in repr(remote)
    assert repr(StdlibTransport()) == "StdlibTransport()"


# --- the happy path and caching -------------------------------------------------------------


def test_end_to_end_validation(
    server: JWKSServer, store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    server.serve_store(store)
    remote = make_remote(server, clock, issuer=ISS)
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=clock)
    token = signer.issue("user-1", audience=AUD)
    assert validator.validate(token).subject == "user-1"
    assert remote.kids == frozenset(k.kid for k in store.keyset)
    assert remote.url == server.url()
    assert remote.issuer == ISS
    assert remote.last_error is None
    for _ in range(50):
        validator.validate(token)
    assert server.requests_to(PATH) == 1


def test_ttl_comes_from_max_age_clamped(server: JWKSServer, clock: FakeClock) -> None:
    key = Key.generate("ES256")
    remote = make_remote(server, clock, min_ttl=60, max_ttl=600)
    for header, ttl in [
        ({"Cache-Control": "public, max-age=120"}, 120),
        ({"Cache-Control": "max-age=5"}, 60),
        ({"Cache-Control": "max-age=99999"}, 600),
        ({"Cache-Control": "max-age=300", "Age": "100"}, 200),
        ({"Cache-Control": "no-store"}, 60),
        ({"Cache-Control": "no-cache, max-age=500"}, 60),
        ({"Cache-Control": "max-age=abc"}, 60),
        ({}, 300),
    ]:
        server.serve_json(PATH, jwks_doc(key), headers=header)
        remote.refresh()
        assert remote.fresh_until - clock() == ttl, header


def test_cached_until_expiry_then_conditional_refresh_304(
    server: JWKSServer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    server.serve_store(store, max_age=120)
    remote = make_remote(server, clock)
    kid = store.signing_key().kid
    remote.verification_key(kid, "ES256")
    clock.advance(119)
    remote.verification_key(kid, "ES256")
    assert server.requests_to(PATH) == 1
    clock.advance(2)
    remote.verification_key(kid, "ES256")
    assert server.requests_to(PATH) == 2
    sent = server.request_headers[-1]
    assert sent["if-none-match"].startswith('"')
    # the 304 extended freshness without a body
    assert remote.fresh_until == clock() + 120
    remote.verification_key(kid, "ES256")
    assert server.requests_to(PATH) == 2


def test_unexpected_304_is_a_failure(server: JWKSServer, clock: FakeClock) -> None:
    server.serve_json(PATH, b"", status=304)
    remote = make_remote(server, clock)
    with pytest.raises(JWKSFetchError) as info:
        remote.verification_key("k", "ES256")
    assert info.value.reason == "not_modified"


def test_kid_less_tokens_and_algorithm_binding(server: JWKSServer, clock: FakeClock) -> None:
    es, rsa = Key.generate("ES256"), Key.generate("RS256")
    serve_keys(server, es, rsa)
    remote = make_remote(server, clock)
    assert remote.verification_key(None, "ES256").kid == es.kid
    assert remote.verification_key(None, "RS256").kid == rsa.kid
    with pytest.raises(AlgorithmMismatch):
        remote.verification_key(es.kid, "ES384")
    with pytest.raises(AlgorithmMismatch):
        remote.verification_key(es.kid, "RS256")
    serve_keys(server, es, Key.generate("ES256"))
    remote.refresh()
    with pytest.raises(AmbiguousKey):
        remote.verification_key(None, "ES256")
    assert server.requests_to(PATH) == 2  # neither refusal refetched


def test_kid_less_token_for_an_unknown_alg_refetches(server: JWKSServer, clock: FakeClock) -> None:
    serve_keys(server, Key.generate("ES256"))
    remote = make_remote(server, clock)
    remote.refresh()
    with pytest.raises(UnknownKey):
        remote.verification_key(None, "EdDSA")
    assert server.requests_to(PATH) == 2


def test_verification_keys_are_public(server: JWKSServer, clock: FakeClock) -> None:
    key = Key.generate("ES256")
    serve_keys(server, key)
    found = make_remote(server, clock).verification_key(key.kid, "ES256")
    assert not found.is_private
    assert found.thumbprint() == key.thumbprint()


# --- misbehaving endpoints: stale-if-error ----------------------------------------------------


MISBEHAVIOURS = [
    ("500", "http_status"),
    ("truncated", "truncated"),
    ("garbage", "invalid_json"),
    ("oversized", "too_large"),
    ("oversized_nolength", "too_large"),
    ("wrong_type", "content_type"),
    ("redirect", "redirect"),
    ("slow", "timeout"),
    ("drip", "timeout"),
]


@pytest.mark.parametrize(("mode", "reason"), MISBEHAVIOURS)
def test_outage_within_max_stale_refuses_nothing_then_backend_unavailable(
    server: JWKSServer,
    store: MemoryKeyStore,
    signer: Signer,
    clock: FakeClock,
    mode: str,
    reason: str,
) -> None:
    server.serve_store(store, max_age=300)
    # a misbehaving fetch must time out, a healthy one must not, even on a loaded machine
    server.delay = 1.5
    remote = make_remote(
        server, clock, timeout=0.6, max_bytes=64 * 1024, max_stale=600, retry_interval=250
    )
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=clock, leeway=0)
    assert validator.validate(signer.issue("u", audience=AUD))
    server.mode = mode
    for _ in range(8):  # 300 s fresh + 600 s stale: every token accepted
        clock.advance(100)
        assert validator.validate(signer.issue("u", audience=AUD))
    assert remote.last_error is not None and remote.last_error.reason == reason
    clock.advance(101)  # 901 s after the last good fetch
    token = signer.issue("u", audience=AUD)
    with pytest.raises(BackendUnavailable) as info:
        validator.validate(token)
    assert not isinstance(info.value, TokenError)
    assert isinstance(info.value, JWKSFetchError)
    server.mode = "ok"
    clock.advance(250)
    assert validator.validate(token)  # recovers as soon as the endpoint does


@pytest.mark.parametrize(("mode", "reason"), MISBEHAVIOURS)
def test_first_fetch_failure_is_backend_unavailable(
    server: JWKSServer, store: MemoryKeyStore, clock: FakeClock, mode: str, reason: str
) -> None:
    server.serve_store(store)
    server.mode = mode
    server.delay = 1.5
    remote = make_remote(server, clock, timeout=0.6, max_bytes=64 * 1024)
    with pytest.raises(JWKSFetchError) as info:
        remote.verification_key("kid", "ES256")
    assert info.value.reason == reason
    assert info.value.code == "jwks_fetch_failed"
    assert info.value.status_code == 503
    with pytest.raises(JWKSFetchError):
        remote.refresh()


def test_retry_interval_bounds_requests_during_an_outage(
    server: JWKSServer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    server.serve_store(store)
    server.mode = "500"
    remote = make_remote(server, clock, retry_interval=5)
    for _ in range(20):
        with pytest.raises(JWKSFetchError):
            remote.verification_key("kid", "ES256")
    assert server.requests_to(PATH) == 1
    clock.advance(5)
    with pytest.raises(JWKSFetchError):
        remote.verification_key("kid", "ES256")
    assert server.requests_to(PATH) == 2


def test_unknown_kid_during_outage_with_a_usable_set_is_unknown_key(
    server: JWKSServer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    server.serve_store(store)
    remote = make_remote(server, clock)
    remote.refresh()
    server.mode = "500"
    for kid in ("new-kid", "other-kid"):  # the refetch failed, then no request until retry
        with pytest.raises(UnknownKey) as info:
            remote.verification_key(kid, "ES256")  # keys are published ahead: a token refusal
        assert type(info.value) is UnknownKey
        assert "could not be refreshed" in info.value.message
    assert server.requests_to(PATH) == 2
    known = store.signing_key().kid
    assert remote.verification_key(known, "ES256").kid == known  # still fresh: served


def test_connection_refused_is_a_fetch_error(clock: FakeClock) -> None:
    from tests.support.redis import free_port

    remote = RemoteJWKS(f"http://127.0.0.1:{free_port()}/jwks", clock=clock, timeout=0.5)
    with pytest.raises(JWKSFetchError) as info:
        remote.verification_key("k", "ES256")
    assert info.value.reason == "connection"


def test_https_to_a_plain_server_fails_closed(server: JWKSServer, clock: FakeClock) -> None:
    serve_keys(server, Key.generate("ES256"))
    remote = RemoteJWKS(f"https://127.0.0.1:{server.port}/jwks.json", clock=clock, timeout=0.5)
    with pytest.raises(JWKSFetchError) as info:
        remote.refresh()
    assert info.value.reason in ("connection", "timeout")


# --- document shape and skipped keys --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "invalid_shape"),
        (b'{"keys": {}}', "invalid_shape"),
        (b'{"nokeys": []}', "invalid_shape"),
        (b'{"keys": [], "keys": []}', "invalid_json"),
        (b'{"keys": [NaN]}', "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"keys": []}', "no_usable_keys"),
        (json.dumps({"keys": [{}] * 101}).encode(), "invalid_shape"),
    ],
)
def test_bad_documents_are_refused(
    server: JWKSServer, clock: FakeClock, body: bytes, reason: str
) -> None:
    server.serve_json(PATH, body)
    with pytest.raises(JWKSFetchError) as info:
        make_remote(server, clock).refresh()
    assert info.value.reason == reason


def test_unusable_keys_are_skipped_reported_and_never_logged(
    server: JWKSServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    good = Key.generate("ES256", kid="good")
    private = Key.generate("ES256", kid="private").to_jwk(private=True)
    secret = Key.generate("HS256", kid="hmac").to_jwk(private=True)
    no_alg = {k: v for k, v in Key.generate("RS256", kid="no-alg").to_jwk().items() if k != "alg"}
    enc = {**Key.generate("RS256", kid="enc").to_jwk(), "use": "enc"}
    weird = {**Key.generate("ES256", kid="weird").to_jwk(), "alg": "RSA-OAEP"}
    wrong_curve = {**Key.generate("ES384", kid="curve").to_jwk(), "alg": "ES256"}
    dup = Key.generate("ES256", kid="dup").to_jwk()
    dup2 = Key.generate("ES256", kid="dup").to_jwk()
    events: list[AuditEvent] = []
    server.serve_json(
        PATH,
        {
            "keys": [
                good.to_jwk(),
                private,
                secret,
                no_alg,
                enc,
                weird,
                wrong_curve,
                dup,
                dup2,
                "not-an-object",
                {**good.to_jwk(), "kid": 7},
            ]
        },
    )
    caplog.set_level(logging.WARNING, logger="tokensmith.remote")
    remote = make_remote(server, clock, audit=events.append, issuer=ISS)
    remote.refresh()
    assert remote.kids == {"good"}
    reasons = dict(remote.skipped)
    assert reasons["private"] == "invalid_key: private key material in a public key set"
    assert reasons["hmac"].startswith("invalid_key: a symmetric (oct) key in a public key set")
    assert reasons["no-alg"] == (
        "invalid_key: the JWK has no 'alg' member; pass default_algorithms={'RSA': ...} "
        "to say which algorithm keys of that type are for"
    )
    assert reasons["enc"] == "invalid_key: 'use' is not 'sig' (not a signature key)"
    assert reasons["weird"].startswith("invalid_key: unsupported algorithm 'RSA-OAEP'")
    assert reasons["curve"] == "invalid_key: ES256 requires curve P-256"
    assert reasons["dup"].startswith("invalid_key: duplicate kid")
    assert ("", "invalid_key: not a JSON object") in remote.skipped
    assert (
        "",
        "invalid_key: 'kid' must be a non-empty string of at most 256 characters",
    ) in remote.skipped
    skipped_events = [e for e in events if e.code == "jwks_key_skipped"]
    assert len(skipped_events) == len(remote.skipped)
    assert all(e.kind == "anomaly" and e.issuer == ISS for e in skipped_events)
    text = caplog.text + repr(events)
    for member in ("d", "k"):
        for jwk in (private, secret):
            if member in jwk:
                assert jwk[member] not in text
    assert "skipped key 'private'" in caplog.text
    # the same document again: reported once, not on every refresh
    events.clear()
    remote.refresh()
    assert not [e for e in events if e.code == "jwks_key_skipped"]


def test_keys_without_alg_need_an_explicit_mapping(server: JWKSServer, clock: FakeClock) -> None:
    rsa = Key.generate("RS256", kid="rsa")
    ec = Key.generate("ES256", kid="ec")
    strip = [{k: v for k, v in key.to_jwk().items() if k != "alg"} for key in (rsa, ec)]
    server.serve_json(PATH, {"keys": strip})
    with pytest.raises(JWKSFetchError) as info:
        make_remote(server, clock).refresh()
    assert info.value.reason == "no_usable_keys"
    remote = make_remote(server, clock, default_algorithms={"RSA": "PS256", "EC": "ES256"})
    assert remote.verification_key("rsa", "PS256").alg == "PS256"
    assert remote.verification_key("ec", "ES256").alg == "ES256"
    with pytest.raises(AlgorithmMismatch):
        remote.verification_key("rsa", "RS256")


def test_algorithms_filter(server: JWKSServer, clock: FakeClock) -> None:
    serve_keys(server, Key.generate("ES256", kid="es"), Key.generate("EdDSA", kid="ed"))
    remote = make_remote(server, clock, algorithms=["EdDSA"])
    remote.refresh()
    assert remote.kids == {"ed"}
    assert dict(remote.skipped)["es"] == "invalid_key: algorithm ES256 is not allowed here"


def test_audit_events_for_failures_and_rotations(
    server: JWKSServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[AuditEvent] = []

    def sink(event: AuditEvent) -> None:
        events.append(event)
        if event.kind == "key.rotated":
            raise RuntimeError("broken sink")

    a, b = Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b")
    serve_keys(server, a)
    remote = make_remote(server, clock, audit=sink)
    remote.refresh()
    serve_keys(server, a, b)
    with caplog.at_level(logging.ERROR, logger="tokensmith.remote"):
        assert remote.verification_key("b", "ES256").kid == "b"  # the sink's error is contained
    assert [e.kid for e in events if e.kind == "key.rotated"] == ["b"]
    server.mode = "500"
    with pytest.raises(JWKSFetchError):
        remote.refresh()
    failure = events[-1]
    assert failure.kind == "backend.failure" and failure.code == "jwks_fetch_failed"
    assert failure.detail["reason"] == "http_status"


# --- cooldown ---------------------------------------------------------------------------------


def test_unknown_kids_refetch_at_most_burst_times_per_cooldown(
    server: JWKSServer, clock: FakeClock
) -> None:
    serve_keys(server, Key.generate("ES256", kid="a"))
    remote = make_remote(server, clock, cooldown=30, cooldown_burst=2)
    remote.refresh()
    for i in range(10):
        with pytest.raises(UnknownKey):
            remote.verification_key(f"garbage-{i}", "ES256")
    assert server.requests_to(PATH) == 1 + 2
    clock.advance(31)
    with pytest.raises(UnknownKey):
        remote.verification_key("garbage-x", "ES256")
    assert server.requests_to(PATH) == 4


def test_cooldown_never_refuses_a_newly_published_kid(server: JWKSServer, clock: FakeClock) -> None:
    a = Key.generate("ES256", kid="a")
    serve_keys(server, a)
    remote = make_remote(server, clock, cooldown=30, cooldown_burst=2)
    remote.refresh()
    with pytest.raises(UnknownKey):
        remote.verification_key("attacker-kid", "ES256")  # spends one refetch slot
    clock.advance(1)
    for name in ("b", "c", "d", "e"):  # an emergency rotation, several times in one window
        new = Key.generate("ES256", kid=name)
        serve_keys(server, a, new)
        assert remote.verification_key(name, "ES256").kid == name  # never refused
        clock.advance(1)
    assert server.requests_to(PATH) == 1 + 1 + 4


def test_a_kid_published_since_the_last_fetch_is_found_by_ttl_refresh(
    server: JWKSServer, clock: FakeClock
) -> None:
    a = Key.generate("ES256", kid="a")
    serve_keys(server, a, max_age=60)
    remote = make_remote(server, clock, cooldown=30, cooldown_burst=1)
    remote.refresh()
    with pytest.raises(UnknownKey):
        remote.verification_key("garbage", "ES256")
    with pytest.raises(UnknownKey):
        remote.verification_key("garbage2", "ES256")  # budget spent: refused, no request
    serve_keys(server, a, Key.generate("ES256", kid="b"))
    clock.advance(60)  # cache expiry is never subject to the cooldown
    assert remote.verification_key("b", "ES256").kid == "b"


# --- single flight ----------------------------------------------------------------------------


def _run_threads(n: int, target: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("case", ["expired", "rotated", "unknown"])
def test_100_threads_needing_a_refresh_make_one_request(
    server: JWKSServer, clock: FakeClock, case: str
) -> None:
    a = Key.generate("ES256", kid="a")
    serve_keys(server, a, max_age=60)
    remote = make_remote(server, clock, timeout=2)
    remote.refresh()
    kid = "a"
    if case == "expired":
        clock.advance(61)
        remote._state.stale_until = clock()  # no stale serving: everyone waits for the fetch
    elif case == "rotated":
        serve_keys(server, a, Key.generate("ES256", kid="b"))
        kid = "b"
    else:
        kid = "nope"
    server.mode = "slow"
    server.delay = 0.4  # every thread reaches the lookup while the one fetch is in flight
    results = _run_threads(100, lambda: remote.verification_key(kid, "ES256"))
    assert server.requests_to(PATH) == 2
    if case == "unknown":
        assert all(isinstance(r, UnknownKey) for r in results)
    else:
        assert all(isinstance(r, Key) and r.kid == kid for r in results)


def test_threads_serve_the_stale_key_while_one_refreshes(
    server: JWKSServer, clock: FakeClock
) -> None:
    serve_keys(server, Key.generate("ES256", kid="a"), max_age=60)
    remote = make_remote(server, clock, timeout=2)
    remote.refresh()
    clock.advance(61)
    server.mode = "slow"
    server.delay = 0.2
    results = _run_threads(50, lambda: remote.verification_key("a", "ES256"))
    assert all(isinstance(r, Key) for r in results)
    assert server.requests_to(PATH) == 2


@pytest.mark.parametrize("case", ["initial", "rotated", "unknown"])
def test_100_tasks_needing_a_refresh_make_one_request(
    server: JWKSServer, clock: FakeClock, case: str
) -> None:
    a = Key.generate("ES256", kid="a")
    serve_keys(server, a)

    async def main() -> list[Any]:
        remote = AsyncRemoteJWKS(server.url(), clock=clock, timeout=2)
        kid = "a"
        if case != "initial":
            await remote.refresh()
            kid = "nope"
            if case == "rotated":
                serve_keys(server, a, Key.generate("ES256", kid="b"))
                kid = "b"
        server.mode = "slow"
        server.delay = 0.2
        results = await asyncio.gather(
            *(remote.verification_key(kid, "ES256") for _ in range(100)), return_exceptions=True
        )
        await remote.aclose()
        return results

    results = asyncio.run(main())
    assert server.requests_to(PATH) == (1 if case == "initial" else 2)
    if case == "unknown":
        assert all(isinstance(r, UnknownKey) for r in results)
    else:
        assert all(isinstance(r, Key) for r in results)


def test_async_tasks_serve_stale_while_one_refreshes(server: JWKSServer, clock: FakeClock) -> None:
    serve_keys(server, Key.generate("ES256", kid="a"), max_age=60)

    async def main() -> list[Any]:
        async with AsyncRemoteJWKS(server.url(), clock=clock, timeout=2) as remote:
            await remote.refresh()
            clock.advance(61)
            server.mode = "slow"
            server.delay = 0.2
            return await asyncio.gather(*(remote.verification_key("a", "ES256") for _ in range(20)))

    assert all(r.kid == "a" for r in asyncio.run(main()))
    assert server.requests_to(PATH) == 2


# --- async face -------------------------------------------------------------------------------


def test_async_validator_end_to_end_with_an_async_transport(
    server: JWKSServer, store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    server.serve_store(store)
    calls: list[str] = []

    class AsyncStdlib:
        async def fetch(
            self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
        ) -> HTTPResponse:
            calls.append(url)
            return await asyncio.to_thread(
                StdlibTransport().fetch, url, headers, timeout, max_bytes
            )

    async def main() -> None:
        remote = AsyncRemoteJWKS(server.url(), issuer=ISS, transport=AsyncStdlib(), clock=clock)
        validator = Validator(remote, issuer=ISS, audience=AUD, clock=clock)
        token = signer.issue("user-1", audience=AUD)
        assert (await validator.avalidate(token)).subject == "user-1"
        with pytest.raises(UnknownKey):
            await remote.verification_key("nope", "ES256")
        server.mode = "500"
        clock.advance(3600 + 1)
        with pytest.raises(JWKSFetchError):
            await remote.refresh()
        await remote.aclose()

    asyncio.run(main())
    assert calls == [server.url()] * 3


def test_async_first_fetch_failure(server: JWKSServer, clock: FakeClock) -> None:
    server.serve_json(PATH, b"garbage")

    async def main() -> None:
        remote = AsyncRemoteJWKS(server.url(), clock=clock, timeout=0.5)
        with pytest.raises(JWKSFetchError):
            await remote.verification_key("k", "ES256")
        await remote.aclose()

    asyncio.run(main())


# --- transports -------------------------------------------------------------------------------


def test_custom_transport_errors_count_as_fetch_failures(clock: FakeClock) -> None:
    class Broken:
        def fetch(self, *args: Any) -> HTTPResponse:
            raise RuntimeError("boom with secret material")

    class Wrong:
        def fetch(self, *args: Any) -> Any:
            return {"status": 200}

    for transport, reason in ((Broken(), "transport"), (Wrong(), "transport")):
        remote = RemoteJWKS("https://example.com/jwks", transport=transport, clock=clock)
        with pytest.raises(JWKSFetchError) as info:
            remote.verification_key("k", "ES256")
        assert info.value.reason == reason
        assert "secret" not in str(info.value)

    async def main() -> None:
        for transport in (Broken(), Wrong()):
            remote = AsyncRemoteJWKS("https://example.com/jwks", transport=transport, clock=clock)
            with pytest.raises(JWKSFetchError):
                await remote.verification_key("k", "ES256")

    asyncio.run(main())


def test_transport_body_over_max_bytes_is_refused_by_the_core(clock: FakeClock) -> None:
    key = Key.generate("ES256")
    body = json.dumps(jwks_doc(key)).encode()

    class Lenient:
        def fetch(self, *args: Any) -> HTTPResponse:
            return HTTPResponse(200, {"content-type": "application/json"}, body + b" " * 5000)

    remote = RemoteJWKS(
        "https://example.com/jwks", transport=Lenient(), clock=clock, max_bytes=1024
    )
    with pytest.raises(JWKSFetchError) as info:
        remote.refresh()
    assert info.value.reason == "too_large"


# --- issuer pinning ---------------------------------------------------------------------------


def test_issuer_pinning_narrows_the_validator(
    server: JWKSServer, store: MemoryKeyStore, clock: FakeClock
) -> None:
    server.serve_store(store)
    other = "https://other.example.test"
    remote = make_remote(server, clock, issuer=ISS)
    validator = Validator(remote, issuer=[ISS, other], audience=AUD, clock=clock)
    assert validator.policy.issuers == frozenset({ISS})
    forged = Signer(store, issuer=other, clock=clock).issue("u", audience=AUD)
    with pytest.raises(InvalidIssuer):
        validator.validate(forged)  # same keys, another issuer: refused
    unchecked = Validator(remote, issuer=UNCHECKED, audience=AUD, clock=clock)
    assert unchecked.policy.issuers == frozenset({ISS})
    with pytest.raises(InvalidIssuer):
        unchecked.validate(forged)
    with pytest.raises(ConfigurationError):
        Validator(remote, issuer=other, audience=AUD)
    unpinned = make_remote(server, clock)
    assert Validator(unpinned, issuer=[ISS, other], audience=AUD).policy.issuers == frozenset(
        {ISS, other}
    )


# --- background refresh -----------------------------------------------------------------------


def test_background_refresh_thread(
    server: JWKSServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    serve_keys(server, Key.generate("ES256", kid="a"), max_age=100)
    with make_remote(server, clock, background_refresh=True) as remote:
        wait_until(lambda: bool(remote.kids))  # the first fetch is applied
        thread = remote._thread
        assert thread is not None and thread.daemon and thread.is_alive()
        serve_keys(
            server, Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b"), max_age=100
        )
        clock.advance(81)  # past 80 % of the TTL
        wait_until(lambda: "b" in remote.kids)
        assert remote.verification_key("b", "ES256").kid == "b"
        server.mode = "500"
        clock.advance(100)
        wait_until(lambda: remote.last_error is not None)
        assert remote.verification_key("b", "ES256").kid == "b"  # stale, served
    assert not thread.is_alive()
    remote.close()  # idempotent


def test_background_refresh_task(
    server: JWKSServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    serve_keys(server, Key.generate("ES256", kid="a"), max_age=100)

    async def main() -> None:
        async with AsyncRemoteJWKS(server.url(), clock=clock, background_refresh=True) as remote:
            await await_until(lambda: bool(remote.kids))
            serve_keys(server, Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b"))
            clock.advance(81)
            await await_until(lambda: "b" in remote.kids)
        assert remote._task is None
        lazy = AsyncRemoteJWKS(server.url(), clock=clock, background_refresh=True)
        assert (await lazy.verification_key("b", "ES256")).kid == "b"
        assert lazy._task is not None
        await lazy.aclose()

    asyncio.run(main())


# --- end to end across rotations --------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory", "file"])
def test_rotation_on_the_issuer_is_picked_up_without_a_refused_token(
    server: JWKSServer, clock: FakeClock, tmp_path: Path, backend: str
) -> None:
    policy = RotationPolicy(rotate_every=3600, publish_ahead=1200, verify_for=1200)
    issuer_store: Any
    if backend == "memory":
        issuer_store = MemoryKeyStore(policy=policy, clock=clock)
    else:
        from tokensmith.stores.file import FileKeyStore

        issuer_store = FileKeyStore(tmp_path / "keys", policy=policy, clock=clock)
    signer = Signer(issuer_store, issuer=ISS, ttl=600, clock=clock)
    server.serve_store(issuer_store)  # max-age = publish_ahead / 2
    remote = make_remote(server, clock, issuer=ISS, min_ttl=30, max_ttl=3600)
    validator = Validator(remote, issuer=ISS, audience=AUD, clock=clock)
    kids_used: set[str] = set()
    for _ in range(4 * 3600 // 60):  # four rotations, a token every minute
        token = signer.issue_token("user", audience=AUD)
        kids_used.add(token.key_id)
        assert validator.validate(token.token).subject == "user"
        clock.advance(60)
    assert len(kids_used) >= 4
    fetches = server.requests_to(PATH)
    assert fetches <= 4 * 3600 // 600 + 2  # one per max-age window, no unknown-kid refetches


# --- the pure core ----------------------------------------------------------------------------


def _core() -> Core:
    return Core(
        Config(
            "https://example.com/jwks",
            issuer=None,
            min_ttl=1,
            max_ttl=10,
            default_ttl=5,
            cooldown=30,
            cooldown_burst=2,
            max_stale=10,
            retry_interval=1,
            timeout=1,
            max_bytes=4096,
            max_keys=10,
            algorithms=None,
            default_algorithms=None,
            audit=None,
        )
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=12,
    ).map(lambda v: json.dumps({"keys": v} if not isinstance(v, dict) else v).encode())
)
def test_parse_refuses_anything_with_jwks_fetch_error_only(body: bytes) -> None:
    response = HTTPResponse(200, {"content-type": "application/json"}, body)
    try:
        keys, _ = _core().parse(response)
    except JWKSFetchError:
        return
    assert keys and all(isinstance(k, Key) for k in keys.values())


@given(
    header=st.text(max_size=40),
    age=st.text(alphabet="0123456789 x", max_size=14),
)
def test_ttl_is_always_within_bounds(header: str, age: str) -> None:
    ttl = _core().ttl({"cache-control": header, "age": age})
    assert 1 <= ttl <= 10


def test_a_slow_drip_is_cut_at_the_overall_deadline(server: JWKSServer, clock: FakeClock) -> None:
    serve_keys(server, Key.generate("ES256"))
    server.mode = "drip"
    server.delay = 0.05  # each byte well within the socket timeout, the whole far beyond it
    remote = make_remote(server, clock, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(JWKSFetchError) as info:
        remote.refresh()
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 1.0


def test_stale_key_is_none_when_the_lookup_refuses() -> None:
    core = _core()
    key = Key.generate("ES256", kid="a")
    response = HTTPResponse(
        200, {"content-type": "application/json"}, json.dumps(jwks_doc(key)).encode()
    )
    state, _events = core.apply(core.initial(), response, 100.0, "initial", 0)
    assert core.stale_key(state, "a", "ES256", 101.0) is key or core.stale_key(
        state, "a", "ES256", 101.0
    )
    assert core.stale_key(state, "a", "RS256", 101.0) is None  # AlgorithmMismatch
    assert core.stale_key(state, "a", "ES256", state.stale_until) is None
    assert core.stale_key(core.initial(), "a", "ES256", 0.0) is None


def test_query_string_is_sent(server: JWKSServer, clock: FakeClock) -> None:
    key = Key.generate("ES256")
    server.serve_json("/jwks.json?tenant=a", jwks_doc(key))
    remote = RemoteJWKS(server.url("/jwks.json?tenant=a"), clock=clock, timeout=0.5)
    assert remote.verification_key(key.kid, "ES256").kid == key.kid
