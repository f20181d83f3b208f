"""A token endpoint over real HTTPS on 127.0.0.1, with client certificates: client_secret_basic
from a real HTTP client, tls_client_auth and self_signed_tls_client_auth from real TLS
handshakes (werkzeug's server puts the verified peer certificate in ``SSL_CLIENT_CERT``)."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.peers import DAY, LOOPBACK, NOW, Authority, authority, server_context
from tokensmith import Signer
from tokensmith.errors import OAuthError
from tokensmith.oauth import (
    Client,
    ClientAuthenticator,
    ClientRegistration,
    MemoryClientRegistry,
    TLSClientAuth,
    basic_authorization,
    certificate_thumbprint,
    client_credentials_grant,
    error_response,
    hash_client_secret,
)

pytest.importorskip("werkzeug")

SECRET = "p+ss:wörd 100% / with every character RFC 6749 trips on"


@contextmanager
def serving_tls(app: Any, context: ssl.SSLContext) -> Iterator[str]:
    """``app`` on werkzeug's real server over TLS on a free 127.0.0.1 port, quietly."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            pass

    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=Quiet, ssl_context=context
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Identity:
    cert: x509.Certificate
    cert_path: Path
    key_path: Path


def identity(directory: Path, name: str, issuer: Authority | None, san: str) -> Identity:
    """A client certificate for ``san`` signed by ``issuer`` (self-signed when ``None``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name.from_rfc4514_string(f"CN={name},O=Example")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]), critical=False
        )
    )
    cert = builder.sign(key if issuer is None else issuer.key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Identity(cert, cert_path, key_path)


@dataclass
class Setup:
    url: str
    ca: Authority
    ledger: Identity  # CA-issued, registered for tls_client_auth
    stranger: Identity  # CA-issued, for another SAN
    kiosk: Identity  # self-signed, registered for self_signed_tls_client_auth


def client(client_id: str) -> Client:
    return Client(
        client_id,
        allowed_scopes=frozenset({"read"}),
        default_scopes=frozenset({"read"}),
        audience="https://api.example.test",
    )


@pytest.fixture
def setup(tmp_path: Path, signer: Signer) -> Iterator[Setup]:
    ca = authority(tmp_path)
    ledger = identity(tmp_path, "ledger", ca, "spiffe://example.com/ledger")
    stranger = identity(tmp_path, "stranger", ca, "spiffe://example.com/stranger")
    kiosk = identity(tmp_path, "kiosk", None, "urn:example:kiosk")
    authenticator = ClientAuthenticator(
        MemoryClientRegistry(
            [
                ClientRegistration(
                    client("billing"), "client_secret_basic", secret_hash=hash_client_secret(SECRET)
                ),
                ClientRegistration(
                    client("ledger"),
                    "tls_client_auth",
                    tls_client_auth=TLSClientAuth(san_uri="spiffe://example.com/ledger"),
                ),
                ClientRegistration(
                    client("kiosk"),
                    "self_signed_tls_client_auth",
                    certificate_thumbprints=frozenset({certificate_thumbprint(kiosk.cert)}),
                ),
            ]
        )
    )

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from werkzeug.wrappers import Request

        request = Request(environ)
        pem = environ.get("SSL_CLIENT_CERT")
        certificate = x509.load_pem_x509_certificate(pem.encode()) if pem else None
        try:
            found = authenticator.authenticate(
                request.form,
                http_method=request.method,
                authorization=request.headers.get("Authorization"),
                client_certificate=certificate,
            )
            answer = client_credentials_grant(signer, found, request.form)
        except OAuthError as exc:
            answer = error_response(exc)
        start_response(f"{answer.status} -", list(answer.headers.items()))
        return [answer.body_bytes()]

    names: list[x509.GeneralName] = list(LOOPBACK)
    context = server_context(tmp_path, ca, names=names)
    context.verify_mode = ssl.CERT_OPTIONAL  # a client certificate is asked for, not required
    context.load_verify_locations(ca.path)
    context.load_verify_locations(kiosk.cert_path)  # the pinned self-signed one is trusted as is
    with serving_tls(app, context) as url:
        yield Setup(url, ca, ledger, stranger, kiosk)


def post(
    setup: Setup,
    form: dict[str, str],
    *,
    authorization: str | None = None,
    as_: Identity | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    context = ssl.create_default_context(cafile=str(setup.ca.path))
    if as_ is not None:
        context.load_cert_chain(as_.cert_path, as_.key_path)
    host, port = setup.url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization is not None:
        headers["Authorization"] = authorization
    try:
        connection.request("POST", "/token", urlencode(form), headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


GRANT = {"grant_type": "client_credentials"}


def test_client_secret_basic_over_https(setup: Setup) -> None:
    status, _, body = post(setup, GRANT, authorization=basic_authorization("billing", SECRET))
    assert status == 200 and body["token_type"] == "Bearer"
    status, headers, body = post(
        setup, GRANT, authorization=basic_authorization("billing", SECRET[:-1])
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"] == 'Basic realm="token"'
    assert headers["Cache-Control"] == "no-store"


def test_tls_client_auth_over_a_real_handshake(setup: Setup) -> None:
    form = {**GRANT, "client_id": "ledger"}
    status, _, body = post(setup, form, as_=setup.ledger)
    assert status == 200 and body["scope"] == "read"
    for who in (setup.stranger, setup.kiosk, None):  # another SAN, self-signed, no certificate
        status, headers, body = post(setup, form, as_=who)
        assert (status, body["error"]) == (401, "invalid_client")
        assert "WWW-Authenticate" not in headers


def test_self_signed_tls_client_auth_over_a_real_handshake(setup: Setup) -> None:
    form = {**GRANT, "client_id": "kiosk"}
    status, _, _ = post(setup, form, as_=setup.kiosk)
    assert status == 200
    for who in (setup.ledger, None):
        status, _, body = post(setup, form, as_=who)
        assert (status, body["error"]) == (401, "invalid_client")


def test_a_certificate_with_a_secret_client(setup: Setup) -> None:
    """A secret client may present a certificate (for bound tokens); it still needs its secret."""
    status, _, _ = post(
        setup, GRANT, authorization=basic_authorization("billing", SECRET), as_=setup.ledger
    )
    assert status == 200
    status, _, body = post(setup, {**GRANT, "client_id": "billing"}, as_=setup.ledger)
    assert (status, body["error"]) == (401, "invalid_client")
