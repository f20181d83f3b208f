"""StdlibTransport against raw loopback peers: framing every Python version must read alike, and
one deadline for the whole exchange however slowly the peer sends each part of it."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import peers
from tests.support.peers import LOOPBACK, Authority, Behaviour, RawPeer, read_request
from tokensmith._http import StdlibTransport, _Deadline
from tokensmith.errors import JWKSFetchError

BODY = b'{"keys": []}'


def _reply(raw: bytes) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(raw)

    return behaviour


def _trickle(raw: bytes, every: float) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        read_request(conn)
        for i in range(len(raw)):
            conn.sendall(raw[i : i + 1])
            time.sleep(every)

    return behaviour


RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY
)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(RESPONSE, id="content-length-connection-close"),
        pytest.param(RESPONSE.replace(b"Connection: close\r\n", b""), id="content-length-keep"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            + hex(len(BODY))[2:].encode()
            + b"\r\n"
            + BODY
            + b"\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY,
            id="close-delimited",
        ),
    ],
)
def test_every_framing_reads_the_whole_body(raw: bytes) -> None:
    # Python 3.13 closes the connection as soon as Content-Length bytes are read; the transport
    # once touched the socket after that and failed every fetch (EBADF) on 3.13.
    with RawPeer(_reply(raw)) as peer:
        response = StdlibTransport().fetch(peer.url, {}, 2.0, 1024)
    assert response.status == 200
    assert response.body == BODY
    assert response.headers["content-type"] == "application/json"


def test_a_304_without_a_body_is_read() -> None:
    raw = b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\nConnection: close\r\n\r\n'
    with RawPeer(_reply(raw)) as peer:
        response = StdlibTransport().fetch(peer.url, {"If-None-Match": '"a"'}, 2.0, 1024)
    assert response.status == 304
    assert response.body == b""


def test_a_chunked_body_cut_short_is_truncated() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n10\r\n" + BODY[:5]
    )
    with RawPeer(_reply(raw)) as peer, pytest.raises(JWKSFetchError) as info:
        StdlibTransport().fetch(peer.url, {}, 2.0, 1024)
    assert info.value.reason == "truncated"


@pytest.mark.parametrize("length", ["\u00b2", "\u00b9\u00b2", " 12 ", "x", ""])
def test_any_content_length_spelling_is_read_or_refused_never_raised(length: str) -> None:
    """http.client decodes header bytes as Latin-1: "²" is a digit to str.isdigit()."""
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + length.encode("latin-1")
        + b"\r\nConnection: close\r\n\r\n"
        + BODY
    )
    with RawPeer(_reply(raw)) as peer:
        try:
            response = StdlibTransport().fetch(peer.url, {}, 2.0, 1024)
        except JWKSFetchError:
            return
    assert response.body in (BODY, BODY[:12])


def test_the_watchdog_firing_before_any_socket_is_harmless() -> None:
    deadline = _Deadline(0.0)
    with deadline:
        time.sleep(0.05)
    assert deadline.expired


def test_a_body_shorter_than_its_content_length_is_truncated() -> None:
    raw = RESPONSE[: -len(BODY)] + BODY[:-3]
    with RawPeer(_reply(raw)) as peer, pytest.raises(JWKSFetchError) as info:
        StdlibTransport().fetch(peer.url, {}, 2.0, 1024)
    assert info.value.reason == "truncated"


@pytest.mark.parametrize(
    "part",
    [
        pytest.param(RESPONSE, id="status-line"),
        pytest.param(RESPONSE, id="headers"),
        pytest.param(RESPONSE, id="body"),
    ],
)
def test_a_trickling_peer_is_cut_at_one_deadline(
    part: bytes, request: pytest.FixtureRequest
) -> None:
    """Each byte arrives well within any per-read timeout; the whole takes far longer."""
    which = request.node.callspec.id
    head, _, _ = RESPONSE.partition(b"\r\n")
    prefix = {"status-line": b"", "headers": head + b"\r\n", "body": RESPONSE[: -len(BODY)]}[which]

    def behaviour(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(prefix)
        for byte in part[len(prefix) :]:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)

    with RawPeer(behaviour) as peer:
        start = time.monotonic()
        with pytest.raises(JWKSFetchError) as info:
            StdlibTransport().fetch(peer.url, {}, 0.5, 1024)
        elapsed = time.monotonic() - start
    assert info.value.reason == "timeout"
    assert elapsed < 1.5  # the whole response would take 10 s or more


def test_a_peer_that_never_answers_is_cut_at_the_deadline() -> None:
    with RawPeer(lambda conn: time.sleep(3)) as peer:
        start = time.monotonic()
        with pytest.raises(JWKSFetchError) as info:
            StdlibTransport().fetch(peer.url, {}, 0.4, 1024)
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 1.5


def test_a_trickled_tls_handshake_is_cut_at_the_deadline(tmp_path: Path) -> None:
    """The server's handshake messages arrive a byte at a time: the deadline still holds."""
    authority: Authority = peers.authority(tmp_path)
    context = peers.server_context(tmp_path, authority, names=LOOPBACK)
    client_context = ssl.create_default_context(cafile=str(authority.path))

    def behaviour(conn: socket.socket) -> None:
        # Relay a real TLS server's bytes to the client one at a time.
        inner_server, inner_client = socket.socketpair()
        with inner_server, inner_client:

            def serve() -> None:
                try:
                    with context.wrap_socket(inner_server, server_side=True) as tls:
                        read_request(tls)
                        tls.sendall(RESPONSE)
                except (OSError, ssl.SSLError):
                    pass

            threading.Thread(target=serve, daemon=True).start()
            conn.settimeout(0.01)
            inner_client.settimeout(0.01)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    data = conn.recv(4096)
                    if not data:
                        return
                    inner_client.sendall(data)
                except TimeoutError:
                    pass
                try:
                    data = inner_client.recv(1)
                    if not data:
                        return
                    conn.sendall(data)
                    time.sleep(0.02)
                except TimeoutError:
                    pass

    with RawPeer(behaviour) as peer:
        url = peer.url.replace("http://", "https://")
        start = time.monotonic()
        with pytest.raises(JWKSFetchError) as info:
            StdlibTransport(ssl_context=client_context).fetch(url, {}, 0.5, 1024)
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 1.5


def test_the_watchdog_never_outlives_a_fetch() -> None:
    before = threading.active_count()
    with RawPeer(_reply(RESPONSE)) as peer:
        for _ in range(5):
            StdlibTransport().fetch(peer.url, {}, 2.0, 1024)
        time.sleep(0.05)
        during = threading.active_count()
    assert during <= before + 3  # the peer's own threads, no timer left behind


def test_a_socket_watched_after_the_deadline_is_shut_down_at_once() -> None:
    """The deadline can pass between connecting and watching: the socket is cut right away."""
    deadline = _Deadline(0.0)
    with pytest.raises(TimeoutError):
        deadline.remaining()
    left, right = socket.socketpair()
    with left, right:
        deadline.watch(left)
        assert left.recv(1) == b""  # shut down: end of data, not a wait
    deadline.watch(left)  # a closed socket: nothing to cut, nothing raised


def test_python_m_tokensmith_is_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import runpy

    importlib.import_module("tokensmith.__main__")  # imported, not run: nothing happens
    monkeypatch.delitem(sys.modules, "tokensmith.__main__")
    monkeypatch.setattr(sys, "argv", ["tokensmith", "--version"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("tokensmith", run_name="__main__")
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("tokensmith")
