"""Whether credentials may be read from a request: only what came over TLS, by default.

A bearer token that crossed the network in clear text is a stolen token (RFC 6750 §5.3, RFC
9700 §4.13). So a :class:`~tokensmith.web.Guard` refuses credentials (an ``Authorization``
header, a token cookie) that arrived over plain HTTP, with one exception for development (a
loopback peer), and one for deployments that terminate TLS in a proxy: a peer listed in
``trusted_proxies`` may say, in ``X-Forwarded-Proto`` or the RFC 7239 ``Forwarded`` header's
``proto=``, that the client used https. Those headers are believed from the listed proxies
only, never from anyone else, since any client can send them.

When TLS ends somewhere tokensmith cannot see and no proxy says so (a service mesh sidecar, a
load balancer that strips headers), say so explicitly with ``insecure_allow_plain_http=True``:
the name is loud on purpose.

The same trust decides where a TLS client certificate comes from (RFC 8705 certificate-bound
tokens): the connection's own certificate from a direct client, and from a trusted proxy only
the header it is configured to write (``client_cert_header``); a proxy's connection certificate
is the proxy's, never the client's, and a certificate header from anyone else is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal

from ..errors import ConfigurationError, InsecureTransport, NetworkNotAllowed
from .client_cert import ClientCertHeader, certificate_from_header
from .netrules import NetworkRule, client_address, forwarded_elements, parse_address

if TYPE_CHECKING:
    from .request import RequestFacts

__all__ = ["TransportSecurity"]

_FIX: Final = (
    "credentials must arrive over https; if TLS ends at your proxy, list it in trusted_proxies "
    "so its X-Forwarded-Proto (or Forwarded) header is believed"
)


class TransportSecurity:
    """Decides, per request, whether it arrived over TLS and who the client is.

    :param trusted_proxies: addresses or networks of *your* reverse proxies; their forwarding
        headers are believed, nobody else's. A proxy on this machine belongs here too: without
        it, a loopback peer counts as local development and plain HTTP is accepted from it.
    :param forwarded_header: which header your proxies write: ``"x-forwarded"`` (default:
        ``X-Forwarded-For`` and ``X-Forwarded-Proto``) or ``"forwarded"`` (RFC 7239). Only that
        one is read: a client can send the other and your proxy would pass it on.
    :param insecure_allow_plain_http: accept credentials over plain HTTP from any peer. Only
        for deployments where TLS ends somewhere tokensmith cannot see.
    :param client_cert_header: the header your proxies forward the client's TLS certificate in
        (``"x-client-cert"``: nginx's URL-encoded PEM; ``"client-cert"``: RFC 9440;
        ``"x-forwarded-client-cert"``: Envoy), read from ``trusted_proxies`` only. Default
        ``None``: no header is ever read (see :meth:`client_certificate`).
    """

    __slots__ = ("_cert_header", "_header", "_proxies", "_trusted", "insecure_allow_plain_http")

    def __init__(
        self,
        *,
        trusted_proxies: Iterable[str] | str = (),
        forwarded_header: Literal["x-forwarded", "forwarded"] = "x-forwarded",
        insecure_allow_plain_http: bool = False,
        client_cert_header: ClientCertHeader | None = None,
    ) -> None:
        if forwarded_header not in ("x-forwarded", "forwarded"):
            raise ConfigurationError("forwarded_header must be 'x-forwarded' or 'forwarded'")
        if not isinstance(insecure_allow_plain_http, bool):
            raise ConfigurationError("insecure_allow_plain_http must be True or False")
        proxies = (trusted_proxies,) if isinstance(trusted_proxies, str) else tuple(trusted_proxies)
        self._proxies = proxies
        self._trusted = NetworkRule.of(allow=proxies)  # the same parsing as every IP rule
        self._header = forwarded_header
        self.insecure_allow_plain_http = insecure_allow_plain_http
        if client_cert_header is not None:
            certificate_from_header(client_cert_header, ())  # checks the name
            if not proxies:
                raise ConfigurationError("client_cert_header needs the trusted_proxies that set it")
        self._cert_header = client_cert_header

    def __repr__(self) -> str:
        return (
            f"TransportSecurity(trusted_proxies={list(self._proxies)!r}, "
            f"forwarded_header={self._header!r}, "
            f"insecure_allow_plain_http={self.insecure_allow_plain_http!r}, "
            f"client_cert_header={self._cert_header!r})"
        )

    def is_trusted_proxy(self, peer: str | None) -> bool:
        """True when ``peer`` is one of the configured proxies."""
        if peer is None or not self._proxies:
            return False
        try:
            return self._trusted.permits(parse_address(peer))
        except NetworkNotAllowed:
            return False

    def scheme(self, request: RequestFacts) -> str:
        """``https`` when the client reached us over TLS: directly, or as a trusted proxy says."""
        if request.scheme == "https" or not self.is_trusted_proxy(request.peer):
            return request.scheme
        said = self._forwarded_proto(request)
        return said if said in ("http", "https") else request.scheme

    def check(self, request: RequestFacts) -> None:
        """Raise :class:`InsecureTransport` when credentials in ``request`` must not be read."""
        if self.insecure_allow_plain_http or self.scheme(request) == "https":
            return
        if _is_loopback(request.peer) and not self.is_trusted_proxy(request.peer):
            return  # development on this machine
        raise InsecureTransport(f"the request came over plain HTTP: {_FIX}")

    def client_certificate(self, request: RequestFacts) -> bytes | None:
        """The DER certificate the client presented in TLS, or ``None``.

        From a trusted proxy: the ``client_cert_header`` it wrote (a malformed one is
        :class:`~tokensmith.errors.InvalidClientCertificate`), never the connection's
        certificate, which is the proxy's own. From any other peer: the certificate of its own
        TLS connection (:attr:`RequestFacts.client_cert <tokensmith.web.RequestFacts>`); a
        certificate header it sent is ignored, as anyone can send one.
        """
        if not self.is_trusted_proxy(request.peer):
            return request.client_cert
        if self._cert_header is None:
            return None
        return certificate_from_header(self._cert_header, request.get_all(self._cert_header))

    def client(self, request: RequestFacts) -> str | None:
        """The client's address (forwarding headers read from trusted proxies only)."""
        if request.peer is None:
            return None
        if self._header == "forwarded":
            return client_address(
                request.peer,
                trusted_proxies=self._proxies,
                forwarded=request.get_all("forwarded") or None,
            )
        return client_address(
            request.peer, request.get_all("x-forwarded-for") or None, trusted_proxies=self._proxies
        )

    def _forwarded_proto(self, request: RequestFacts) -> str | None:
        """The protocol the nearest trusted proxy reports: the last value, the one it wrote."""
        if self._header == "forwarded":
            values = request.get_all("forwarded")
            if not values:
                return None
            try:
                elements = forwarded_elements(values)
            except NetworkNotAllowed:  # unreadable: nothing is believed
                return None
            last = elements[-1] if elements else None
            return None if last is None else last.get("proto", "").lower() or None
        values = request.get_all("x-forwarded-proto")
        return values[-1].rsplit(",", 1)[-1].strip().lower() if values else None


def _is_loopback(peer: str | None) -> bool:
    if peer is None:
        return False
    try:
        return parse_address(peer).is_loopback
    except NetworkNotAllowed:
        return False
