"""RemoteJWKS over real TLS on 127.0.0.1: certificates are verified, and every failure is closed.

A throwaway CA and server certificates are made with ``cryptography`` for each test session;
the server is the same loopback JWKS server as elsewhere, speaking HTTPS. Nothing here leaves
the machine.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.jwks_server import JWKSServer
from tokensmith import JWKSFetchError, Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.stores.remote import RemoteJWKS, StdlibTransport

ISS = "https://auth.example.test"
AUD = "orders-api"
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    path: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _authority(directory: Path) -> Authority:
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


def _server_context(
    directory: Path,
    issuer: Authority | None,
    *,
    names: list[x509.GeneralName],
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


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return _authority(tmp_path)


@pytest.fixture
def issuer_store() -> MemoryKeyStore:
    return MemoryKeyStore(KeySet.generate("ES256"))


def _serving(context: ssl.SSLContext, store: MemoryKeyStore) -> JWKSServer:
    server = JWKSServer(tls=context)
    server.serve_store(store)
    return server


@pytest.fixture
def trusted_server(
    tmp_path: Path, authority: Authority, issuer_store: MemoryKeyStore
) -> Iterator[JWKSServer]:
    with _serving(_server_context(tmp_path, authority, names=LOOPBACK), issuer_store) as server:
        yield server


def _trusting(authority: Authority) -> StdlibTransport:
    return StdlibTransport(ssl_context=ssl.create_default_context(cafile=str(authority.path)))


def test_a_certificate_from_a_trusted_authority_serves_keys(
    trusted_server: JWKSServer, authority: Authority, issuer_store: MemoryKeyStore
) -> None:
    assert trusted_server.url().startswith("https://127.0.0.1:")
    remote = RemoteJWKS(trusted_server.url(), transport=_trusting(authority), timeout=2)
    token = Signer(issuer_store, issuer=ISS).issue("user-1", audience=AUD)
    assert Validator(remote, issuer=ISS, audience=AUD).validate(token).subject == "user-1"


def test_an_unknown_authority_is_refused_by_default(trusted_server: JWKSServer) -> None:
    """The default transport trusts only the system's CAs: our test CA is not one of them."""
    remote = RemoteJWKS(trusted_server.url(), timeout=2)
    with pytest.raises(JWKSFetchError) as info:
        remote.refresh()
    assert info.value.reason == "connection"
    assert "TLS failed" in str(info.value)


# OpenSSL's X509_V_ERR_* codes for each case
_VERIFY_CODES = {"self_signed": 18, "wrong_host": 64, "expired": 10}


@pytest.mark.parametrize("case", sorted(_VERIFY_CODES))
def test_bad_certificates_are_refused_even_with_the_authority_trusted(
    tmp_path: Path, authority: Authority, issuer_store: MemoryKeyStore, case: str
) -> None:
    if case == "self_signed":
        context = _server_context(tmp_path, None, names=LOOPBACK)
    elif case == "wrong_host":
        context = _server_context(tmp_path, authority, names=[x509.DNSName("other.example")])
    else:
        context = _server_context(tmp_path, authority, names=LOOPBACK, not_after=NOW - DAY)
    with _serving(context, issuer_store) as server:
        remote = RemoteJWKS(server.url(), transport=_trusting(authority), timeout=2)
        with pytest.raises(JWKSFetchError) as info:
            remote.verification_key(Key.generate("ES256").kid, "ES256")
        assert info.value.reason == "connection"
        # and for the reason expected: the transport's error keeps OpenSSL's verdict
        with pytest.raises(JWKSFetchError) as direct:
            _trusting(authority).fetch(server.url(), {}, 2.0, 65536)
        cause = direct.value.__context__
        assert isinstance(cause, ssl.SSLCertVerificationError)
        assert cause.verify_code == _VERIFY_CODES[case]
