"""IP filtering around validation: allow/deny networks per audience or client, token binding.

A :class:`NetworkPolicy` is checked by the request handler right after
:meth:`~tokensmith.Validator.validate`, with the client address the handler knows::

    tok = validator.validate(token)
    policy.check(tok, client_ip)        # raises NetworkNotAllowed

The validator's hot path is untouched (it never sees an IP). :meth:`NetworkPolicy.check_address`
applies the address-only rules before validation, so a denied network costs no signature check.

**Token binding.** A signer may bind a token to networks with the claim named by
``binding_claim`` (default ``"client_net"``): a CIDR string or a list of them, built with
:func:`binding_claims`. A bound token is refused from any other address. The claim is private
(not ``cnf``, whose RFC 7800 members carry proof-of-possession keys).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .claims import VerifiedToken
from .errors import ConfigurationError, InvalidClaim, NetworkNotAllowed

__all__ = [
    "DEFAULT_BINDING_CLAIM",
    "NetworkPolicy",
    "NetworkRule",
    "binding_claims",
    "client_address",
    "parse_address",
]

DEFAULT_BINDING_CLAIM: Final = "client_net"
"""The claim that binds a token to networks (a CIDR string or a list of CIDR strings)."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_BOUND: Final = 32


def parse_address(ip: str | Address) -> Address:
    """Parse a client address; IPv4-mapped IPv6 (``::ffff:a.b.c.d``) becomes IPv4.

    Raises :class:`NetworkNotAllowed` for anything that is not an IP address (fail closed).
    """
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        address: Address = ip
    else:
        if not isinstance(ip, str):
            raise NetworkNotAllowed("the client address is not an IP address")
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise NetworkNotAllowed("the client address is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(name: str, values: Iterable[str | Network] | str | None) -> tuple[Network, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    result: list[Network] = []
    for value in values:
        if not isinstance(value, str | ipaddress.IPv4Network | ipaddress.IPv6Network):
            raise ConfigurationError(f"{name} must hold CIDR networks like 10.0.0.0/8")
        try:
            result.append(
                value
                if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network)
                else ipaddress.ip_network(value, strict=True)
            )
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must hold CIDR networks like 10.0.0.0/8") from None
    return tuple(result)


def _contains(networks: tuple[Network, ...], address: Address) -> bool:
    return any(address.version == n.version and address in n for n in networks)


@dataclass(frozen=True, slots=True)
class NetworkRule:
    """Allow and deny networks. Deny wins; with an ``allow`` list only those networks pass.

    ``allow=None`` (the default) allows every address not denied; ``allow=()`` allows none.
    """

    allow: tuple[Network, ...] | None = None
    deny: tuple[Network, ...] = ()

    @classmethod
    def of(
        cls,
        allow: Iterable[str | Network] | str | None = None,
        deny: Iterable[str | Network] | str = (),
    ) -> NetworkRule:
        """Build a rule from CIDR strings (``"10.0.0.0/8"``, ``"2001:db8::/32"``)."""
        return cls(None if allow is None else _networks("allow", allow), _networks("deny", deny))

    def permits(self, address: Address) -> bool:
        """True when ``address`` is not denied and (if there is an allow list) allowed."""
        if _contains(self.deny, address):
            return False
        return self.allow is None or _contains(self.allow, address)


