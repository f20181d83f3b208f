"""What tokensmith needs to know about an HTTP request, whatever framework received it.

Every adapter (ASGI, WSGI, FastAPI, Flask, Django, aiohttp...) turns its framework's request
into one :class:`RequestFacts` and hands it to a :class:`~tokensmith.web.Guard`; the guard never
sees a framework object. Building one is cheap (a tuple of header pairs and a few strings), and
:meth:`RequestFacts.from_asgi` / :meth:`RequestFacts.from_wsgi` cover the two server interfaces
every Python framework sits on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["RequestFacts"]

_WSGI_UNPREFIXED: Final = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def _latin1(value: str | bytes | bytearray) -> str:
    """Header bytes as text: HTTP field values are octets; Latin-1 maps each to one character."""
    return bytes(value).decode("latin-1") if isinstance(value, bytes | bytearray) else value


class RequestFacts:
    """A read-only snapshot of the parts of a request the token checks read.

    :param method: the request method, upper case (``GET``).
    :param scheme: ``http`` or ``https`` as *this* server saw the connection (a TLS-terminating
        proxy in front makes it ``http``; :class:`~tokensmith.web.TransportSecurity` decides
        whether to believe the proxy's headers).
    :param host: the ``Host`` header (or the server name when there is none).
    :param path: the path as sent, percent-encoding kept.
    :param query: the raw query string, without ``?``.
    :param headers: ``(name, value)`` pairs in the order received, names lower-case.
    :param peer: the address of the TCP peer (the client, or your proxy), or ``None``.
    :param client_cert: the DER client certificate of the TLS connection, if one was presented.
    """

    __slots__ = ("client_cert", "headers", "host", "method", "path", "peer", "query", "scheme")

    def __init__(
        self,
        *,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query: str = "",
        headers: Iterable[tuple[str, str]] = (),
        peer: str | None = None,
        client_cert: bytes | None = None,
    ) -> None:
        self.method = method.upper()
        self.scheme = scheme.lower()
        self.host = host
        self.path = path
        self.query = query
        self.headers: tuple[tuple[str, str], ...] = tuple(
            (name.lower(), value) for name, value in headers
        )
        self.peer = peer
        self.client_cert = client_cert

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in the order received."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def get(self, name: str) -> str | None:
        """The one value of header ``name``; ``None`` when absent (repeats joined with ``,``)."""
        values = self.get_all(name)
        return ", ".join(values) if values else None

    def __repr__(self) -> str:  # never the headers: they carry the credentials
        return f"RequestFacts({self.method} {self.scheme}://{self.host}{self.path})"

    # --- the two server interfaces ---------------------------------------------------------

    @classmethod
    def from_asgi(cls, scope: Mapping[str, Any]) -> RequestFacts:
        """From an ASGI ``http`` scope (the TLS extension supplies the client certificate)."""
        headers = [(_latin1(name), _latin1(value)) for name, value in scope.get("headers", ())]
        host = next((value for name, value in headers if name.lower() == "host"), None)
        if host is None:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else ""
        client = scope.get("client")
        path = scope.get("raw_path")
        return cls(
            method=str(scope.get("method", "GET")),
            scheme=str(scope.get("scheme", "http")),
            host=host,
            path=_latin1(path) if path else str(scope.get("path", "/")),
            query=_latin1(scope.get("query_string", b"")),
            headers=headers,
            peer=str(client[0]) if client else None,
            client_cert=_asgi_client_cert(scope),
        )

    @classmethod
    def from_wsgi(cls, environ: Mapping[str, Any]) -> RequestFacts:
        """From a WSGI environ (``SSL_CLIENT_CERT``, as PEM, supplies the client certificate)."""
        headers: list[tuple[str, str]] = []
        for key, value in environ.items():
            if not isinstance(key, str) or not isinstance(value, str):
                continue
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-").lower(), value))
            elif key in _WSGI_UNPREFIXED:
                headers.append((_WSGI_UNPREFIXED[key], value))
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
        path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/"
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            scheme=str(environ.get("wsgi.url_scheme", "http")),
            host=str(host),
            path=path,
            query=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            peer=environ.get("REMOTE_ADDR") or None,
            client_cert=_pem_to_der(environ.get("SSL_CLIENT_CERT")),
        )


def _asgi_client_cert(scope: Mapping[str, Any]) -> bytes | None:
    """The leaf of the ASGI TLS extension's ``client_cert_chain`` (PEM strings), as DER."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or ()
    return _pem_to_der(chain[0]) if chain else None


def _pem_to_der(pem: object) -> bytes | None:
    if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
        return None
    # only for requests that present a certificate: parsed strictly, or not at all
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(Encoding.DER)
    except (ValueError, UnicodeError):
        return None
