"""A TLS-terminating reverse proxy on 127.0.0.1 that forwards the client's certificate in a
header, the way nginx (``proxy_set_header X-Client-Cert $ssl_client_escaped_cert;``), an RFC
9440 proxy (``Client-Cert``) or Envoy (``X-Forwarded-Client-Cert``) does: for RFC 8705 tests
of a plain-HTTP application behind a trusted proxy.

One request per connection (``Connection: close``), no request bodies: enough for the tests.
A header of the same name sent by the client is dropped, as a correctly configured proxy does;
``pass_client_header=True`` plays a misconfigured one that lets it through.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import threading
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tokensmith.web import ClientCertHeader


def forwarded_form(kind: ClientCertHeader, der: bytes) -> str:
    """The header value a proxy of kind ``kind`` writes for the certificate ``der``."""
    if kind == "client-cert":
        return ":" + base64.b64encode(der).decode("ascii") + ":"
    pem = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")
    if kind == "x-client-cert":
        return quote(pem, safe="")
    return f'Hash={hashlib.sha256(der).hexdigest()};Cert="{quote(pem, safe="")}"'


class TLSProxy:
    """Terminates TLS with ``context`` and forwards to ``backend`` (``host:port``, plain HTTP)."""

    def __init__(
        self,
        context: ssl.SSLContext,
        backend: tuple[str, int],
        kind: ClientCertHeader,
        *,
        pass_client_header: bool = False,
    ) -> None:
        self._context = context
        self._backend = backend
        self._kind = kind
        self._pass = pass_client_header
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def __enter__(self) -> TLSProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            with self._context.wrap_socket(raw, server_side=True) as conn:
                head = _read_head(conn)
                der = conn.getpeercert(binary_form=True)
                with socket.create_connection(self._backend, timeout=10) as upstream:
                    upstream.sendall(self._rewrite(head, der))
                    while chunk := upstream.recv(65536):
                        conn.sendall(chunk)
        except (OSError, ssl.SSLError):
            raw.close()  # a client that gave up, or a failed handshake: what some tests want

    def _rewrite(self, head: bytes, der: bytes | None) -> bytes:
        request_line, *lines = head.decode("latin-1").split("\r\n")
        kept = [
            line
            for line in lines
            if line
            and line.partition(":")[0].strip().lower()
            not in ({"connection", "x-forwarded-proto"} | (set() if self._pass else {self._kind}))
        ]
        if der is not None:
            kept.append(f"{self._kind}: {forwarded_form(self._kind, der)}")
        kept += ["X-Forwarded-Proto: https", "Connection: close"]
        return ("\r\n".join([request_line, *kept]) + "\r\n\r\n").encode("latin-1")


def _read_head(conn: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.partition(b"\r\n\r\n")[0]
