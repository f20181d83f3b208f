"""Remote JWKS response headers: hostile values never break a fetch, and a 304 keeps the policy.

Against the real loopback server: ``http.client`` decodes header bytes as Latin-1, so the byte
0xB2 arrives as ``"²"``, for which ``str.isdigit()`` is True but ``int()`` and ``float()``
fail; Arabic-Indic digits (``"٣".isdigit()``) would even parse. Only ASCII digits count, any
exception while applying a response is a :class:`~tokensmith.errors.JWKSFetchError`, and the
background refresh (thread or task) never dies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokensmith.jwks.remote as remote_module
from tests.support.jwks_server import JWKSServer
from tests.support.wait import await_until, wait_until
from tokensmith import Key
from tokensmith._http import header_int
from tokensmith.errors import JWKSFetchError
from tokensmith.jwks._remote_config import Config
from tokensmith.jwks._remote_core import Core
from tokensmith.jwks.remote import (
    AsyncRemoteJWKS,
    HTTPResponse,
    RemoteJWKS,
    StdlibTransport,
)
from tokensmith.testing import FakeClock

PATH = "/jwks.json"
HOSTILE_NUMBERS = ["\u00b2", "\u0663", "\uff11\uff12", "1\u00b2", "\u00b9\u2070", "12\u0660"]


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


def _doc(*keys: Key) -> dict[str, Any]:
    return {"keys": [k.to_jwk() for k in keys]}


def _core(**options: Any) -> Core:
    config: dict[str, Any] = {
        "issuer": None,
        "min_ttl": 60,
        "max_ttl": 3600,
        "default_ttl": 300,
        "cooldown": 30,
        "cooldown_burst": 2,
        "max_stale": 600,
        "retry_interval": 1,
        "timeout": 1,
        "max_bytes": 65536,
        "max_keys": 10,
        "algorithms": None,
        "default_algorithms": None,
        "audit": None,
        **options,
    }
    return Core(Config("https://example.com/jwks", **config))


# --- only ASCII digits are numbers -------------------------------------------------------------


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_non_ascii_digits_in_max_age_mean_stale(number: str) -> None:
    """RFC 9111 §4.2.1: a max-age that is not an integer makes the response stale (min_ttl)."""
    core = _core(min_ttl=1)
    assert core.ttl({"cache-control": f"max-age={number}"}) == 1
    assert core.ttl({"cache-control": f'max-age="{number}"'}) == 1


@pytest.mark.parametrize("number", HOSTILE_NUMBERS)
def test_non_ascii_digits_in_age_are_ignored(number: str) -> None:
    assert _core().ttl({"cache-control": "max-age=600", "age": number}) == 600


@pytest.mark.parametrize(
    ("header", "age", "ttl"),
    [
        ("max-age=99999999999999999999", "", 3600),  # past 2**31: 2**31 (RFC 9111 §1.2.2)
        ("max-age=" + "9" * 5000, "", 3600),  # never converted whole (int() refuses 4300+)
        ("max-age=900", "9" * 5000, 60),
        ("max-age=900", "-5", 900),
    ],
)
def test_huge_and_signed_numbers(header: str, age: str, ttl: float) -> None:
    assert _core().ttl({"cache-control": header, "age": age}) == ttl


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), ("0", 0), ("9" * 5000, 2**31), ("", None), ("-1", None), (" 1", None)]
    + [(number, None) for number in HOSTILE_NUMBERS],
)
def test_header_numbers_are_ascii_digits_only(text: str, value: int | None) -> None:
    assert header_int(text) == value


@given(header=st.text(max_size=40), age=st.text(max_size=14))
def test_any_header_text_gives_a_lifetime_within_bounds(header: str, age: str) -> None:
    ttl = _core().ttl({"cache-control": header, "age": age})
    assert 60 <= ttl <= 3600


@pytest.mark.parametrize("header", ["Cache-Control", "Age"])
def test_a_superscript_digit_from_a_real_server_never_breaks_the_fetch(
    server: JWKSServer, header: str
) -> None:
    key = Key.generate("ES256", kid="a")
    value = "max-age=\u00b2" if header == "Cache-Control" else "\u00b2"
    extra = {header: value} if header == "Cache-Control" else {"Cache-Control": "max-age=900"}
    if header == "Age":
        extra["Age"] = value
    server.serve_json(PATH, _doc(key), headers=extra)
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2)
    remote.refresh()
    assert remote.verification_key("a", "ES256").kid == "a"
    assert remote.fresh_until - clock() == (60 if header == "Cache-Control" else 900)


def test_a_superscript_content_length_is_not_a_crash(server: JWKSServer) -> None:
    key = Key.generate("ES256", kid="a")
    server.serve_json(PATH, _doc(key))
    server.mode = "bad_length"
    response = StdlibTransport().fetch(server.url(), {}, 2.0, 65536)
    assert response.status == 200 and b'"a"' in response.body
    remote = RemoteJWKS(server.url(), clock=FakeClock(), timeout=2)
    assert remote.verification_key("a", "ES256").kid == "a"


# --- any exception while applying a response is a fetch error ----------------------------------


class _Hostile:
    """A transport whose response makes the core fail in ways no real server would."""

    def __init__(self, headers: object) -> None:
        self.headers = headers
        self.calls = 0

    def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        self.calls += 1
        body = json.dumps(_doc(Key.generate("ES256"))).encode()
        return HTTPResponse(200, self.headers, body)  # type: ignore[arg-type]


class _Exploding(Mapping[str, str]):
    def __getitem__(self, key: str) -> str:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize("headers", [None, _Exploding(), {"content-type": 5}])
def test_any_exception_while_applying_a_response_is_a_fetch_error(headers: object) -> None:
    transport = _Hostile(headers)
    remote = RemoteJWKS("https://issuer.example/jwks", transport=transport, clock=FakeClock())
    with pytest.raises(JWKSFetchError) as info:
        remote.refresh()
    assert type(info.value) is JWKSFetchError and info.value.reason == "invalid_response"
    with pytest.raises(JWKSFetchError):
        remote.verification_key("k", "ES256")

    async def main() -> None:
        face = AsyncRemoteJWKS("https://issuer.example/jwks", transport=transport)
        with pytest.raises(JWKSFetchError) as caught:
            await face.refresh()
        assert caught.value.reason == "invalid_response"
        with pytest.raises(JWKSFetchError):
            await face.verification_key("k", "ES256")

    asyncio.run(main())


# --- the background refresh never dies ---------------------------------------------------------


def test_the_background_thread_survives_hostile_headers(
    server: JWKSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    server.serve_json(
        PATH, _doc(Key.generate("ES256", kid="a")), headers={"Cache-Control": "max-age=\u00b2"}
    )
    clock = FakeClock()
    with RemoteJWKS(
        server.url(), clock=clock, timeout=2, min_ttl=10, background_refresh=True
    ) as remote:
        wait_until(lambda: "a" in remote.kids)
        thread = remote._thread
        assert thread is not None
        server.serve_json(
            PATH,
            _doc(Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b")),
            headers={"Cache-Control": "max-age=\u00b2", "Age": "\u00b2"},
        )
        clock.advance(9)  # past 80 % of min_ttl: the thread refreshes again
        wait_until(lambda: "b" in remote.kids)
        assert thread.is_alive()


class _BrokenClock(FakeClock):
    """A clock that raises while ``broken``: whatever fails, the background loop goes on."""

    broken = True

    def __call__(self) -> float:
        if self.broken:
            raise RuntimeError("the clock is broken")
        return super().__call__()


def test_the_background_thread_survives_any_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    monkeypatch.setattr(remote_module, "_BACKGROUND_BACKOFF", 0.01)
    transport = _Hostile(None)
    clock = _BrokenClock()
    with RemoteJWKS(
        "https://issuer.example/jwks", transport=transport, clock=clock, background_refresh=True
    ) as remote:
        wait_until(lambda: "background refresh failed" in caplog.text)
        clock.broken = False
        wait_until(lambda: remote.last_error is not None)  # the core refused the response
        assert remote.last_error is not None and remote.last_error.reason == "invalid_response"
        transport.headers = {"content-type": "application/json"}
        clock.advance(2)  # retry_interval
        wait_until(lambda: bool(remote.kids))
        assert remote._thread is not None and remote._thread.is_alive()


def test_the_background_task_survives_hostile_headers(
    server: JWKSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    server.serve_json(
        PATH, _doc(Key.generate("ES256", kid="a")), headers={"Cache-Control": "max-age=\u00b2"}
    )
    clock = FakeClock()

    async def main() -> None:
        async with AsyncRemoteJWKS(
            server.url(), clock=clock, timeout=2, min_ttl=10, background_refresh=True
        ) as remote:
            await await_until(lambda: "a" in remote.kids)
            server.serve_json(
                PATH,
                _doc(Key.generate("ES256", kid="a"), Key.generate("ES256", kid="b")),
                headers={"Cache-Control": "max-age=\u00b2", "Age": "\u00b2"},
            )
            clock.advance(9)
            await await_until(lambda: "b" in remote.kids)
            assert remote._task is not None and not remote._task.done()

    asyncio.run(main())


def test_the_background_task_survives_any_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(remote_module, "_BACKGROUND_POLL", 0.01)
    monkeypatch.setattr(remote_module, "_BACKGROUND_BACKOFF", 0.01)
    transport = _Hostile(None)
    clock = _BrokenClock()

    async def main() -> None:
        async with AsyncRemoteJWKS(
            "https://issuer.example/jwks",
            transport=transport,
            clock=clock,
            background_refresh=True,
        ) as remote:
            await await_until(lambda: "background refresh failed" in caplog.text)
            clock.broken = False
            await await_until(lambda: remote.last_error is not None)
            transport.headers = {"content-type": "application/json"}
            clock.advance(2)
            await await_until(lambda: bool(remote.kids))
            assert remote._task is not None and not remote._task.done()

    asyncio.run(main())


# --- a 304 keeps the stored lifetime policy (RFC 9111 §4.3.4) ----------------------------------


def _serve_304_after(
    server: JWKSServer, key: Key, first: dict[str, str], later: dict[str, str]
) -> None:
    """A 200 with ``first`` headers and an ETag, then 304s carrying only ``later`` headers."""
    body = json.dumps(_doc(key)).encode()

    def route(headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"', **later}, b""
        return 200, {"Content-Type": "application/json", "ETag": '"v1"', **first}, body

    server.routes[PATH] = route


@pytest.mark.parametrize(
    ("first", "later", "ttl"),
    [
        ({"Cache-Control": "max-age=900"}, {}, 900),  # absent in the 304: the stored one
        ({"Cache-Control": "max-age=900"}, {"Age": "100"}, 800),
        ({"Cache-Control": "max-age=900"}, {"Cache-Control": "max-age=120"}, 120),  # updated
        ({}, {}, 300),  # neither: default_ttl
        ({"Cache-Control": "max-age=900", "Age": "500"}, {}, 900),  # the stored Age is history
    ],
)
def test_a_304_without_cache_control_keeps_the_stored_lifetime(
    server: JWKSServer, first: dict[str, str], later: dict[str, str], ttl: float
) -> None:
    _serve_304_after(server, Key.generate("ES256", kid="a"), first, later)
    clock = FakeClock()
    remote = RemoteJWKS(server.url(), clock=clock, timeout=2)
    remote.refresh()
    clock.advance(1000)
    assert remote.verification_key("a", "ES256").kid == "a"  # the conditional refresh: a 304
    assert server.request_headers[-1]["if-none-match"] == '"v1"'
    assert remote.fresh_until - clock() == ttl
    clock.advance(ttl)
    remote.verification_key("a", "ES256")  # another 304 without headers: the same again
    assert remote.fresh_until - clock() == (120 if later.get("Cache-Control") else ttl)


def test_a_304_keeps_the_stored_lifetime_on_the_async_face(server: JWKSServer) -> None:
    _serve_304_after(server, Key.generate("ES256", kid="a"), {"Cache-Control": "max-age=900"}, {})
    clock = FakeClock()

    async def main() -> float:
        async with AsyncRemoteJWKS(server.url(), clock=clock, timeout=2) as remote:
            await remote.refresh()
            clock.advance(1000)
            await remote.verification_key("a", "ES256")
            return remote.fresh_until - clock()

    assert asyncio.run(main()) == 900
    assert server.requests_to(PATH) == 2
