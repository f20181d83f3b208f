"""RFC 8705 §2 client authentication metadata checks, with real certificates made here."""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith._b64 import b64url_encode
from tokensmith.errors import ClientCertificateMismatch, ConfigurationError
from tokensmith.oauth import (
    TLSClientAuth,
    certificate_thumbprint,
    check_self_signed_certificate,
    registered_certificate_thumbprints,
)

KEY = ec.generate_private_key(ec.SECP256R1())


def make_cert(
    subject: str = "CN=billing,O=Example Corp,C=SE", sans: Sequence[x509.GeneralName] = ()
) -> x509.Certificate:
    """A self-signed client certificate with ``subject`` (RFC 4514) and ``sans``."""
    name = x509.Name.from_rfc4514_string(subject)
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(KEY, hashes.SHA256())


def mismatch(check: TLSClientAuth, certificate: object) -> None:
    with pytest.raises(ClientCertificateMismatch) as info:
        check.check(certificate)  # type: ignore[arg-type]
    assert type(info.value) is ClientCertificateMismatch and info.value.status_code == 401


SANS: list[x509.GeneralName] = [
    x509.DNSName("client.example.com"),
    x509.UniformResourceIdentifier("spiffe://example.com/billing"),
    x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
    x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
    x509.RFC822Name("Billing@Example.COM"),
]


@pytest.mark.parametrize(
    "registered",
    [
        "CN=billing,O=Example Corp,C=SE",
        "cn=BILLING,o=example   corp,c=se",  # types and values ignore case and extra spaces
        "2.5.4.3=billing,O=Example Corp,C=SE",  # the OID form of CN
    ],
)
def test_subject_dn_matches(registered: str) -> None:
    TLSClientAuth(subject_dn=registered).check(make_cert())


@pytest.mark.parametrize(
    "registered",
    [
        "CN=billing,O=Example Corp",  # fewer RDNs
        "CN=billing,O=Example Corp,C=SE,DC=x",  # more
        "O=Example Corp,CN=billing,C=SE",  # another order
        "CN=billing2,O=Example Corp,C=SE",
        "CN=billing+OU=x,O=Example Corp,C=SE",  # a multi-valued RDN
    ],
)
def test_subject_dn_mismatch(registered: str) -> None:
    mismatch(TLSClientAuth(subject_dn=registered), make_cert())


def test_multi_valued_rdn_is_a_set() -> None:
    cert = make_cert("CN=a+OU=b,O=c")
    TLSClientAuth(subject_dn="OU=b+CN=a,O=c").check(cert)


@pytest.mark.parametrize(
    "check",
    [
        TLSClientAuth(san_dns="client.example.com"),
        TLSClientAuth(san_dns="CLIENT.example.com"),
        TLSClientAuth(san_uri="spiffe://example.com/billing"),
        TLSClientAuth(san_ip="2001:db8:0:0:0:0:0:1"),
        TLSClientAuth(san_ip="192.0.2.7"),
        TLSClientAuth(san_email="Billing@example.com"),
    ],
)
def test_san_matches(check: TLSClientAuth) -> None:
    check.check(make_cert(sans=SANS))
    check.check(make_cert(sans=SANS).public_bytes(Encoding.DER))  # DER bytes work too


@pytest.mark.parametrize(
    "check",
    [
        TLSClientAuth(san_dns="other.example.com"),
        TLSClientAuth(san_dns="example.com"),
        TLSClientAuth(san_dns="billing"),  # the subject's CN is not a dNSName SAN
        TLSClientAuth(san_uri="spiffe://example.com/Billing"),  # URIs are exact
        TLSClientAuth(san_uri="client.example.com"),  # a SAN of another type does not count
        TLSClientAuth(san_ip="192.0.2.8"),
        TLSClientAuth(san_email="billing@example.com"),  # the local part is exact
        TLSClientAuth(san_email="spiffe://example.com/billing"),
    ],
)
def test_san_mismatch(check: TLSClientAuth) -> None:
    mismatch(check, make_cert(sans=SANS))


def test_no_wildcard_expansion() -> None:
    cert = make_cert(sans=[x509.DNSName("*.example.com")])
    mismatch(TLSClientAuth(san_dns="client.example.com"), cert)
    TLSClientAuth(san_dns="*.example.com").check(cert)


def test_certificate_without_sans() -> None:
    mismatch(TLSClientAuth(san_dns="client.example.com"), make_cert())


@pytest.mark.parametrize("certificate", [None, b"", b"not DER", "PEM text", 42])
def test_missing_or_unreadable_certificate(certificate: object) -> None:
    mismatch(TLSClientAuth(subject_dn="CN=x"), certificate)


