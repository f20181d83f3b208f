"""Keys the token brings with it (CVE-2018-0114 and the jku/x5u family) are never used, and
no URL from a header is ever fetched."""

from __future__ import annotations

import base64
import datetime
import http.server
import threading
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from tests.attacks._assert import refused, validated
from tests.attacks.conftest import validator_for
from tests.support.forge import claims, header_for, signed
from tokensmith import InvalidSignature, Key, UnknownKey, Validator
from tokensmith.errors import TokensmithError
from tokensmith.testing import FakeClock


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared on purpose, reset by the fixture

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'{"keys": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def attacker_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (_Counter,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def attacker() -> Key:
    return Key.generate("ES256", kid="attacker")


def self_signed_cert(key: Key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth.example.test")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key._material.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=36500))
        .sign(key._material, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def injected_headers(attacker: Key, victim: Key, url: str) -> dict[str, dict[str, object]]:
    jwk = attacker.to_jwk()
    x5c = [base64.b64encode(self_signed_cert(attacker)).decode("ascii")]
    return {
        "jwk": {"jwk": jwk},
        "jwk-with-victim-kid": {"jwk": {**jwk, "kid": victim.kid}},
        "jku": {"jku": f"{url}/jwks.json"},
        "x5u": {"x5u": f"{url}/cert.pem"},
        "x5c": {"x5c": x5c},
        "x5t": {"x5t": "AAAA", "x5t#S256": "AAAA"},
        "everything": {"jwk": jwk, "jku": f"{url}/jwks", "x5u": f"{url}/x5u", "x5c": x5c},
    }


def test_embedded_keys_and_key_urls_are_ignored(
    attacker: Key,
    ec_keys: dict[str, Key],
    clock: FakeClock,
    attacker_server: tuple[str, list[str]],
) -> None:
    url, hits = attacker_server
    victim = ec_keys["ES256"]
    validator = validator_for(victim, clock=clock)
    for name, extra in injected_headers(attacker, victim, url).items():
        # The attacker signs with their own key and names it three ways.
        with_victim_kid = {"alg": "ES256", "kid": victim.kid, "typ": "JWT", **extra}
        refused(validator, signed(with_victim_kid, claims(), attacker), InvalidSignature)
        no_kid = {"alg": "ES256", "typ": "JWT", **extra}
        refused(validator, signed(no_kid, claims(), attacker), InvalidSignature)
        own_kid = {"alg": "ES256", "kid": attacker.kid, "typ": "JWT", **extra}
        refused(validator, signed(own_kid, claims(), attacker), UnknownKey)
        # The same headers on a token the real issuer signed do not stop it verifying: the
        # members are ignored, not trusted and not fetched.
        genuine = signed(header_for(victim, **extra), claims(), victim)
        assert validated(validator, genuine).key_id == victim.kid, name
    assert hits == []


def test_key_urls_are_not_fetched_even_when_the_kid_is_unknown(
    attacker: Key, hs_validator: Validator, attacker_server: tuple[str, list[str]]
) -> None:
    url, hits = attacker_server
    for member in ("jku", "x5u"):
        header = {"alg": "ES256", "kid": "fetch-me", member: f"{url}/keys"}
        with pytest.raises(TokensmithError):
            validated(hs_validator, signed(header, claims(), attacker))
    assert hits == []
