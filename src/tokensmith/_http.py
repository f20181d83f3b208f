"""The small HTTP client a remote key source needs, and the hook to replace it.

Remote key sets are fetched rarely (once per cache lifetime), so the default transport is the
standard library's :mod:`http.client`: no new dependency, and it never follows redirects. The
async face runs the same blocking fetch in a worker thread (:func:`asyncio.to_thread`) rather
than re-implementing an HTTP/1.1 parser over asyncio streams: a second parser is more attack
surface, and a thread hop once per cache lifetime costs nothing measurable. Users who want
connection pooling, proxies or a native async client plug in their own :class:`Transport` /
:class:`AsyncTransport` (a dozen lines over httpx or aiohttp, see ``docs/remote-jwks.md``).

Rules every transport must follow, and the default one does: no redirects (a 3xx is returned
as is, and the caller refuses it), the body is capped at ``max_bytes`` *while* reading, and the
whole exchange is bounded by ``timeout`` seconds.

What the sync and async callers (remote key sets, discovery) share lives here too: the check
of a transport given to them (:func:`blocking_transport`, :func:`any_transport`), the one way
an async caller uses either kind (:func:`afetch`), and what makes a response a JSON document
they may read (:func:`json_body`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol, cast, runtime_checkable
from urllib.parse import SplitResult, urlsplit

from .errors import ConfigurationError, JWKSFetchError

if TYPE_CHECKING:  # http.client, ssl, asyncio load only when a fetch happens
    import http.client
    import socket
    import ssl

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "AsyncTransport",
    "HTTPResponse",
    "StdlibTransport",
    "Transport",
    "afetch",
    "any_transport",
    "blocking_transport",
    "check_url",
    "header_int",
    "is_downgrade",
    "is_loopback_host",
    "json_body",
]

ACCEPTED_CONTENT_TYPES: Final = frozenset({"application/json", "application/jwk-set+json"})
"""Media types a JWKS or metadata response may carry (parameters such as ``charset`` are
ignored)."""

_CHUNK: Final = 16 * 1024
_USER_AGENT: Final = "tokensmith-jwks/1"


@dataclass(frozen=True, slots=True)
class HTTPResponse:
    """What a transport hands back: status, headers (names lower-cased) and the raw body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@runtime_checkable
