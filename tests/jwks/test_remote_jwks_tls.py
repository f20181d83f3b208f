"""RemoteJWKS over real TLS on 127.0.0.1: certificates are verified, and every failure is closed.

A throwaway CA and server certificates are made with ``cryptography`` for each test session;
the server is the same loopback JWKS server as elsewhere, speaking HTTPS. Nothing here leaves
the machine.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.support import peers
from tests.support.jwks_server import JWKSServer
from tests.support.peers import DAY, LOOPBACK, NOW, Authority
from tokensmith import JWKSFetchError, Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.jwks import RemoteJWKS

ISS = "https://auth.example.test"
AUD = "orders-api"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return peers.authority(tmp_path)


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
    with _serving(
        peers.server_context(tmp_path, authority, names=LOOPBACK), issuer_store
    ) as server:
        yield server


def test_a_certificate_from_a_trusted_authority_serves_keys(
    trusted_server: JWKSServer, authority: Authority, issuer_store: MemoryKeyStore
) -> None:
    assert trusted_server.url().startswith("https://127.0.0.1:")
    remote = RemoteJWKS(trusted_server.url(), transport=peers.trusting(authority), timeout=2)
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
        context = peers.server_context(tmp_path, None, names=LOOPBACK)
    elif case == "wrong_host":
        context = peers.server_context(tmp_path, authority, names=[x509.DNSName("other.example")])
    else:
        context = peers.server_context(tmp_path, authority, names=LOOPBACK, not_after=NOW - DAY)
    with _serving(context, issuer_store) as server:
        remote = RemoteJWKS(server.url(), transport=peers.trusting(authority), timeout=2)
        with pytest.raises(JWKSFetchError) as info:
            remote.verification_key(Key.generate("ES256").kid, "ES256")
        assert info.value.reason == "connection"
        # and for the reason expected: the transport's error keeps OpenSSL's verdict
        with pytest.raises(JWKSFetchError) as direct:
            peers.trusting(authority).fetch(server.url(), {}, 2.0, 65536)
        cause = direct.value.__context__
        assert isinstance(cause, ssl.SSLCertVerificationError)
        assert cause.verify_code == _VERIFY_CODES[case]