def _rule(value: NetworkRule | Mapping[str, Any]) -> NetworkRule:
    if isinstance(value, NetworkRule):
        return value
    if isinstance(value, Mapping):
        return NetworkRule.of(value.get("allow"), value.get("deny", ()))
    raise ConfigurationError("a network rule must be a NetworkRule or {'allow': ..., 'deny': ...}")


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which networks may use which tokens; compiled once, checked per request.

    Every rule that applies must permit the address: ``default`` always applies, an
    ``audiences`` rule when the token is for that audience, a ``clients`` rule when its
    ``client_id`` (or ``azp``) matches, and the token's own binding claim when present.
    ``require_binding=True`` refuses tokens without a binding claim.
    """

    default: NetworkRule | None = None
    audiences: Mapping[str, NetworkRule] = field(default_factory=dict)
    clients: Mapping[str, NetworkRule] = field(default_factory=dict)
    binding_claim: str | None = DEFAULT_BINDING_CLAIM
    require_binding: bool = False

    @classmethod
    def build(
        cls,
        *,
        allow: Iterable[str] | str | None = None,
        deny: Iterable[str] | str = (),
        audiences: Mapping[str, NetworkRule | Mapping[str, Any]] | None = None,
        clients: Mapping[str, NetworkRule | Mapping[str, Any]] | None = None,
        binding_claim: str | None = DEFAULT_BINDING_CLAIM,
        require_binding: bool = False,
    ) -> NetworkPolicy:
        """Build a policy from plain data (CIDR strings and ``{"allow", "deny"}`` mappings)."""
        default = None if allow is None and not deny else NetworkRule.of(allow, deny)
        if binding_claim is not None and (not isinstance(binding_claim, str) or not binding_claim):
            raise ConfigurationError("binding_claim must be a claim name or None")
        if require_binding and binding_claim is None:
            raise ConfigurationError("require_binding needs a binding_claim")
        return cls(
            default=default,
            audiences={str(k): _rule(v) for k, v in (audiences or {}).items()},
            clients={str(k): _rule(v) for k, v in (clients or {}).items()},
            binding_claim=binding_claim,
            require_binding=require_binding,
        )

    def check_address(self, ip: str | Address) -> Address:
        """The address-only rule (``default``), before any token work; returns the address."""
        address = parse_address(ip)
        if self.default is not None and not self.default.permits(address):
            raise NetworkNotAllowed("requests from this network are not allowed")
        return address

    def check(self, token: VerifiedToken, ip: str | Address) -> None:
        """Raise :class:`NetworkNotAllowed` unless every applicable rule permits ``ip``."""
        address = self.check_address(ip)
        for audience in token.audience:
            rule = self.audiences.get(audience)
            if rule is not None and not rule.permits(address):
                raise NetworkNotAllowed("this audience may not be used from this network")
        client = token.client_id
        if client is not None:
            rule = self.clients.get(client)
            if rule is not None and not rule.permits(address):
                raise NetworkNotAllowed("this client may not use tokens from this network")
        if self.binding_claim is None:
            return
        bound = token.claims.get(self.binding_claim)
        if bound is None:
            if self.require_binding:
                raise NetworkNotAllowed("the token is not bound to a network")
            return
        if not _contains(_bound_networks(bound, self.binding_claim), address):
            raise NetworkNotAllowed("the token is bound to another network")


def _bound_networks(value: object, claim: str) -> tuple[Network, ...]:
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, list)
        or not values
        or len(values) > _MAX_BOUND
        or not all(isinstance(v, str) for v in values)
    ):
        raise InvalidClaim(f"{claim!r} must be a CIDR string or a short list of them", claim=claim)
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in values)
    except (TypeError, ValueError):
        raise InvalidClaim(
            f"{claim!r} holds something that is not a network", claim=claim
        ) from None


def binding_claims(
    *networks: str, claim: str = DEFAULT_BINDING_CLAIM
) -> dict[str, str | list[str]]:
    """Claims binding a token to ``networks``, for ``Signer.issue(claims=...)``.

    A bare address binds to that single host (``/32`` or ``/128``).
    """
    if not networks:
        raise ConfigurationError("bind to at least one network")
    normal = [str(n) for n in _networks("networks", [_as_network(n) for n in networks])]
    return {claim: normal[0] if len(normal) == 1 else normal}


def _as_network(value: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError("networks must be CIDR strings")
    if "/" in value:
        return value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ConfigurationError("networks must be CIDR strings") from None
    return f"{address}/{address.max_prefixlen}"


def client_address(
    peer: str,
    forwarded_for: str | None = None,
    *,
    trusted_proxies: Iterable[str] = (),
) -> str:
    """The client address, trusting ``X-Forwarded-For`` only through your own proxies.

    Walks ``forwarded_for`` from the right while the hop is a trusted proxy and returns the
    first untrusted address (the left part of the header is client-controlled). With no
    trusted proxies the TCP peer is the answer. Unparseable entries stop the walk at the last
    trusted hop, fail closed.
    """
    proxies = _networks("trusted_proxies", list(trusted_proxies))
    current = str(parse_address(peer))
    if not proxies or not forwarded_for:
        return current
    if not isinstance(forwarded_for, str):  # request data: a list, bytes... (issue 14, item 8)
        raise NetworkNotAllowed("X-Forwarded-For is not text")
    hops = [h.strip() for h in forwarded_for.split(",")]
    while hops and _contains(proxies, parse_address(current)):
        hop = hops.pop()
        try:
            current = str(parse_address(hop))
        except NetworkNotAllowed:
            return current
    return current
