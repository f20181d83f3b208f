"""IP filtering around validation: allow/deny networks per audience or client, token binding.

A :class:`NetworkPolicy` is checked by the request handler right after
:meth:`~tokensmith.Validator.validate`, with the client address the handler knows::

    tok = validator.validate(token)
    policy.check(tok, client_ip)        # raises NetworkNotAllowed

The validator's hot path is untouched (it never sees an IP). :meth:`NetworkPolicy.check_address`
applies the address-only rules before validation, so a denied network costs no signature check.

Addresses and networks have one canonical form (:func:`parse_address`): an IPv4-mapped IPv6
address is its IPv4 address, and an IPv4-mapped network is converted to the IPv4 network when
the policy is built, so no spelling of a client slips past a rule written in another.
:func:`client_address` reads ``X-Forwarded-For`` or RFC 7239 ``Forwarded`` through your own
proxies only.

**Token binding.** A signer may bind a token to networks with the claim named by
``binding_claim`` (default ``"client_net"``): a CIDR string or a list of them, built with
:func:`binding_claims`. A bound token is refused from any other address. The claim is private
(not ``cnf``, whose RFC 7800 members carry proof-of-possession keys).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..claims import VerifiedToken
from ..errors import ConfigurationError, InvalidClaim, NetworkNotAllowed

__all__ = [
    "DEFAULT_BINDING_CLAIM",
    "NetworkPolicy",
    "NetworkRule",
    "binding_claims",
    "client_address",
    "forwarded_elements",
    "parse_address",
]

DEFAULT_BINDING_CLAIM: Final = "client_net"
"""The claim that binds a token to networks (a CIDR string or a list of CIDR strings)."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAX_BOUND: Final = 32


def parse_address(ip: str | Address) -> Address:
    """Parse a client address into its one canonical form (the same address, one spelling).

    Accepted around the address: whitespace, and brackets around an IPv6 literal
    (``[2001:db8::1]``). An IPv6 zone id (``fe80::1%eth0``) is dropped: it names an interface
    of the host that wrote it, not the peer. IPv4-mapped IPv6 (``::ffff:a.b.c.d``, in any
    spelling) becomes IPv4, so one client is one address however its socket reported it.
    Raises :class:`NetworkNotAllowed` for anything that is not an IP address (fail closed).
    """
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return _canonical(ip)
    if not isinstance(ip, str):
        raise NetworkNotAllowed("the client address is not an IP address")
    return _parse_text(ip)


@functools.lru_cache(maxsize=4096)
def _parse_text(ip: str) -> Address:
    """:func:`parse_address` of a string, remembered: every request of a guard reads its peer's
    address (transport check, audit), and a service sees the same few peers (its proxies) over
    and over. Bounded; a refusal raises and is not remembered."""
    text = ip.strip()
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    try:  # the family is known from the text: one parse, not a failed IPv4 attempt first
        address: Address = (
            ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
        )
    except ValueError:
        raise NetworkNotAllowed("the client address is not an IP address") from None
    if bracketed and address.version != 6:
        raise NetworkNotAllowed("the client address is not an IP address")
    return _canonical(address)


