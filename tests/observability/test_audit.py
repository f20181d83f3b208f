"""tokensmith.audit: events from the Signer and Validator, logging/JSON delivery, the queue."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    ExpiredToken,
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    Validator,
    fingerprint,
)
from tokensmith.errors import BackendUnavailable, ConfigurationError, InvalidSignature
from tokensmith.observability import (
    EVENT_KINDS,
    AuditEvent,
    Fanout,
    JsonFormatter,
    LoggingSink,
    QueueSink,
    audit_context,
    audited_revoke,
    emit,
    event_fields,
    event_line,
    refused_event,
)
from tokensmith.testing import FakeClock


@pytest.fixture
def events() -> list[AuditEvent]:
    return []


@pytest.fixture
def audited(
    store: MemoryKeyStore, clock: FakeClock, events: list[AuditEvent]
) -> tuple[Signer, Validator]:
    signer = Signer(store, issuer=ISSUER, ttl=600, clock=clock, audit=events.append)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=events.append)
    return signer, validator


def test_issued_validated_refused_events(
    audited: tuple[Signer, Validator],
    events: list[AuditEvent],
    clock: FakeClock,
    store: MemoryKeyStore,
) -> None:
    signer, validator = audited
    issued = signer.issue_token("user-1", audience=AUDIENCE, claims={"client_id": "app-7"})
    kid = store.signing_key().kid
    assert events == [
        AuditEvent(
            kind="token.issued",
            at=clock(),
            fingerprint=issued.fingerprint,
            jti=issued.jti,
            subject="user-1",
            client_id="app-7",
            issuer=ISSUER,
            kid=kid,
        )
    ]
    events.clear()
    with audit_context(ip="198.51.100.4", route="/orders"):
        validator.validate(issued.token)
    (event,) = events
    assert event.kind == "token.validated" and event.ip == "198.51.100.4"
    assert event.jti == issued.jti and event.fingerprint == issued.fingerprint and event.kid == kid
    assert dict(event.detail) == {"route": "/orders"}
    events.clear()
    clock.advance(3600)
    with pytest.raises(ExpiredToken), audit_context(ip="198.51.100.4"):
        validator.validate(issued.token)
    (event,) = events
    assert event.kind == "token.refused" and event.code == "expired" and event.ip == "198.51.100.4"
    assert event.fingerprint == issued.fingerprint and event.jti is None and event.subject is None
    fresh = signer.issue("user-1", audience=AUDIENCE)
    events.clear()
    with pytest.raises(ConfigurationError):
        validator.validate(fresh, scopes=[5])  # type: ignore[list-item]
    assert events == []  # a configuration mistake is not a refusal
    assert all(e.kind in EVENT_KINDS for e in events)


def test_refused_event_for_non_text_input(
    audited: tuple[Signer, Validator], events: list[AuditEvent]
) -> None:
    _, validator = audited
    with pytest.raises(Exception):  # noqa: PT011
        validator.validate(None)  # type: ignore[arg-type]
    assert events[-1].kind == "token.refused" and events[-1].fingerprint is None
    with pytest.raises(InvalidSignature):
        validator.validate(bytearray(b"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.AAAA"))  # type: ignore[arg-type]
    assert events[-1].fingerprint == fingerprint(b"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.AAAA")


def test_backend_failure_event(store: MemoryKeyStore, clock: FakeClock, signer: Signer) -> None:
    events: list[AuditEvent] = []

    class Broken:
        def is_revoked(self, token: Any) -> bool:
            raise OSError("down")

    validator = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        revocation=Broken(),  # type: ignore[arg-type]  # a double: only is_revoked
        audit=events.append,
    )
    with pytest.raises(BackendUnavailable):
        validator.validate(signer.issue("u", audience=AUDIENCE))
    assert [(e.kind, e.code) for e in events] == [("backend.failure", "backend_unavailable")]


def test_async_validate_is_audited(
    audited: tuple[Signer, Validator], events: list[AuditEvent]
) -> None:
    signer, validator = audited
    token = signer.issue("u", audience=AUDIENCE)
    events.clear()

    async def run() -> None:
        with audit_context(ip="::1"):
            await validator.avalidate(token)
            with pytest.raises(InvalidSignature):
                await validator.avalidate(
                    token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
                )

    asyncio.run(run())
    assert [(e.kind, e.ip) for e in events] == [
        ("token.validated", "::1"),
        ("token.refused", "::1"),
    ]


def test_audit_must_be_callable(store: MemoryKeyStore) -> None:
    with pytest.raises(ConfigurationError):
        Validator(store, issuer=ISSUER, audience=AUDIENCE, audit=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Signer(store, issuer=ISSUER, audit="x")  # type: ignore[arg-type]


def test_a_failing_sink_never_breaks_issue_or_validate(
    store: MemoryKeyStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: AuditEvent) -> None:
        raise RuntimeError("sink down")

    signer = Signer(store, issuer=ISSUER, clock=clock, audit=broken)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=broken)
    with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
        token = signer.issue("u", audience=AUDIENCE)
        assert validator.validate(token).subject == "u"
    assert "audit sink broken failed" not in caplog.text
    assert caplog.text.count("failed on a token.") == 2
    emit(None, AuditEvent("token.issued", 0.0))  # no sink: nothing to do


def test_audited_revoke(signer: Signer, validator: Validator, clock: FakeClock) -> None:
    events: list[AuditEvent] = []
    revocations = MemoryRevocationList(clock=clock)
    verified = validator.validate(signer.issue("u", audience=AUDIENCE))
    with audit_context(ip="10.0.0.1"):
        audited_revoke(revocations, verified, audit=events.append, clock=clock, reason="logout")
    assert revocations.is_revoked(verified)
    (event,) = events
    assert (event.kind, event.jti, event.ip, dict(event.detail)) == (
        "token.revoked",
        verified.jti,
        "10.0.0.1",
        {"reason": "logout"},
    )
    assert event.fingerprint == verified.fingerprint
    from tokensmith.testing import verified_token

    events.clear()
    audited_revoke(
        revocations, verified_token(jti="j2", expires_at=clock() + 60), audit=events.append
    )
    assert events[0].fingerprint is None and events[0].jti == "j2"
    with pytest.raises(ConfigurationError):
        audited_revoke(revocations, verified_token(jti=None), audit=events.append)
    assert len(events) == 1  # nothing emitted when the revocation did not happen


# --- delivery --------------------------------------------------------------------------------


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_logging_sink_and_json_formatter() -> None:
    logger, stream = _logger("tests.audit.json")
    sink = LoggingSink(logger)
    assert "tests.audit.json" in repr(sink)
    sink(
        AuditEvent("token.refused", 1_700_000_000.5, code="expired", fingerprint="ab" * 8, ip="::1")
    )
    sink(AuditEvent("token.validated", 1_700_000_001.0, jti="j1", detail={"route": "/x"}))
    sink(AuditEvent("backend.failure", 1_700_000_002.0, code="backend_unavailable"))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["level"], x["audit"]["kind"]) for x in lines] == [
        ("WARNING", "token.refused"),
        ("INFO", "token.validated"),
        ("ERROR", "backend.failure"),
    ]
    first = lines[0]
    assert first["logger"] == "tests.audit.json" and first["time"].endswith("+00:00")
    assert first["audit"] == {
        "kind": "token.refused",
        "at": 1_700_000_000.5,
        "code": "expired",
        "fingerprint": "ab" * 8,
        "ip": "::1",
    }
    assert first["message"] == (
        'audit token.refused code="expired" fingerprint="abababababababab" ip="::1" at=1700000000.5'
    )
    assert lines[1]["audit"]["detail"] == {"route": "/x"}
    logger.setLevel(logging.ERROR)
    sink(AuditEvent("token.validated", 0.0))  # filtered: not even formatted
    assert len(stream.getvalue().splitlines()) == 3
    custom = LoggingSink(logger, levels={"token.validated": logging.CRITICAL})
    custom(AuditEvent("token.validated", 0.0))
    assert json.loads(stream.getvalue().splitlines()[-1])["level"] == "CRITICAL"
    assert LoggingSink().logger.name == "tokensmith.audit"
    assert LoggingSink("x.y").logger.name == "x.y"


def test_json_formatter_exceptions_and_plain_records() -> None:
    logger, stream = _logger("tests.audit.exc")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed %s", "here", stack_info=True)
    line = json.loads(stream.getvalue())
    assert (
        line["message"] == "failed here" and "ValueError: boom" in line["exc"] and "stack" in line
    )
    assert "audit" not in line


def test_fanout_isolates_sinks(caplog: pytest.LogCaptureFixture) -> None:
    got: list[AuditEvent] = []

    def bad(event: AuditEvent) -> None:
        raise RuntimeError

    with caplog.at_level(logging.ERROR, logger="tokensmith.audit"):
        Fanout(bad, got.append)(AuditEvent("anomaly", 1.0))
    assert len(got) == 1 and "audit sink function failed on a anomaly event" in caplog.text
    with pytest.raises(ConfigurationError):
        Fanout(got.append, 5)  # type: ignore[arg-type]


def test_queue_sink_delivers_off_thread_and_stops() -> None:
    seen: list[tuple[str, str]] = []
    before = threading.active_count()
    with QueueSink(lambda e: seen.append((e.kind, threading.current_thread().name))) as queue:
        assert queue.running
        for i in range(50):
            queue(AuditEvent("token.validated", float(i)))
        queue.flush()
        assert len(seen) == 50 and {name for _, name in seen} == {"tokensmith-audit"}
    assert not queue.running and threading.active_count() == before
    queue(AuditEvent("token.validated", 0.0))  # after close: dropped, counted
    assert queue.dropped == 1 and "dropped=1" in repr(queue)
    queue.close()  # idempotent


def test_queue_sink_drops_when_full() -> None:
    gate = threading.Event()
    got: list[AuditEvent] = []

    def slow(event: AuditEvent) -> None:
        gate.wait(5)
        got.append(event)

    queue = QueueSink(slow, maxsize=2)
    try:
        for i in range(10):
            queue(AuditEvent("token.validated", float(i)))
        assert queue.dropped >= 7  # one in flight, two queued at most
    finally:
        gate.set()
        queue.close()
    assert len(got) + queue.dropped == 10
    with pytest.raises(ConfigurationError):
        QueueSink(5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        QueueSink(got.append, maxsize=0)
    assert queue.flush() is True  # closed and drained


def test_event_fields_and_refused_event_never_hold_the_token(signer: Signer) -> None:
    token = signer.issue("u", audience=AUDIENCE)
    event = refused_event(ExpiredToken("x"), token, 5.0)
    assert token not in json.dumps(event_fields(event)) and token not in repr(event)
    assert event_fields(AuditEvent("anomaly", 1.0)) == {"kind": "anomaly", "at": 1.0}


def test_the_session_log_scan_is_installed() -> None:
    """tests/conftest.py records every issued token and every log record (see its comment)."""
    assert Signer._issue.__name__ == "recording"
    assert logging.Logger.callHandlers.__name__ == "collecting"
    collector = logging.Logger.callHandlers.__closure__ or ()
    found = [
        c.cell_contents for c in collector if type(c.cell_contents).__name__ == "_LogCollector"
    ]
    quiet = logging.getLogger("tests.audit.no_propagate")
    quiet.propagate = False
    quiet.warning("marker %s", "f00d", extra={"audit": {"x": 1}})
    assert "marker f00d {'audit': {'x': 1}}" in found[0].texts[-1]
    assert found[0].loggers[-1] == "tests.audit.no_propagate"


def test_keyset_used_by_store(clock: FakeClock) -> None:
    # The audited signer works with any key store (HMAC here).
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    got: list[AuditEvent] = []
    Signer(store, issuer=ISSUER, clock=clock, audit=got.append).issue(None)
    assert got[0].subject is None and got[0].client_id is None


# --- text renderings: no value can forge a line or a pair (issue 14, item 7) -------------------

_VALUE = r'"(?:[^"\\]|\\.)*"'
_KEY = r"[A-Za-z0-9_.:/@+-]+|detail\.(?:[A-Za-z0-9_.:/@+-]+|" + _VALUE + ")"
_LINE = re.compile(rf"audit (?P<kind>[A-Za-z0-9_.:/@+-]+|{_VALUE})(?P<pairs>(?: .*)?)")
_PAIR = re.compile(rf" (?P<key>{_KEY})=(?P<value>{_VALUE}|[0-9.e+-]+)")


def parse_line(message: str) -> dict[str, Any]:
    """Read a LoggingSink message back into event_fields() form; refuse anything else."""
    whole = _LINE.fullmatch(message)
    assert whole is not None, message
    kind = whole["kind"]
    out: dict[str, Any] = {"kind": json.loads(kind) if kind.startswith('"') else kind}
    pairs = whole["pairs"]
    position = 0
    detail: dict[str, str] = {}
    for match in _PAIR.finditer(pairs):
        assert match.start() == position, (pairs, position)
        position = match.end()
        key, value = match["key"], match["value"]
        if key == "at":
            out["at"] = float(value)
            continue
        text = json.loads(value)
        if key.startswith("detail."):
            name = key[len("detail.") :]
            detail[json.loads(name) if name.startswith('"') else name] = text
        else:
            assert key not in out, f"{key} appears twice"
            out[key] = text
    assert position == len(pairs), pairs[position:]
    if detail:
        out["detail"] = detail
    return out


def _rendered(event: AuditEvent) -> tuple[str, str]:
    """(the LoggingSink message, the JsonFormatter line) for one event."""
    logger, stream = _logger("tests.audit.forging")
    logger.setLevel(logging.DEBUG)
    LoggingSink(logger)(event)
    (line,) = stream.getvalue().splitlines()
    return json.loads(line)["message"], line


FORGERIES = [
    "k1\naudit token.refused code=expired ip=203.0.113.9",
    "k1\r\n2024-01-01 WARNING audit token.validated subject=admin",
    'x" ip="203.0.113.9',
    "x ip=203.0.113.9",
    "tab\there",
    "nel\x85line\u2028sep\u2029par\x0bvt\x0cff\x1cfs\x1dgs\x1ers\x7fdel\x00nul",
    "lone \ud800 surrogate, bidi \u202e override, zero width \u200b, nbsp \xa0",
    "back\\slash \\n not a newline",
    "",
]


@pytest.mark.parametrize("value", FORGERIES)
def test_no_field_can_forge_a_line_or_a_pair(value: str) -> None:
    event = AuditEvent(
        "token.validated",
        1_700_000_000.25,
        code=value,
        fingerprint=value,
        jti=value,
        subject=value,
        client_id=value,
        issuer=value,
        kid=value,
        ip=value,
        detail={"route": value, value: "v", "ip": "203.0.113.9"},
    )
    message, line = _rendered(event)
    assert len(message.splitlines()) == 1 and message.isprintable()
    assert len(line.splitlines()) == 1 and line.isprintable()
    assert parse_line(message) == event_fields(event)
    assert json.loads(line)["audit"] == event_fields(event)
    assert parse_line(message)["ip"] == value  # detail["ip"] is detail.ip, never a second ip


def test_a_kid_from_a_key_set_cannot_forge_a_line(clock: FakeClock) -> None:
    kid = "k1\naudit token.refused code=expired ip=203.0.113.9"
    store = MemoryKeyStore(KeySet([Key.generate("ES256", kid=kid)]), clock=clock)
    logger, stream = _logger("tests.audit.kid")
    sink = LoggingSink(logger)
    token = Signer(store, issuer=ISSUER, clock=clock, audit=sink).issue("u", audience=AUDIENCE)
    with audit_context(ip="198.51.100.4", route="/orders\r\nfake"):
        Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=sink).validate(token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert [parse_line(json.loads(x)["message"])["kid"] for x in lines] == [kid, kid]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.text(min_size=1),
    at=st.floats(allow_nan=False, allow_infinity=False),
    values=st.lists(st.one_of(st.none(), st.text()), min_size=8, max_size=8),
    detail=st.dictionaries(st.text(), st.text(), max_size=4),
)
def test_rendering_reads_back_to_exactly_the_fields(
    kind: str, at: float, values: list[str | None], detail: dict[str, str]
) -> None:
    names = ("code", "fingerprint", "jti", "subject", "client_id", "issuer", "kid", "ip")
    event = AuditEvent(kind, at, detail=detail, **dict(zip(names, values, strict=True)))
    message = "audit " + event_line(event)
    assert len(message.splitlines()) == 1 and message.isprintable()
    assert parse_line(message) == event_fields(event)
    line = JsonFormatter().format(
        logging.LogRecord("x", logging.INFO, "f", 1, "%s", (message,), None)
    )
    assert len(line.splitlines()) == 1 and json.loads(line)["message"] == message


def test_json_formatter_escapes_what_splits_lines() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "a\u2028b\x85c\ud800", None, None)
    record.audit = {"kid": "k\u2029"}
    line = JsonFormatter().format(record)
    assert line.isprintable() and len(line.splitlines()) == 1
    assert json.loads(line)["message"] == "a\u2028b\x85c\ud800"
    assert json.loads(line)["audit"] == {"kid": "k\u2029"}
    line.encode("utf-8")  # a lone surrogate no longer makes the handler drop the record
