"""Mutual-TLS client authentication metadata checks (RFC 8705 §2).

The TLS layer (your server's, or a TLS-terminating proxy's that you trust) hands over the
certificate the client presented, already parsed or as DER; reading it from a connection is
not this module's job. These checks decide whether it authenticates the client, as RFC 8705
§2 says:

* ``tls_client_auth`` (§2.1): the certificate chains to a CA your TLS layer trusts (checked
  there, not here) and carries the *one* registered identifier (§2.1.2): the subject DN
  (``tls_client_auth_subject_dn``, compared with RFC 4517 ``distinguishedNameMatch``: same RDNs
  in the same order, values compared ignoring case and insignificant spaces), or one subject
  alternative name of type ``dNSName`` (case-insensitive), ``uniformResourceIdentifier``
  (exact), ``iPAddress`` (as an address, so ``::1`` equals ``0:0:0:0:0:0:0:1``) or
  ``rfc822Name`` (exact local part, case-insensitive domain). No wildcard expansion: a
  certificate for ``*.example.com`` matches only a registered ``*.example.com``.
* ``self_signed_tls_client_auth`` (§2.2): the certificate is exactly one the client
  registered in its JWKS (``x5c``, or its ``x5t#S256`` thumbprint); the TLS layer accepted it
  without chain validation. Its validity dates are not checked: registering it pins it.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID

from .._b64 import b64url_decode
from .._secrets import secrets_equal
from ..confirmation import Confirmation
from ..errors import ClientCertificateMismatch, ConfigurationError

__all__ = [
    "TLSClientAuth",
    "certificate_thumbprint",
    "check_self_signed_certificate",
    "registered_certificate_thumbprints",
]

_SPACES: Final = re.compile(r"\s+")
_THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_SAN_TYPES: Final = {
    "san_dns": x509.DNSName,
    "san_uri": x509.UniformResourceIdentifier,
    "san_ip": x509.IPAddress,
    "san_email": x509.RFC822Name,
}

# RFC 4514 §3 attribute type names are case-insensitive; cryptography knows only upper case
_LOWER_CASE_NAMES: Final = {
    "cn": NameOID.COMMON_NAME,
    "l": NameOID.LOCALITY_NAME,
    "st": NameOID.STATE_OR_PROVINCE_NAME,
    "o": NameOID.ORGANIZATION_NAME,
    "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "c": NameOID.COUNTRY_NAME,
    "street": NameOID.STREET_ADDRESS,
    "dc": NameOID.DOMAIN_COMPONENT,
    "uid": NameOID.USER_ID,
}

_DNMatchKey = tuple[frozenset[tuple[str, str | bytes]], ...]


def _certificate(certificate: x509.Certificate | bytes | None) -> x509.Certificate:
    """The presented certificate as an object; refuses none or unreadable DER."""
    if isinstance(certificate, x509.Certificate):
        return certificate
    if not isinstance(certificate, bytes) or not certificate:
        raise ClientCertificateMismatch("no client certificate was presented")
    try:
        return x509.load_der_x509_certificate(certificate)
    except ValueError:
        raise ClientCertificateMismatch("the client certificate is not DER X.509") from None


def certificate_thumbprint(certificate: x509.Certificate | bytes) -> str:
    """The certificate's RFC 8705 ``x5t#S256``: base64url SHA-256 of its DER encoding (the
    value :meth:`Confirmation.of_certificate <tokensmith.Confirmation.of_certificate>` binds
    tokens to; DER bytes are parsed first, so unreadable ones are refused)."""
    thumbprint = Confirmation.of_certificate(_certificate(certificate)).x5t_s256
    assert thumbprint is not None  # of_certificate always sets it
    return thumbprint


@dataclass(frozen=True, slots=True)
class TLSClientAuth:
    """A ``tls_client_auth`` client's registered certificate identifier (RFC 8705 §2.1.2).

    Give exactly one, as in the client's registration metadata:

    :param subject_dn: ``tls_client_auth_subject_dn``, an RFC 4514 string
        (``"CN=billing,O=Example,C=SE"``).
    :param san_dns: ``tls_client_auth_san_dns``.
    :param san_uri: ``tls_client_auth_san_uri``.
    :param san_ip: ``tls_client_auth_san_ip`` (IPv4 dotted or IPv6 text).
    :param san_email: ``tls_client_auth_san_email``.
    """

    subject_dn: str | None = None
    san_dns: str | None = None
    san_uri: str | None = None
    san_ip: str | None = None
    san_email: str | None = None

    def __post_init__(self) -> None:
        given = [(k, getattr(self, k)) for k in ("subject_dn", *_SAN_TYPES)]
        given = [(k, v) for k, v in given if v is not None]
        if len(given) != 1:
            raise ConfigurationError("register exactly one tls_client_auth identifier")
        name, value = given[0]
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"tls_client_auth {name} must be a non-empty string")
        try:
            if name == "subject_dn":
                _parse_dn(value)
            elif name == "san_ip":
                ipaddress.ip_address(value)
        except ValueError:
            raise ConfigurationError(f"tls_client_auth {name} is malformed") from None

    def check(self, certificate: x509.Certificate | bytes | None) -> None:
        """Pass if ``certificate`` carries the registered identifier; otherwise raise
        :class:`~tokensmith.errors.ClientCertificateMismatch`."""
        cert = _certificate(certificate)
        try:
            matched = self._matches(cert)
        except ValueError:  # cryptography parses names and extensions lazily
            raise ClientCertificateMismatch("the client certificate is malformed") from None
        if not matched:
            raise ClientCertificateMismatch("the client certificate is not the registered one")

    def _matches(self, cert: x509.Certificate) -> bool:
        if self.subject_dn is not None:
            return _dn_key(cert.subject) == _parse_dn(self.subject_dn)
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        if self.san_dns is not None:
            wanted = self.san_dns.lower()
            return any(v.lower() == wanted for v in sans.get_values_for_type(x509.DNSName))
        if self.san_uri is not None:
            return self.san_uri in sans.get_values_for_type(x509.UniformResourceIdentifier)
        if self.san_ip is not None:
            wanted_ip = ipaddress.ip_address(self.san_ip)
            return any(v == wanted_ip for v in sans.get_values_for_type(x509.IPAddress))
        assert self.san_email is not None  # exactly one is set (__post_init__)
        wanted_email = _email_key(self.san_email)
        return any(_email_key(v) == wanted_email for v in sans.get_values_for_type(x509.RFC822Name))


def registered_certificate_thumbprints(jwks: Mapping[str, object]) -> frozenset[str]:
    """The ``x5t#S256`` of every certificate a ``self_signed_tls_client_auth`` client registered.

    ``jwks`` is the client's JWKS document: each key contributes the thumbprint of its
    ``x5c`` leaf certificate and its ``x5t#S256`` member (they must agree when both are given).

    :raises ~tokensmith.errors.ConfigurationError: a malformed document, certificate or
        thumbprint, or no certificate at all.
    """
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise ConfigurationError("a JWKS document must have a 'keys' list")
    found: set[str] = set()
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            raise ConfigurationError("a JWKS key must be a JSON object")
        found.update(_jwk_thumbprints(jwk))
    if not found:
        raise ConfigurationError("the JWKS registers no certificate (x5c or x5t#S256)")
    return frozenset(found)


def check_self_signed_certificate(
    thumbprints: Iterable[str], certificate: x509.Certificate | bytes | None
) -> None:
    """Pass if ``certificate`` is one of the registered ones (by ``x5t#S256``, compared in
    constant time); otherwise raise :class:`~tokensmith.errors.ClientCertificateMismatch`."""
    presented = certificate_thumbprint(_certificate(certificate))
    matches = [secrets_equal(t, presented) for t in thumbprints]  # no early exit
    if not any(matches):
        raise ClientCertificateMismatch("the client certificate is not a registered one")


def _jwk_thumbprints(jwk: Mapping[object, object]) -> set[str]:
    from_x5c: str | None = None
    chain = jwk.get("x5c")
    if chain is not None:
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            raise ConfigurationError("x5c must be a non-empty list of base64 certificates")
        try:
            der = base64.b64decode(chain[0], validate=True)
            from_x5c = certificate_thumbprint(x509.load_der_x509_certificate(der))
        except (binascii.Error, ValueError):
            raise ConfigurationError("an x5c certificate is not base64 DER X.509") from None
    declared = jwk.get("x5t#S256")
    if declared is not None and not (
        isinstance(declared, str) and _THUMBPRINT.fullmatch(declared) and _is_b64url(declared)
    ):
        raise ConfigurationError("x5t#S256 must be a base64url SHA-256 thumbprint")
    if from_x5c is not None and declared is not None and declared != from_x5c:
        raise ConfigurationError("x5t#S256 is not the thumbprint of the x5c certificate")
    return {t for t in (from_x5c, declared) if isinstance(t, str)}


def _is_b64url(text: str) -> bool:
    try:
        b64url_decode(text)  # 43 characters: 32 bytes when canonical
    except ValueError:
        return False
    return True


def _parse_dn(text: str) -> _DNMatchKey:
    return _dn_key(x509.Name.from_rfc4514_string(text, _LOWER_CASE_NAMES))


def _dn_key(name: x509.Name) -> _DNMatchKey:
    """``name`` in RFC 4517 ``distinguishedNameMatch`` form: RDNs in order, each a set of
    (attribute OID, value ignoring case and insignificant spaces)."""
    return tuple(
        frozenset((a.oid.dotted_string, _value_key(a.value)) for a in rdn) for rdn in name.rdns
    )


def _value_key(value: str | bytes) -> str | bytes:
    if isinstance(value, bytes):
        return value
    return _SPACES.sub(" ", value.strip()).casefold()


def _email_key(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain.lower()