def _canonical(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return ipaddress.IPv6Address(int(address))
    return address


_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")


def _canonical_network(network: Network) -> Network:
    """IPv4-mapped IPv6 networks as the IPv4 network they mean; zone ids dropped."""
    if isinstance(network, ipaddress.IPv4Network):
        return network
    if network.subnet_of(_MAPPED):
        base = network.network_address.ipv4_mapped
        assert base is not None  # a subnet of ::ffff:0:0/96
        return ipaddress.IPv4Network((int(base), network.prefixlen - 96))
    if network.network_address.scope_id is not None:
        return ipaddress.IPv6Network((int(network.network_address), network.prefixlen))
    return network


def _short_mapped(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"{name}: an IPv4-mapped network needs a prefix of /96 or longer "
        "(::ffff:203.0.113.0/120 is 203.0.113.0/24); write the IPv4 network instead"
    )


def _is_short_mapped(network: Network) -> bool:
    """Between /81 and /95 around ``::ffff:0:0/96``: part mapped IPv4, part plain IPv6.

    (``::/80`` and shorter are ordinary IPv6 ranges, such as ``::/0``: they match IPv6 clients.)
    """
    return (
        isinstance(network, ipaddress.IPv6Network)
        and 80 < network.prefixlen < 96
        and network.supernet_of(_MAPPED)
    )


def _written_short_mapped(value: str) -> bool:
    """``::ffff:10.0.0.0/88``: a mapped address written with a prefix shorter than /96."""
    address, _, prefix = value.strip().partition("/")
    try:
        return ipaddress.IPv6Address(address).ipv4_mapped is not None and int(prefix, 10) < 96
    except ValueError:
        return False


def _network(name: str, value: object) -> Network:
    """One CIDR network (strict: no host bits set), in its canonical form."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        network: Network = value
    elif isinstance(value, str):
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            if _written_short_mapped(value):
                raise _short_mapped(name) from None
            raise ConfigurationError(f"{name} must hold CIDR networks like 10.0.0.0/8") from None
    else:
        raise ConfigurationError(f"{name} must hold CIDR networks like 10.0.0.0/8")
    if _is_short_mapped(network):
        raise _short_mapped(name)
    return _canonical_network(network)


def _networks(name: str, values: Iterable[str | Network] | str) -> tuple[Network, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(_network(name, value) for value in values)


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
        return tuple(_canonical_network(ipaddress.ip_network(v, strict=False)) for v in values)
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


HeaderValue = str | bytes | Sequence[str | bytes]
"""One header's value, or its values when the request repeated it (joined with ``,``)."""


def client_address(
    peer: str | Address,
    forwarded_for: HeaderValue | None = None,
    *,
    trusted_proxies: Iterable[str | Network] | str = (),
    forwarded: HeaderValue | None = None,
) -> str:
    """The client address, trusting forwarding headers only as written by your own proxies.

    Give the one header your proxies write: ``X-Forwarded-For`` as ``forwarded_for``, or the
    RFC 7239 ``Forwarded`` header as ``forwarded=`` (giving both is a
    :class:`ConfigurationError`: a client can send the header your proxy does not overwrite).
    Entries are read from the right while the hop is a trusted proxy; the first untrusted one
    is the answer (the left part of the header is client-controlled). With no trusted proxy as
    the peer, the peer is the answer and the headers are not read.

    Entries may be ``ip``, ``ip:port``, ``[ipv6]``, ``[ipv6]:port`` or a bare IPv6 address
    (``Forwarded``: the ``for=`` parameter, quoted or not). An entry that must be read but
    cannot be (``unknown``, an obfuscated ``_name``, an element without ``for=``, garbage, an
    empty header) raises :class:`NetworkNotAllowed` rather than answering with the proxy's own
    address. The answer is canonical (see :func:`parse_address`).
    """
    if forwarded_for is not None and forwarded is not None:
        raise ConfigurationError(
            "pass the one forwarding header your proxies write: forwarded_for or forwarded"
        )
    proxies = _networks("trusted_proxies", trusted_proxies)
    current = parse_address(peer)
    if not _contains(proxies, current):
        return str(current)
    if forwarded is not None:
        hops = _forwarded_for(forwarded)
    elif forwarded_for is not None:
        hops = list(_header_text(forwarded_for).split(","))
    else:
        return str(current)
    while hops and _contains(proxies, current):
        current = _node(hops.pop())
    return str(current)


def _header_text(value: object) -> str:
    """A header value as text (bytes as Latin-1, repeated headers joined by commas)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, Sequence) and all(isinstance(v, str | bytes) for v in value):
        return ",".join(_header_text(v) for v in value)
    # request data of another shape (a dict, a number...): refused like any unreadable hop
    raise NetworkNotAllowed("a forwarding header is not text")


_UNREADABLE: Final = "a forwarded client address cannot be read"
_PORT: Final = r"(?::(\d{1,5}|_[A-Za-z0-9._-]+))?"  # RFC 7239 node-port (or obfuscated)
_IPV4_PORT: Final = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3})" + _PORT, re.ASCII)
_IPV6_PORT: Final = re.compile(r"(\[[^\[\]]*\])" + _PORT, re.ASCII)


def _node(entry: str | None) -> Address:
    """One hop as proxies write it: ``ip``, ``ip:port``, ``[v6]``, ``[v6]:port``, bare v6.

    ``None`` (no ``for=``), ``unknown`` and obfuscated ``_names`` (RFC 7239 §6) are not
    addresses: refused, as is anything else that does not parse.
    """
    if entry is None:
        raise NetworkNotAllowed(_UNREADABLE)
    text = entry.strip(" \t")
    node = _IPV4_PORT.fullmatch(text) or _IPV6_PORT.fullmatch(text)
    if node is not None:
        text, port = node.groups()
        if port is not None and not port.startswith("_") and int(port) > 65535:
            raise NetworkNotAllowed(_UNREADABLE)
    try:
        return parse_address(text)
    except NetworkNotAllowed:
        raise NetworkNotAllowed(_UNREADABLE) from None


# RFC 7239 §4: elements separated by ",", pairs by ";", values a token or a quoted-string
# (RFC 7230 §3.2.6). Unquoted values may also hold ":[]": naive proxy configurations write
# ``for=[2001:db8::1]:80`` without the quotes the RFC asks for.
_TCHAR: Final = r"!#$%&'*+.^_`|~0-9A-Za-z-"
_FORWARDED_PAIR: Final = re.compile(
    rf'([{_TCHAR}]+)=("(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
    rf"|[{_TCHAR}:\[\]]+)",
    re.ASCII,
)
_QUOTED_PAIR: Final = re.compile(r"\\(.)", re.S)


def _forwarded_for(value: HeaderValue) -> list[str | None]:
    """The ``for=`` of each element of a ``Forwarded`` header, left to right.

    ``None`` for an element without exactly one ``for=`` (refused if the walk reaches it).
    """
    return [None if e is None else e.get("for") for e in forwarded_elements(value)]


def forwarded_elements(value: HeaderValue) -> list[dict[str, str] | None]:
    """The elements of an RFC 7239 ``Forwarded`` header, left to right: each the dict of its
    parameters (names lower-case, values unquoted), or ``None`` when it repeats a parameter.

    The whole header is read first, because a quoted string may hide commas: text that does not
    follow the grammar makes the whole header unreadable (:class:`NetworkNotAllowed`).
    """
    text = _header_text(value)
    found: list[dict[str, str] | None] = []
    params: dict[str, str] | None = {}
    position = _skip_space(text, 0)
    while True:
        pair = _FORWARDED_PAIR.match(text, position)
        if pair is not None:
            name = pair.group(1).lower()
            if params is not None:
                params = None if name in params else {**params, name: _unquoted(pair.group(2))}
            position = _skip_space(text, pair.end())
        if position == len(text) or text[position] == ",":
            found.append(params)
            params = {}
        elif text[position] != ";":
            raise NetworkNotAllowed(_UNREADABLE)
        if position == len(text):
            return found
        position = _skip_space(text, position + 1)


def _skip_space(text: str, position: int) -> int:
    """The position after optional whitespace (RFC 7230 OWS) at ``position``."""
    while position < len(text) and text[position] in " \t":
        position += 1
    return position


def _unquoted(raw: str) -> str:
    if raw.startswith('"'):
        return _QUOTED_PAIR.sub(r"\1", raw[1:-1])
    return raw
