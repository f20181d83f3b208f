"""A failing audit sink never changes an outcome (issue 13, item 14).

Every component that emits audit events is run three times through the same scenario: with no
sink, with a sink that records, and with a sink that raises. The recorded run proves the
scenario really emits; the raising run must end exactly like the run without a sink (same
return values, same refusals, same state in the backends).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.jwks_server import JWKSServer
from tests.support.redis import free_port
from tokensmith import (
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    Validator,
)
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS
from tokensmith.observability import (
    AsyncQueueSink,
    AuditEvent,
    AuditSink,
    Fanout,
    QueueSink,
    audited_revoke,
    emit,
)
from tokensmith.observability.anomaly import (
    RefreshReuseDetector,
    RefusalBurstDetector,
    RetiredKeyDetector,
    TokenSharingDetector,
)
from tokensmith.refresh import MemoryRefreshStore, RefreshManager
from tokensmith.revocation.redis import AsyncRedisRevocationList, RedisRevocationList
from tokensmith.testing import FakeClock, verified_token

ISS = "https://auth.example.test"
AUD = "orders-api"

Scenario = Callable[[AuditSink | None], list[object]]


class RaisingSink:
    """A sink whose backend is down: every delivery raises."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: AuditEvent) -> None:
        self.calls += 1
        raise RuntimeError("the audit backend is down")


def outcome(action: Callable[[], object]) -> object:
    """What a caller sees: the value returned, or the class of the exception raised."""
    try:
        return ("returned", action())
    except Exception as exc:
        return ("raised", type(exc).__name__)