def test_certificate_with_malformed_extension() -> None:
    """cryptography parses extensions lazily: a broken SAN extension is a mismatch, no crash."""
    der = bytearray(make_cert(sans=[x509.DNSName("client.example.com")]).public_bytes(Encoding.DER))
    # the dNSName's tag (context [2], 0x82) becomes an undefined SAN choice [9], keeping lengths
    where = der.index(b"\x82\x12client.example.com")
    der[where] = 0x89
    mismatch(TLSClientAuth(san_dns="client.example.com"), bytes(der))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"subject_dn": "CN=x", "san_dns": "x"},
        {"subject_dn": ""},
        {"san_dns": 42},
        {"subject_dn": "not a DN"},
        {"subject_dn": "CN=a, O=b"},  # RFC 4514 has no space after the comma
        {"san_ip": "192.0.2.300"},
    ],
)
def test_registration_checks(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        TLSClientAuth(**kwargs)  # type: ignore[arg-type]


# --- self_signed_tls_client_auth --------------------------------------------------------------


def jwk_for(cert: x509.Certificate, *, x5c: bool = True, x5t: bool = False) -> dict[str, object]:
    jwk: dict[str, object] = {"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}
    if x5c:
        jwk["x5c"] = [base64.b64encode(cert.public_bytes(Encoding.DER)).decode()]
    if x5t:
        jwk["x5t#S256"] = certificate_thumbprint(cert)
    return jwk


def test_thumbprint_is_sha256_of_der() -> None:
    import hashlib

    cert = make_cert()
    der = cert.public_bytes(Encoding.DER)
    assert certificate_thumbprint(cert) == b64url_encode(hashlib.sha256(der).digest())
    assert certificate_thumbprint(der) == certificate_thumbprint(cert)


def test_self_signed_matches_registered_jwks() -> None:
    registered, other, by_thumbprint = make_cert(), make_cert(), make_cert("CN=t")
    jwks = {"keys": [jwk_for(registered, x5t=True), jwk_for(by_thumbprint, x5c=False, x5t=True)]}
    thumbprints = registered_certificate_thumbprints(jwks)
    assert len(thumbprints) == 2
    check_self_signed_certificate(thumbprints, registered)
    check_self_signed_certificate(thumbprints, by_thumbprint.public_bytes(Encoding.DER))
    for presented in (other, None, b"junk"):
        with pytest.raises(ClientCertificateMismatch) as info:
            check_self_signed_certificate(thumbprints, presented)
        assert type(info.value) is ClientCertificateMismatch


def test_same_key_other_certificate_is_refused() -> None:
    """The certificate is pinned, not its key: a re-issued one must be registered again."""
    first, second = make_cert(), make_cert()
    assert first.public_key() == second.public_key()
    with pytest.raises(ClientCertificateMismatch):
        check_self_signed_certificate(
            registered_certificate_thumbprints({"keys": [jwk_for(first)]}), second
        )


@pytest.mark.parametrize(
    "jwks",
    [
        None,
        {},
        {"keys": "x"},
        {"keys": []},
        {"keys": [{"kty": "EC"}]},  # no certificate at all
        {"keys": ["x"]},
        {"keys": [{"x5c": []}]},
        {"keys": [{"x5c": "abc"}]},
        {"keys": [{"x5c": [1]}]},
        {"keys": [{"x5c": ["not base64!"]}]},
        {"keys": [{"x5c": ["bm90IERFUg=="]}]},  # base64, not DER
        {"keys": [{"x5t#S256": "short"}]},
        {"keys": [{"x5t#S256": "A" * 42 + "B"}]},  # non-canonical base64url tail
        {"keys": [{"x5t#S256": 42}]},
        {"keys": [{**jwk_for(make_cert()), "x5t#S256": certificate_thumbprint(make_cert("CN=o"))}]},
    ],
)
def test_registered_jwks_checks(jwks: object) -> None:
    with pytest.raises(ConfigurationError):
        registered_certificate_thumbprints(jwks)  # type: ignore[arg-type]


def test_bit_string_attribute_in_subject() -> None:
    """x500UniqueIdentifier is a BIT STRING (bytes): compared as bytes, never a crash."""
    from cryptography.x509.name import _ASN1Type  # the only way to build one

    unique = x509.NameAttribute(
        x509.NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01", _type=_ASN1Type.BitString
    )
    subject = x509.Name([x509.RelativeDistinguishedName([unique]), *make_cert().subject.rdns])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
        .sign(KEY, hashes.SHA256())
    )
    mismatch(TLSClientAuth(subject_dn="CN=billing,O=Example Corp,C=SE"), cert)


_DN_VALUE = st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=16)
_DN_OIDS = st.sampled_from(
    [
        x509.NameOID.COMMON_NAME,
        x509.NameOID.ORGANIZATION_NAME,
        x509.NameOID.ORGANIZATIONAL_UNIT_NAME,
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_DN_OIDS, _DN_VALUE), min_size=1, max_size=4), st.data())
def test_any_subject_matches_its_own_rfc4514_string(
    attributes: list[tuple[x509.ObjectIdentifier, str]], data: st.DataObject
) -> None:
    """Whatever needs escaping (``,+"\\<>;#=``, leading or trailing spaces, non-ASCII), the RFC
    4514 string of a subject registers that subject, and a changed value does not match."""
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    cert = make_cert(name.rfc4514_string())
    TLSClientAuth(subject_dn=name.rfc4514_string()).check(cert)
    index = data.draw(st.integers(0, len(attributes) - 1))
    changed = list(attributes)
    changed[index] = (changed[index][0], changed[index][1] + "x")
    other = x509.Name([x509.NameAttribute(oid, value) for oid, value in changed])
    mismatch(TLSClientAuth(subject_dn=other.rfc4514_string()), cert)