class Transport(Protocol):
    """A blocking HTTP GET, so users can bring their own client (httpx, requests...).

    Must not follow redirects, must stop reading past ``max_bytes`` (raise or return more than
    ``max_bytes`` so the caller refuses it) and must give up after ``timeout`` seconds.
    Exceptions it raises count as a failed fetch (stale-if-error applies).
    """

    def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        """GET ``url`` with ``headers``."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """The async twin of :class:`Transport` (for aiohttp, httpx.AsyncClient...)."""

    async def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        """GET ``url`` with ``headers``."""
        ...


def blocking_transport(transport: object) -> Transport:
    """``transport`` if it has a blocking ``fetch()``: an async one given to a sync caller
    would hand back a coroutine, never a response. ``None`` means :class:`StdlibTransport`."""
    import inspect  # noqa: PLC0415 - loaded by the callers that build a key source, not publish

    if transport is None:
        return StdlibTransport()
    fetch = getattr(transport, "fetch", None)
    if not callable(fetch) or inspect.iscoroutinefunction(fetch):
        raise ConfigurationError(
            "transport must have a blocking fetch(); use the async twin for an AsyncTransport"
        )
    return cast(Transport, transport)


def any_transport(transport: object) -> Transport | AsyncTransport:
    """``transport`` if it has a ``fetch()`` (blocking or async; see :func:`afetch`). ``None``
    means :class:`StdlibTransport`."""
    if transport is None:
        return StdlibTransport()
    if not callable(getattr(transport, "fetch", None)):
        raise ConfigurationError("transport must have a fetch() method")
    return cast("Transport | AsyncTransport", transport)


async def afetch(
    transport: Transport | AsyncTransport,
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
) -> object:
    """What ``transport.fetch`` returned, awaited, or run in a worker thread when it blocks
    (never on the event loop); the caller checks it is an :class:`HTTPResponse`."""
    import asyncio  # noqa: PLC0415 - only async callers get here
    import inspect  # noqa: PLC0415

    if inspect.iscoroutinefunction(transport.fetch):
        return await transport.fetch(url, headers, timeout, max_bytes)
    return await asyncio.to_thread(transport.fetch, url, headers, timeout, max_bytes)


def json_body(
    response: HTTPResponse,
    host: str | None,
    max_bytes: int,
    what: str,
    error: type[JWKSFetchError],
) -> bytes:
    """The body of ``response`` if it may be read as JSON: HTTP 200 (a redirect is never
    followed), at most ``max_bytes``, a JSON media type. Else ``error`` whose reason says why
    (``redirect``, ``http_status``, ``too_large``, ``content_type``); ``what`` names the
    document in the message (``"the JWKS"``)."""
    status = response.status
    if 300 <= status < 400:
        raise error(f"{host} answered a redirect; not followed", reason="redirect")
    if status != 200:
        raise error(f"{host} answered HTTP {int(status)}", reason="http_status")
    body = response.body
    if len(body) > max_bytes:
        raise error(f"{what} from {host} exceeds {max_bytes} bytes", reason="too_large")
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ACCEPTED_CONTENT_TYPES:
        raise error(f"{what} from {host} is not JSON (content type)", reason="content_type")
    return body


_HEADER_INT_MAX: Final = 2**31


def header_int(text: str) -> int | None:
    """A header's non-negative integer (RFC 9110 §5.6.7 delta-seconds, ``Content-Length``):
    ASCII digits only, or ``None``.

    ``str.isdigit()`` is True for ``"²"`` (byte 0xB2 as ``http.client`` decodes headers) and
    for other scripts' digits (``"٣"``), which ``int()`` then refuses or, worse, accepts.
    Values past 2**31 are 2**31 (RFC 9111 §1.2.2), so no huge string is ever converted.
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 10:
        return _HEADER_INT_MAX
    return min(int(text), _HEADER_INT_MAX)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: the only hosts plain http may reach."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: object, what: str = "url") -> SplitResult:
    """Refuse, at construction, every URL a key source must not fetch.

    https only (plain http only for loopback, for tests and local development), a host, no
    user info (credentials do not belong in a URL that ends up in logs), no fragment.
    """
    if not isinstance(url, str) or not url or len(url) > 2048 or not url.isprintable():
        raise ConfigurationError(f"{what} must be a non-empty printable URL string")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL") from None
    host = parts.hostname
    if not host:
        raise ConfigurationError(f"{what} has no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{what} may not carry user info (credentials)")
    if parts.fragment or url.endswith("#"):
        raise ConfigurationError(f"{what} may not have a fragment")
    if any(c.isspace() for c in url):
        raise ConfigurationError(f"{what} may not contain whitespace")
    scheme = parts.scheme.lower()
    if scheme == "http":
        if not is_loopback_host(host):
            raise ConfigurationError(
                f"{what} must use https (plain http is allowed for loopback addresses only)"
            )
    elif scheme != "https":
        raise ConfigurationError(f"{what} must use https")
    if port == 0:
        raise ConfigurationError(f"{what} has port 0")
    return parts


def is_downgrade(issuer: str, url: SplitResult) -> bool:
    """True when ``url`` (checked by :func:`check_url`) is weaker than its ``issuer``.

    An https issuer's URLs must be https too, loopback included: plain http to 127.0.0.1 would
    let any local process answer for the issuer. Only a loopback http issuer (development) may
    name a loopback http URL.
    """
    return url.scheme.lower() == "http" and urlsplit(issuer).scheme.lower() != "http"