def _dead_redis() -> Any:
    """A client for a loopback port nobody listens on: a real connection refusal."""
    return redis.Redis(
        host="127.0.0.1",
        port=free_port(),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


# --- the scenarios ----------------------------------------------------------------------------


def signer_and_validator(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    signer = Signer(store, issuer=ISS, clock=clock, audit=audit)
    validator = Validator(store, issuer=ISS, audience=AUD, clock=clock, audit=audit)
    token = signer.issue("user-1", audience=AUD)
    head, body, _ = token.split(".")
    return [
        outcome(lambda: validator.validate(token).subject),
        outcome(lambda: validator.validate(f"{head}.{body}.AAAA")),
        outcome(lambda: asyncio.run(validator.avalidate(token)).subject),
        outcome(lambda: validator.validate("not a token")),
    ]


def validator_backend_failure(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    token = Signer(store, issuer=ISS, clock=clock).issue("user-1", audience=AUD)
    outage = RedisRevocationList(_dead_redis(), clock=clock)
    validator = Validator(
        store, issuer=ISS, audience=AUD, clock=clock, revocation=outage, audit=audit
    )
    return [outcome(lambda: validator.validate(token))]


def refresh_manager(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    signer = Signer(keys, issuer=ISS, clock=clock)
    revocations = MemoryRevocationList(clock=clock)
    validator = Validator(keys, issuer=ISS, audience=AUD, clock=clock, revocation=revocations)
    manager = RefreshManager(
        MemoryRefreshStore(clock=clock),
        signer,
        revocation=revocations,
        audit=audit,
        clock=clock,
    )
    seen: list[object] = []
    login = manager.start("user-1", audience=AUD, scopes=["orders:read"])
    renewed = manager.refresh(login.refresh_token)
    seen.append(("renewed", renewed.scopes))
    # The retry of a refresh whose answer was lost must look like reuse only if it is reuse:
    seen.append(outcome(lambda: manager.refresh(renewed.refresh_token).scopes))
    reused = login.refresh_token
    seen.append(outcome(lambda: manager.refresh(reused)))
    # Reuse revoked the whole session, access tokens included.
    seen.append(outcome(lambda: validator.validate(renewed.access_token)))
    other = manager.start("user-2", audience=AUD)
    seen.append(outcome(lambda: manager.revoke_family(other.session_id)))
    seen.append(outcome(lambda: validator.validate(other.access_token)))
    return seen


def redis_revocation_outage(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    token = verified_token(jti="a", issuer=ISS, issued_at=clock(), expires_at=clock() + 60)
    opened = RedisRevocationList(_dead_redis(), clock=clock, fail_open=True, audit=audit)
    closed = RedisRevocationList(_dead_redis(), clock=clock, audit=audit)
    return [
        outcome(lambda: opened.is_revoked(token)),
        outcome(lambda: closed.is_revoked(token)),
        outcome(lambda: opened.revoke("a", issuer=ISS, expires_at=clock() + 60)),
    ]


def async_redis_revocation_outage(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    token = verified_token(jti="a", issuer=ISS, issued_at=clock(), expires_at=clock() + 60)

    async def scenario() -> list[object]:
        client = redis.asyncio.Redis(
            host="127.0.0.1",
            port=free_port(),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=AsyncRetry(NoBackoff(), 0),
        )
        opened = AsyncRedisRevocationList(client, clock=clock, fail_open=True, audit=audit)
        closed = AsyncRedisRevocationList(client, clock=clock, audit=audit)
        seen: list[object] = []
        for action in (
            lambda: opened.is_revoked(token),
            lambda: closed.is_revoked(token),
            lambda: closed.revoke_session("s", issuer=ISS, expires_at=clock() + 60),
        ):
            try:
                seen.append(("returned", await action()))
            except Exception as exc:
                seen.append(("raised", type(exc).__name__))
        await client.aclose()
        return seen

    return asyncio.run(scenario())


def remote_jwks(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    a, b = Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b")
    seen: list[object] = []
    with JWKSServer() as server:
        server.serve_json("/jwks.json", {"keys": [a.to_jwk()]})
        remote = RemoteJWKS(server.url(), clock=clock, timeout=2.0, audit=audit)
        seen.append(outcome(lambda: remote.verification_key("a", "ES256").kid))
        server.serve_json("/jwks.json", {"keys": [a.to_jwk(), b.to_jwk(), {"kty": "EC"}]})
        seen.append(outcome(lambda: remote.verification_key("b", "ES256").kid))
        server.mode = "500"
        seen.append(outcome(remote.refresh))
        seen.append(outcome(lambda: sorted(remote.kids)))

        async def on_a_loop() -> list[object]:
            got: list[object] = []
            server.mode = "ok"
            source = AsyncRemoteJWKS(server.url(), clock=clock, timeout=2.0, audit=audit)
            got.append(("returned", (await source.verification_key("b", "ES256")).kid))
            server.mode = "500"
            try:
                await source.refresh()
                got.append(("returned", None))
            except Exception as exc:
                got.append(("raised", type(exc).__name__))
            await source.aclose()
            return got

        seen.extend(asyncio.run(on_a_loop()))
    return seen


def anomaly_detectors(audit: AuditSink | None) -> list[object]:
    if audit is None:  # a detector always has an emit sink; "no sink" is one that drops
        audit = lambda event: None  # noqa: E731
    key = Key.generate("ES256", kid="old").with_lifecycle(retire_at=100, not_after=10_000)
    detectors: list[AuditSink] = [
        RefusalBurstDetector(audit, threshold=1),
        TokenSharingDetector(audit, max_ips=1),
        RefreshReuseDetector(audit),
        RetiredKeyDetector(audit, keys=KeySet([key]), margin=100_000),
    ]
    events = [
        AuditEvent("token.refused", 9_000.0, code="expired", ip="192.0.2.1"),
        AuditEvent("token.validated", 9_000.0, jti="j", kid="old", ip="192.0.2.1"),
        AuditEvent("token.validated", 9_001.0, jti="j", kid="old", ip="192.0.2.2"),
        AuditEvent("refresh.reuse_detected", 9_002.0, subject="u"),
    ]
    return [outcome(lambda: [d(e) for d in detectors]) for e in events]


def revoke_and_fan_out(audit: AuditSink | None) -> list[object]:
    clock = FakeClock()
    revocations = MemoryRevocationList(clock=clock)
    token = verified_token(jti="j", issuer=ISS, expires_at=clock() + 60)
    seen: list[object] = [
        outcome(lambda: audited_revoke(revocations, token, audit=audit, clock=clock)),
        outcome(lambda: revocations.is_revoked(token)),
    ]
    delivered: list[AuditEvent] = []
    fanout = Fanout(*([] if audit is None else [audit]), delivered.append)
    seen.append(outcome(lambda: fanout(AuditEvent("anomaly", 1.0))))
    with QueueSink(fanout) as queue:
        queue(AuditEvent("anomaly", 2.0))
        queue(AuditEvent("anomaly", 3.0))
        queue.flush()
        seen.append(("queue running", queue.running))
    seen.append(("delivered", [e.at for e in delivered]))
    seen.append(outcome(lambda: emit(audit, AuditEvent("anomaly", 4.0))))
    return seen


SCENARIOS: dict[str, Scenario] = {
    "Signer and Validator": signer_and_validator,
    "Validator backend failure": validator_backend_failure,
    "RefreshManager": refresh_manager,
    "RedisRevocationList outage": redis_revocation_outage,
    "AsyncRedisRevocationList outage": async_redis_revocation_outage,
    "RemoteJWKS and AsyncRemoteJWKS": remote_jwks,
    "anomaly detectors": anomaly_detectors,
    "audited_revoke, Fanout and QueueSink": revoke_and_fan_out,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_raising_sink_changes_no_outcome(name: str, caplog: pytest.LogCaptureFixture) -> None:
    scenario = SCENARIOS[name]
    recorded: list[AuditEvent] = []
    assert scenario(recorded.append) == scenario(None)
    assert recorded, "the scenario must emit events for the test to mean anything"
    broken = RaisingSink()
    with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
        assert scenario(broken) == scenario(None)
    assert broken.calls > 0
    failures = [r for r in caplog.records if r.name == "tokensmith.audit"]
    assert failures and all("RaisingSink" in r.getMessage() for r in failures)


def test_a_failed_delivery_is_logged_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    forged = "x\naudit token.validated subject=admin"
    with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
        emit(RaisingSink(), AuditEvent(forged, 1.0, subject=forged, kid=forged))
    (record,) = caplog.records
    assert record.getMessage() == (
        'audit sink RaisingSink failed on a "x\\naudit token.validated subject=admin" event'
    )
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


def test_a_failed_async_delivery_is_logged_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """AsyncQueueSink logs a failing async sink the way emit() logs any other: one line."""
    forged = "x\naudit token.validated subject=admin"

    async def failing(event: AuditEvent) -> None:
        raise RuntimeError("the sink failed")

    async def main() -> None:
        async with AsyncQueueSink(failing) as sink:
            sink(AuditEvent(forged, 1.0, subject=forged))
            assert await sink.flush()

    with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
        asyncio.run(main())
    (record,) = caplog.records
    assert record.getMessage() == (
        'audit sink function failed on a "x\\naudit token.validated subject=admin" event'
    )
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
