"""RFC 8705 certificate-bound tokens under attack, through the Guard (``authenticate`` and
``aauthenticate``, per the suite's ``face``): a stolen bound token is useless without the
client's private key, whatever the thief sends along.

The real-TLS versions (werkzeug, aiohttp, uvicorn behind a TLS proxy) are in
tests/web/test_mtls_http.py; the header parsers' properties in tests/web/test_client_cert.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.attacks._assert import Face
from tests.support.forge import AUDIENCE, ISSUER, claims, header_for, signed
from tests.support.peers import authority, client_certificate
from tests.support.tls_proxy import forwarded_form
from tokensmith import (
    Confirmation,
    InvalidClientCertificate,
    InvalidConfirmation,
    Key,
    KeySet,
    MemoryKeyStore,
    Validator,
    VerifiedToken,
)
from tokensmith.errors import TokensmithError
from tokensmith.testing import FakeClock
from tokensmith.web import MAX_CLIENT_CERT_HEADER, Guard, RequestFacts, TransportSecurity

PROXY = "10.0.0.1"
CLIENT = "203.0.113.9"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    directory: Path = tmp_path_factory.mktemp("attack-certs")
    ca = authority(directory)
    return (
        client_certificate(directory, ca, "victim").cert.public_bytes(Encoding.DER),
        client_certificate(directory, ca, "thief").cert.public_bytes(Encoding.DER),
    )


@pytest.fixture
def setting(
    ec_keys: dict[str, Key], clock: FakeClock, certs: tuple[bytes, bytes]
) -> tuple[Validator, str]:
    key = ec_keys["ES256"]
    store = MemoryKeyStore(KeySet([key.public_key()]), clock=clock)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    cnf = Confirmation.of_certificate(certs[0]).claim()
    return validator, signed(header_for(key), claims(cnf=cnf), key)


def authenticate(guard: Guard, request: RequestFacts) -> VerifiedToken:
    if Face.name == "validate":
        return guard.authenticate(request)
    assert Face.runner is not None
    return Face.runner.run(guard.aauthenticate(request))


def refused(guard: Guard, request: RequestFacts, error: type[TokensmithError]) -> None:
    with pytest.raises(error) as caught:
        authenticate(guard, request)
    assert type(caught.value) is error


def request(
    token: str, peer: str, cert: bytes | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> RequestFacts:
    return RequestFacts(
        method="GET",
        scheme="https",
        host="api.test",
        path="/orders",
        headers=[("authorization", f"Bearer {token}"), *headers],
        peer=peer,
        client_cert=cert,
    )


def behind_proxy(validator: Validator) -> Guard:
    transport = TransportSecurity(trusted_proxies=PROXY, client_cert_header="x-client-cert")
    return Guard(validator, transport=transport)


def test_the_victim_with_its_certificate_is_served(
    setting: tuple[Validator, str], certs: tuple[bytes, bytes]
) -> None:
    validator, token = setting
    assert authenticate(Guard(validator), request(token, CLIENT, certs[0])).subject == "user-1"
    header = (("x-client-cert", forwarded_form("x-client-cert", certs[0])),)
    assert authenticate(behind_proxy(validator), request(token, PROXY, None, header))


def test_a_stolen_bound_token_with_another_certificate(
    setting: tuple[Validator, str], certs: tuple[bytes, bytes]
) -> None:
    validator, token = setting
    refused(Guard(validator), request(token, CLIENT, certs[1]), InvalidConfirmation)
    header = (("x-client-cert", forwarded_form("x-client-cert", certs[1])),)
    refused(behind_proxy(validator), request(token, PROXY, None, header), InvalidConfirmation)


def test_a_stolen_bound_token_without_a_certificate(setting: tuple[Validator, str]) -> None:
    validator, token = setting
    refused(Guard(validator), request(token, CLIENT), InvalidConfirmation)
    refused(behind_proxy(validator), request(token, PROXY), InvalidConfirmation)


def test_the_victims_certificate_in_a_header_from_an_untrusted_peer(
    setting: tuple[Validator, str], certs: tuple[bytes, bytes]
) -> None:
    """The victim's certificate is public (sent in every handshake): a thief can put it in a
    header, but only a trusted proxy's header is read."""
    validator, token = setting
    for name in ("x-client-cert", "client-cert", "x-forwarded-client-cert"):
        header = ((name, forwarded_form(name, certs[0])),)
        refused(Guard(validator), request(token, CLIENT, None, header), InvalidConfirmation)
        refused(behind_proxy(validator), request(token, CLIENT, None, header), InvalidConfirmation)
        refused(  # with its own certificate on the connection: that one counts
            behind_proxy(validator),
            request(token, CLIENT, certs[1], header),
            InvalidConfirmation,
        )


def test_a_proxys_own_connection_certificate_is_not_the_clients(
    setting: tuple[Validator, str], certs: tuple[bytes, bytes]
) -> None:
    """Proxy-to-application mutual TLS: the connection's certificate is the proxy's. If it were
    read as the client's, a token bound to the proxy's certificate would pass for any client."""
    validator, token = setting
    refused(behind_proxy(validator), request(token, PROXY, certs[0]), InvalidConfirmation)


@pytest.mark.parametrize(
    "headers",
    [
        (("x-client-cert", "A" * (MAX_CLIENT_CERT_HEADER + 1)),),
        (("x-client-cert", "%2D" * 5000),),
        (("x-client-cert", "-----BEGIN CERTIFICATE-----"),),
        (("x-client-cert", "x"), ("x-client-cert", "y")),
    ],
    ids=["huge", "huge-decoded", "truncated", "repeated"],
)
def test_a_malformed_certificate_header_from_the_proxy_is_refused(
    setting: tuple[Validator, str], headers: tuple[tuple[str, str], ...]
) -> None:
    validator, token = setting
    guard = behind_proxy(validator)
    refused(guard, request(token, PROXY, None, headers), InvalidClientCertificate)
    with pytest.raises(InvalidClientCertificate) as caught:
        authenticate(guard, request(token, PROXY, None, headers))
    assert guard.answer(caught.value).status == 400


def test_a_bound_token_presented_over_tls_without_the_header_configured(
    setting: tuple[Validator, str], certs: tuple[bytes, bytes]
) -> None:
    """A proxy listed only for X-Forwarded-Proto: no certificate header is read at all."""
    validator, token = setting
    guard = Guard(validator, transport=TransportSecurity(trusted_proxies=PROXY))
    header = (("x-client-cert", forwarded_form("x-client-cert", certs[0])),)
    refused(guard, request(token, PROXY, certs[0], header), InvalidConfirmation)


def test_the_certificate_is_hashed_as_sent(certs: tuple[bytes, bytes]) -> None:
    """RFC 8705 §3.1: the SHA-256 of the DER certificate, the same from a parsed one."""
    parsed = x509.load_der_x509_certificate(certs[0])
    assert Confirmation.of_certificate(parsed) == Confirmation.of_certificate(certs[0])
