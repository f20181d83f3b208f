"""Peers on 127.0.0.1 written for the tests: raw TCP servers that play one behaviour per
connection, and a throwaway TLS authority with server certificates made by ``cryptography``.

Nothing here leaves the machine.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tokensmith.jwks import StdlibTransport

Behaviour = Callable[[socket.socket], None]
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


class RawPeer:
    """A TCP server on 127.0.0.1 that plays ``behaviour`` with every connection it accepts."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/jwks.json"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._play, args=(conn,), daemon=True).start()

    def _play(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._behaviour(conn)
            except OSError:
                pass  # the client gave up: that is what these tests want

    def __enter__(self) -> RawPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


def read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


# --- TLS -----------------------------------------------------------------------------------


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    path: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def authority(directory: Path) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("tokensmith test CA"))
        .issuer_name(_name("tokensmith test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(key, cert, path)


def server_context(
    directory: Path,
    issuer: Authority | None,
    *,
    names: Sequence[x509.GeneralName],
    not_after: datetime.datetime = NOW + DAY,
) -> ssl.SSLContext:
    """A server-side TLS context whose certificate names ``names`` (signed by ``issuer``, or
    self-signed when ``issuer`` is None)."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key = key if issuer is None else issuer.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(_name("127.0.0.1") if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 2 * DAY)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    cert = builder.sign(signer_key, hashes.SHA256())
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


LOOPBACK = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


def trusting(authority: Authority) -> StdlibTransport:
    """The stdlib transport trusting only ``authority`` (the default trusts the system's CAs)."""
    return StdlibTransport(ssl_context=ssl.create_default_context(cafile=str(authority.path)))


# --- mutual TLS (RFC 8705) -----------------------------------------------------------------


@dataclass
class ClientCert:
    """A TLS client certificate signed by the test authority, and where its files are."""

    cert: x509.Certificate
    cert_path: Path
    key_path: Path

    def context(self, authority: Authority) -> ssl.SSLContext:
        """A client context presenting this certificate and trusting only ``authority``."""
        context = ssl.create_default_context(cafile=str(authority.path))
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def client_certificate(directory: Path, issuer: Authority, name: str) -> ClientCert:
    """A client certificate for ``name`` (``clientAuth``), signed by ``issuer``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ClientCert(cert, cert_path, key_path)


def mutual_tls_context(directory: Path, issuer: Authority) -> ssl.SSLContext:
    """A server context for 127.0.0.1 that asks for a client certificate signed by ``issuer``
    (optional: a client without one still connects, as RFC 8705 §3 resource servers do)."""
    context = server_context(directory, issuer, names=LOOPBACK)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(issuer.path)
    return context