class StdlibTransport:
    """The default transport: :mod:`http.client`, TLS verified, no redirects, no proxies.

    ``ssl_context`` defaults to :func:`ssl.create_default_context` (certificate and host name
    verification on). Environment proxy variables are ignored on purpose; plug a transport
    that honours them if you need one.

    ``timeout`` is one deadline for the whole exchange: connecting, the TLS handshake, the
    status line, the headers and the body together. A socket timeout alone bounds only each
    read, so a peer trickling one byte at a time could hold a fetch (and the fetch lock)
    indefinitely; here a watchdog shuts the socket down when the deadline passes, whatever
    the exchange is waiting for (see :class:`_Deadline`). Name resolution is the one step it
    cannot interrupt.
    """

    __slots__ = ("_context",)

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._context = ssl_context

    def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        """GET ``url``; raises :class:`~tokensmith.errors.JWKSFetchError` on any failure."""
        import http.client  # noqa: PLC0415 - loaded only when a fetch happens
        import ssl  # noqa: PLC0415

        parts = check_url(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        deadline = _Deadline(timeout)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        response: http.client.HTTPResponse | None = None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            with deadline:
                conn.sock = self._connect(host, port, parts.scheme.lower(), deadline)
                conn.putrequest("GET", target, skip_accept_encoding=True)
                conn.putheader("User-Agent", _USER_AGENT)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders()
                response = conn.getresponse()
                received: dict[str, str] = {}
                for name, value in response.getheaders():
                    lower = name.lower()
                    received[lower] = f"{received[lower]}, {value}" if lower in received else value
                body = _read_capped(response, max_bytes, deadline)
                return HTTPResponse(response.status, received, body)
        except JWKSFetchError:
            raise
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            # once the watchdog fired, whatever the interrupted read raised, the cause is the clock
            if deadline.expired or isinstance(exc, TimeoutError):
                raise JWKSFetchError(f"timed out fetching from {host}", reason="timeout") from None
            if isinstance(exc, http.client.IncompleteRead):
                raise JWKSFetchError(
                    f"the response from {host} was truncated", reason="truncated"
                ) from None
            if isinstance(exc, ssl.SSLError):
                raise JWKSFetchError(
                    f"TLS failed with {host} ({type(exc).__name__})", reason="connection"
                ) from None
            raise JWKSFetchError(
                f"could not fetch from {host} ({type(exc).__name__})", reason="connection"
            ) from None
        finally:
            if response is not None:  # with Connection: close the response owns the socket
                response.close()
            conn.close()

    def _connect(self, host: str, port: int, scheme: str, deadline: _Deadline) -> socket.socket:
        """A connected (and for https, handshaken) socket, watched by ``deadline``."""
        import socket  # noqa: PLC0415
        import ssl  # noqa: PLC0415

        sock = socket.create_connection((host, port), timeout=deadline.remaining())
        deadline.watch(sock)
        if scheme != "https":
            return sock
        opened = [sock]
        try:
            context = self._context or ssl.create_default_context()
            tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            opened.append(tls)
            deadline.watch(tls)  # wrap_socket took over the descriptor
            tls.settimeout(deadline.remaining())
            tls.do_handshake()
        except BaseException:
            for each in opened:  # closing the detached plain socket is a no-op
                each.close()
            raise
        return tls

    def __repr__(self) -> str:
        return "StdlibTransport()"


class _Deadline:
    """One deadline for a whole exchange, enforced by a watchdog timer.

    ``with deadline:`` arms a :class:`threading.Timer` that, when the time is up, shuts down
    the socket being watched; a read blocked on it (TLS handshake, status line, headers or
    body) then returns or fails at once, and :attr:`expired` tells the caller why. Leaving the
    block disarms it. A fetch happens once per cache lifetime, so one timer thread per fetch
    costs nothing measurable.
    """

    __slots__ = ("_at", "_lock", "_sock", "_timer", "expired")

    def __init__(self, timeout: float) -> None:
        self._at = time.monotonic() + timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, timeout), self._fire)
        self._timer.daemon = True
        self.expired = False

    def remaining(self) -> float:
        """Seconds left; :class:`TimeoutError` once there are none (no new step starts)."""
        left = self._at - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("the deadline has passed")
        return left

    def watch(self, sock: socket.socket) -> None:
        """The socket to shut down when the deadline passes."""
        with self._lock:
            self._sock = sock
            fired = self.expired
        if fired:
            self._shutdown(sock)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._sock = None

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._sock
        if sock is not None:
            self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        import socket as socket_module  # noqa: PLC0415

        # The plain socket's shutdown, also for TLS: no TLS alert, just stop the reads. An
        # OSError means the socket is closed already: the exchange ended on its own.
        with contextlib.suppress(OSError):
            socket_module.socket.shutdown(sock, socket_module.SHUT_RDWR)


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: _Deadline) -> bytes:
    """Read the body, refusing it as soon as it passes ``max_bytes`` or the deadline."""
    declared = header_int((response.getheader("Content-Length") or "").strip(" \t"))
    if declared is not None and declared > max_bytes:
        raise JWKSFetchError("the response is larger than max_bytes", reason="too_large")
    chunks: list[bytes] = []
    total = 0
    while chunk := _read1(response, min(_CHUNK, max_bytes + 1 - total)):
        total += len(chunk)
        if total > max_bytes:
            raise JWKSFetchError("the response is larger than max_bytes", reason="too_large")
        chunks.append(chunk)
    if deadline.expired:  # the watchdog cut the body short: not the peer's end of data
        raise JWKSFetchError("the response took longer than the timeout", reason="timeout")
    if response.length:  # the peer closed before Content-Length bytes arrived
        raise JWKSFetchError("the response was truncated", reason="truncated")
    return b"".join(chunks)


def _read1(response: http.client.HTTPResponse, size: int) -> bytes:
    """``read1``, or end of data once the response is closed: Python 3.13 closes it as soon as
    ``Content-Length`` bytes have been read, and touching it afterwards fails."""
    return b"" if response.isclosed() else response.read1(size)
