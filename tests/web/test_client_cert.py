"""The client-certificate headers of TLS-terminating proxies (tokensmith.web.client_cert), and
where TransportSecurity and the Guard take the certificate from."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tests.support.peers import authority, client_certificate
from tests.support.tls_proxy import forwarded_form
from tokensmith import (
    ConfigurationError,
    Confirmation,
    InvalidClientCertificate,
    InvalidConfirmation,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
    VerifiedToken,
)
from tokensmith.web import (
    MAX_CLIENT_CERT_DER,
    MAX_CLIENT_CERT_HEADER,
    ClientCertHeader,
    Guard,
    RequestFacts,
    TransportSecurity,
    certificate_from_header,
)

KINDS: tuple[ClientCertHeader, ...] = ("x-client-cert", "client-cert", "x-forwarded-client-cert")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[x509.Certificate, x509.Certificate]:
    directory: Path = tmp_path_factory.mktemp("certs")
    ca = authority(directory)
    return (
        client_certificate(directory, ca, "alice").cert,
        client_certificate(directory, ca, "mallory").cert,
    )


@pytest.fixture(scope="module")
def der(certs: tuple[x509.Certificate, x509.Certificate]) -> bytes:
    return certs[0].public_bytes(Encoding.DER)


def _pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def refused(kind: ClientCertHeader, *values: str) -> InvalidClientCertificate:
    with pytest.raises(InvalidClientCertificate) as caught:
        certificate_from_header(kind, values)
    assert type(caught.value) is InvalidClientCertificate
    assert caught.value.code == "invalid_client_certificate"
    assert caught.value.status_code == 400 and caught.value.error == "invalid_request"
    return caught.value


# --- the three forms --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_form_gives_the_certificate(kind: ClientCertHeader, der: bytes) -> None:
    assert certificate_from_header(kind, [forwarded_form(kind, der)]) == der
    assert certificate_from_header(kind, [f"  {forwarded_form(kind, der)} "]) == der


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("values", [[], [""], ["   "]])
def test_no_header_or_an_empty_one_is_no_certificate(
    kind: ClientCertHeader, values: list[str]
) -> None:
    assert certificate_from_header(kind, values) is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_repeated_oversized_or_non_ascii_header_is_refused(
    kind: ClientCertHeader, der: bytes
) -> None:
    value = forwarded_form(kind, der)
    refused(kind, value, value)
    refused(kind, "A" * (MAX_CLIENT_CERT_HEADER + 1))
    refused(kind, value + "é")


def test_an_unknown_form_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        certificate_from_header("ssl-client-cert", ["x"])  # type: ignore[arg-type]
    assert type(caught.value) is ConfigurationError


def test_the_nginx_form_is_one_url_encoded_pem(der: bytes) -> None:
    pem = _pem(der)
    assert certificate_from_header("x-client-cert", [quote(pem)]) == der  # '/' left as is
    assert certificate_from_header("x-client-cert", [pem.replace("\n", "\r\n")]) == der
    for bad in (
        "not a certificate",
        quote(pem + pem, safe=""),  # a chain: the leaf only, please
        quote(pem.replace("CERTIFICATE", "PUBLIC KEY"), safe=""),
        quote("-----BEGIN CERTIFICATE-----\nAAAAA\n-----END CERTIFICATE-----", safe=""),
        quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", safe=""),
        quote("-----BEGIN CERTIFICATE-----\n====\n-----END CERTIFICATE-----", safe=""),
    ):
        refused("x-client-cert", bad)


def test_the_rfc9440_form_is_one_byte_sequence(der: bytes) -> None:
    encoded = base64.b64encode(der).decode()
    for bad in (
        encoded,  # no colons
        f":{encoded}",
        f":{encoded}:;a=1",  # RFC 9440 defines no parameters
        f":{encoded[:-1]}:",  # not a multiple of 4
        f":{base64.urlsafe_b64encode(der).decode()}:".replace("+", "-")
        if "+" in encoded
        else ":-___:",  # base64url is not RFC 8941's alphabet
        "::",  # empty
        ":AAAA:",  # not a certificate
        ":AB==:",  # non-canonical padding bits are still base64; not a certificate either
        f":{base64.b64encode(der + b'x').decode()}:",  # trailing bytes after the certificate
        f":{base64.b64encode(b'0' * (MAX_CLIENT_CERT_DER + 1)).decode()}:",
    ):
        refused("client-cert", bad)


def test_the_envoy_form(der: bytes, certs: tuple[x509.Certificate, x509.Certificate]) -> None:
    cert = quote(_pem(der), safe="")
    digest = hashlib.sha256(der).hexdigest()
    subject = '"CN=alice,O=Example \\"Corp\\""'
    for value in (
        f'By=spiffe://example.test/api;Hash={digest};Cert="{cert}";Subject={subject};URI=;DNS=a',
        f"Cert={cert}",  # unquoted: URL-encoding leaves no ',', ';' or '='
        f'Hash={digest.upper()};Cert="{cert}";URI=spiffe://a;URI=spiffe://b',
    ):
        assert certificate_from_header("x-forwarded-client-cert", [value]) == der
    assert certificate_from_header("x-forwarded-client-cert", ["By=spiffe://a;URI=x"]) is None
    other = hashlib.sha256(certs[1].public_bytes(Encoding.DER)).hexdigest()
    for bad in (
        f"Hash={digest}",  # Envoy told to forward the hash only
        f'Hash={other};Cert="{cert}"',  # a Hash of another certificate
        f'Hash=xyz;Cert="{cert}"',
        f'Cert="{cert}";Cert="{cert}"',
        f'Cert="{cert}",Cert="{cert}"',  # APPEND_FORWARD: several elements
        f'=x;Cert="{cert}"',
        f'Cert="{cert}";',
        f'Cert="{cert}"x',
        f'Cert="{cert}',
        f'Cert=a"b;Hash={digest}',
        f"Cert=a=b;Hash={digest}",
        "Cert",
        'Cert="not a pem"',
    ):
        refused("x-forwarded-client-cert", bad)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), value=st.text(max_size=300))
def test_any_header_is_a_certificate_none_or_refused(kind: ClientCertHeader, value: str) -> None:
    try:
        found = certificate_from_header(kind, [value])
    except InvalidClientCertificate:
        return
    assert found is None or isinstance(found, bytes)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    data=st.data(),
)
def test_a_mangled_certificate_header_is_never_a_crash(
    kind: ClientCertHeader, data: st.DataObject, der: bytes
) -> None:
    value = forwarded_form(kind, der)
    at = data.draw(st.integers(0, len(value) - 1))
    insert = data.draw(st.text(alphabet=':;,="\\%+/= AZaz09\n', min_size=0, max_size=3))
    cut = data.draw(st.integers(0, 3))
    mangled = value[:at] + insert + value[at + cut :]
    try:
        found = certificate_from_header(kind, [mangled])
    except InvalidClientCertificate:
        return
    assert found is None or x509.load_der_x509_certificate(found)


# --- TransportSecurity: where the certificate comes from ------------------------------------


def facts(peer: str, headers: list[tuple[str, str]] = (), cert: bytes | None = None) -> Any:  # type: ignore[assignment]
    return RequestFacts(
        method="GET",
        scheme="https",
        host="api.test",
        path="/",
        headers=[("authorization", "Bearer x"), *headers],
        peer=peer,
        client_cert=cert,
    )


def test_the_header_needs_trusted_proxies_and_a_known_name() -> None:
    for options in (
        {"client_cert_header": "x-client-cert"},
        {"client_cert_header": "x-ssl-cert", "trusted_proxies": "10.0.0.1"},
    ):
        with pytest.raises(ConfigurationError) as caught:
            TransportSecurity(**options)  # type: ignore[arg-type]
        assert type(caught.value) is ConfigurationError
    transport = TransportSecurity(trusted_proxies="10.0.0.1", client_cert_header="client-cert")
    assert "client_cert_header='client-cert'" in repr(transport)
    assert "client_cert_header=None" in repr(TransportSecurity())


def test_the_certificate_comes_from_the_connection_or_the_proxys_header(der: bytes) -> None:
    mine = b"connection certificate"  # never parsed here: RequestFacts holds DER already
    header = [("client-cert", forwarded_form("client-cert", der))]
    transport = TransportSecurity(trusted_proxies="10.0.0.1", client_cert_header="client-cert")
    assert transport.client_certificate(facts("203.0.113.9", header, mine)) == mine
    assert transport.client_certificate(facts("203.0.113.9", header)) is None
    assert transport.client_certificate(facts("10.0.0.1", header, mine)) == der
    assert transport.client_certificate(facts("10.0.0.1", [], mine)) is None  # the proxy's own
    no_header = TransportSecurity(trusted_proxies="10.0.0.1")
    assert no_header.client_certificate(facts("10.0.0.1", header, mine)) is None
    assert TransportSecurity().client_certificate(facts("10.0.0.1", header, mine)) == mine


# --- the Guard ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens(certs: tuple[x509.Certificate, x509.Certificate]) -> tuple[Validator, str, str]:
    store = MemoryKeyStore(KeySet([Key.generate("ES256")]))
    signer = Signer(store, issuer=ISSUER)
    bound = signer.issue(
        "alice", audience=AUDIENCE, confirmation=Confirmation.of_certificate(certs[0])
    )
    return (
        Validator(store, issuer=ISSUER, audience=AUDIENCE),
        bound,
        signer.issue("b", audience=AUDIENCE),
    )


def _request(token: str, peer: str, cert: bytes | None = None, **headers: str) -> RequestFacts:
    return RequestFacts(
        method="GET",
        scheme="https",
        host="api.test",
        path="/",
        headers=[("authorization", f"Bearer {token}"), *headers.items()],
        peer=peer,
        client_cert=cert,
    )


def test_the_guard_proves_the_certificate(
    tokens: tuple[Validator, str, str], certs: tuple[x509.Certificate, x509.Certificate]
) -> None:
    validator, bound, bearer = tokens
    alice, mallory = (c.public_bytes(Encoding.DER) for c in certs)
    guard = Guard(validator)
    assert guard.certificate_confirmation(_request(bound, "203.0.113.9")) is None
    assert guard.certificate_confirmation(
        _request(bound, "203.0.113.9", alice)
    ) == Confirmation.of_certificate(certs[0])
    assert guard.authenticate(_request(bound, "203.0.113.9", alice)).subject == "alice"
    for cert in (mallory, None):
        with pytest.raises(InvalidConfirmation) as caught:
            guard.authenticate(_request(bound, "203.0.113.9", cert))
        assert type(caught.value) is InvalidConfirmation
        assert guard.answer(caught.value).status == 401
    assert guard.authenticate(_request(bearer, "203.0.113.9", mallory)).subject == "b"


def test_a_validator_without_confirmation_still_serves_requests_without_a_certificate(
    tokens: tuple[Validator, str, str],
) -> None:
    validator, _, bearer = tokens

    class Legacy:  # written before sender-constrained tokens: no confirmation parameter
        def validate(self, token: str, *, scopes: Any = ()) -> VerifiedToken:
            return validator.validate(token, scopes=scopes)

        async def avalidate(self, token: str, *, scopes: Any = ()) -> VerifiedToken:
            return await validator.avalidate(token, scopes=scopes)

    guard = Guard(Legacy())  # type: ignore[arg-type]
    assert guard.authenticate(_request(bearer, "203.0.113.9")).subject == "b"


def test_the_asgi_chain_gives_its_first_certificate(
    certs: tuple[x509.Certificate, x509.Certificate],
) -> None:
    """ASGI TLS extension: "The first certificate is the client certificate", the rest its
    chain; the leaf is what a token is bound to."""
    leaf, other = (c.public_bytes(Encoding.PEM).decode() for c in certs)
    scope = {
        "type": "http",
        "headers": [],
        "extensions": {"tls": {"client_cert_chain": [leaf, other]}},
    }
    assert RequestFacts.from_asgi(scope).client_cert == certs[0].public_bytes(Encoding.DER)
