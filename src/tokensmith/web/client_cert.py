"""The client certificate a TLS-terminating proxy forwards in a header, read strictly.

When TLS ends at a proxy, the application never sees the client's certificate; the proxy
passes it on in a header. Three forms are in use, one per :data:`ClientCertHeader` value:

* ``x-client-cert``: the URL-encoded PEM of the leaf certificate, as nginx's
  ``$ssl_client_escaped_cert`` writes it (``proxy_set_header X-Client-Cert
  $ssl_client_escaped_cert;``);
* ``client-cert``: RFC 9440 §2.2, the DER certificate as a structured-field byte sequence
  (``:MIIB...:``);
* ``x-forwarded-client-cert``: Envoy's header, one element whose ``Cert="..."`` is the
  URL-encoded PEM (``Hash=``, when present, must be the SHA-256 of the same certificate).

A client can send any of these headers itself, so :class:`~tokensmith.web.TransportSecurity`
reads one only from a configured trusted proxy (see its ``client_cert_header``); this module
only parses. A header is at most :data:`MAX_CLIENT_CERT_HEADER` characters and the
certificate at most :data:`MAX_CLIENT_CERT_DER` bytes; anything but exactly one parseable
X.509 certificate is :class:`~tokensmith.errors.InvalidClientCertificate`, never a guess.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from typing import Final, Literal, get_args
from urllib.parse import unquote_to_bytes

from .._secrets import secrets_equal
from ..errors import ConfigurationError, InvalidClientCertificate

__all__ = [
    "MAX_CLIENT_CERT_DER",
    "MAX_CLIENT_CERT_HEADER",
    "ClientCertHeader",
    "certificate_from_header",
]

ClientCertHeader = Literal["x-client-cert", "client-cert", "x-forwarded-client-cert"]
"""The header a TLS-terminating proxy forwards the client certificate in (see the module)."""

MAX_CLIENT_CERT_HEADER: Final = 16_384
"""The longest client-certificate header read, in characters (a URL-encoded PEM of a large
certificate is a few kilobytes)."""

MAX_CLIENT_CERT_DER: Final = 8_192
"""The largest client certificate accepted, in DER bytes."""

_PEM: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\r\n\t ]+)-----END CERTIFICATE-----"
)
_SF_BINARY: Final = re.compile(r":([A-Za-z0-9+/]*={0,2}):")
_HEX_SHA256: Final = re.compile(r"[0-9A-Fa-f]{64}")
_XFCC_KEY: Final = re.compile(r"[A-Za-z]+")


def certificate_from_header(kind: ClientCertHeader, values: Sequence[str]) -> bytes | None:
    """The DER client certificate in the header values ``values`` of header form ``kind``.

    ``None`` when the header is absent or empty (the client presented no certificate: nginx
    sends nothing then, Envoy no ``Cert``). A repeated header, one over the size caps, or one
    that is not exactly one X.509 certificate in that form raises
    :class:`~tokensmith.errors.InvalidClientCertificate`.
    """
    if kind not in get_args(ClientCertHeader):
        raise ConfigurationError(
            f"client_cert_header must be one of {', '.join(get_args(ClientCertHeader))}"
        )
    if not values:
        return None
    if len(values) > 1:
        raise InvalidClientCertificate(f"the request has several {kind} headers")
    value = values[0].strip()
    if not value:
        return None
    if len(value) > MAX_CLIENT_CERT_HEADER or not value.isascii():
        raise InvalidClientCertificate(f"the {kind} header is too large or not ASCII")
    if kind == "client-cert":
        return _sf_binary(value)
    if kind == "x-client-cert":
        return _escaped_pem(value)
    return _xfcc(value)


def _sf_binary(value: str) -> bytes:
    """RFC 9440 §2.2 / RFC 8941 §3.3.5: ``:base64:``, padded standard base64, nothing else."""
    match = _SF_BINARY.fullmatch(value)
    if match is None or len(match.group(1)) % 4:
        raise InvalidClientCertificate("the client-cert header is not a byte sequence (:...:)")
    try:
        der = binascii.a2b_base64(match.group(1), strict_mode=True)
    except binascii.Error:  # pragma: no cover - the pattern admits padded base64 only
        raise InvalidClientCertificate("the client-cert header is not valid base64") from None
    return _certificate(der)


def _escaped_pem(value: str) -> bytes:
    """One URL-encoded PEM certificate (nginx ``$ssl_client_escaped_cert``)."""
    pem = unquote_to_bytes(value).strip()
    match = _PEM.fullmatch(pem)
    if match is None:
        raise InvalidClientCertificate("the certificate header is not one URL-encoded PEM")
    body = b"".join(match.group(1).split())
    try:
        der = binascii.a2b_base64(body, strict_mode=True)
    except binascii.Error:
        raise InvalidClientCertificate("the certificate PEM is not valid base64") from None
    return _certificate(der)


def _xfcc(value: str) -> bytes | None:
    """Envoy's ``X-Forwarded-Client-Cert``: exactly one element; its ``Cert``, checked
    against its ``Hash`` when both are there."""
    members = _xfcc_element(value)
    cert = members.get("cert")
    if cert is None:
        if "hash" in members:
            raise InvalidClientCertificate(
                "x-forwarded-client-cert has a Hash but no Cert: set Envoy's "
                "set_current_client_cert_details cert: true"
            )
        return None
    der = _escaped_pem(cert)
    digest = members.get("hash")
    if digest is not None:
        if _HEX_SHA256.fullmatch(digest) is None:
            raise InvalidClientCertificate("x-forwarded-client-cert Hash is not a SHA-256")
        if not secrets_equal(hashlib.sha256(der).hexdigest(), digest.lower()):
            raise InvalidClientCertificate("x-forwarded-client-cert Cert and Hash disagree")
    return der


def _xfcc_element(value: str) -> dict[str, str]:
    """The ``key=value`` pairs of the one element (values may be quoted, ``\\"`` escaped)."""
    pairs: dict[str, str] = {}
    position, end = 0, len(value)
    while True:
        key_end = value.find("=", position)
        key = value[position:key_end] if key_end >= 0 else ""
        if _XFCC_KEY.fullmatch(key) is None:
            raise InvalidClientCertificate("x-forwarded-client-cert is malformed")
        item, position = _xfcc_value(value, key_end + 1)
        name = key.lower()
        if name in pairs and name not in {"uri", "dns"}:  # URI and DNS may repeat
            raise InvalidClientCertificate(f"x-forwarded-client-cert repeats {key}")
        pairs.setdefault(name, item)
        if position == end:
            return pairs
        if value[position] == ",":
            raise InvalidClientCertificate(
                "x-forwarded-client-cert has several elements: configure Envoy with "
                "forward_client_cert_details: SANITIZE_SET"
            )
        position += 1  # the ';' checked by _xfcc_value


def _xfcc_value(value: str, start: int) -> tuple[str, int]:
    """One value from ``start``: quoted (backslash escapes) or up to ``;``/``,``."""
    if start < len(value) and value[start] == '"':
        out: list[str] = []
        index = start + 1
        while index < len(value):
            char = value[index]
            if char == "\\" and index + 1 < len(value):
                out.append(value[index + 1])
                index += 2
                continue
            if char == '"':
                index += 1
                if index < len(value) and value[index] not in ";,":
                    break
                return "".join(out), index
            out.append(char)
            index += 1
        raise InvalidClientCertificate("x-forwarded-client-cert has a broken quoted value")
    index = start
    while index < len(value) and value[index] not in ";,":
        if value[index] in '"=':
            raise InvalidClientCertificate("x-forwarded-client-cert is malformed")
        index += 1
    return value[start:index], index


def _certificate(der: bytes) -> bytes:
    """``der`` when it is one X.509 certificate within the size cap (``cryptography`` parses
    DER strictly: no trailing bytes, no BER)."""
    if not der or len(der) > MAX_CLIENT_CERT_DER:
        raise InvalidClientCertificate("the client certificate is empty or too large")
    from cryptography import x509  # noqa: PLC0415 - only requests with a certificate need it

    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        raise InvalidClientCertificate(
            "the client certificate is not an X.509 certificate"
        ) from None
    return der
