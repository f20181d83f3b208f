"""tokensmith.web.netrules: allow/deny networks per audience and client, token binding, XFF."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith import Signer, Validator
from tokensmith.errors import ConfigurationError, InvalidClaim, NetworkNotAllowed, TokensmithError
from tokensmith.testing import verified_token
from tokensmith.web import (
    NetworkPolicy,
    NetworkRule,
    binding_claims,
    client_address,
    parse_address,
)

AUD = "orders-api"


def test_parse_address() -> None:
    assert parse_address("10.0.0.1") == ipaddress.ip_address("10.0.0.1")
    assert parse_address(" ::ffff:10.0.0.1 ") == ipaddress.ip_address("10.0.0.1")
    assert parse_address(ipaddress.ip_address("::1")) == ipaddress.ip_address("::1")
    for bad in ("", "10.0.0", "example.com", "10.0.0.1/8", None, 5):
        with pytest.raises(NetworkNotAllowed):
            parse_address(bad)  # type: ignore[arg-type]


def test_rule_semantics() -> None:
    rule = NetworkRule.of(allow=["10.0.0.0/8", "2001:db8::/32"], deny="10.6.0.0/16")
    ok = [parse_address(a) for a in ("10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3")]
    no = [parse_address(a) for a in ("10.6.0.1", "192.0.2.1", "2001:db9::1")]
    assert all(rule.permits(a) for a in ok)
    assert not any(rule.permits(a) for a in no)
    assert NetworkRule.of().permits(parse_address("203.0.113.9"))  # allow=None: everything
    assert not NetworkRule.of(allow=[]).permits(parse_address("10.0.0.1"))  # allow=(): nothing
    for bad in (["10.0.0.1/8"], ["nope"], [5]):
        with pytest.raises(ConfigurationError):
            NetworkRule.of(allow=bad)  # type: ignore[arg-type]
    net = ipaddress.ip_network("10.0.0.0/8")
    assert NetworkRule.of(allow=[net]).allow == (net,)


def test_default_rule_applies_before_tokens() -> None:
    policy = NetworkPolicy.build(deny=["192.0.2.0/24"])
    assert policy.check_address("198.51.100.1") == ipaddress.ip_address("198.51.100.1")
    with pytest.raises(NetworkNotAllowed) as info:
        policy.check_address("192.0.2.44")
    assert info.value.code == "network_not_allowed" and info.value.status_code == 401
    with pytest.raises(NetworkNotAllowed):
        policy.check(verified_token(), "192.0.2.44")
    policy.check(verified_token(), "198.51.100.1")
    assert NetworkPolicy.build().default is None


def test_per_audience_and_client_rules() -> None:
    policy = NetworkPolicy.build(
        audiences={"admin-api": {"allow": ["10.0.0.0/8"]}},
        clients={"partner": NetworkRule.of(allow=["203.0.113.0/24"])},
    )
    admin = verified_token(audience=("admin-api", "other"))
    policy.check(admin, "10.9.9.9")
    with pytest.raises(NetworkNotAllowed):
        policy.check(admin, "203.0.113.5")
    policy.check(verified_token(audience=("other",)), "203.0.113.5")  # no rule applies
    partner = _token(client_id="partner")
    policy.check(partner, "203.0.113.5")
    with pytest.raises(NetworkNotAllowed):
        policy.check(partner, "10.9.9.9")
    with pytest.raises(ConfigurationError):
        NetworkPolicy.build(audiences={"x": ["10.0.0.0/8"]})  # type: ignore[dict-item]


def _token(**claims: Any) -> Any:
    from types import MappingProxyType

    base = verified_token()
    from tokensmith.claims import VerifiedToken

    return VerifiedToken(
        header=base.header,
        claims=MappingProxyType({**base.claims, **claims}),
        subject=base.subject,
        issuer=base.issuer,
        audience=base.audience,
        scopes=base.scopes,
        expires_at=base.expires_at,
        issued_at=base.issued_at,
        not_before=None,
        jti=base.jti,
        key_id=base.key_id,
        algorithm=base.algorithm,
    )


def test_token_binding_end_to_end(signer: Signer, validator: Validator) -> None:
    policy = NetworkPolicy.build()
    token = signer.issue("u", audience=AUD, claims=binding_claims("198.51.100.0/24", "2001:db8::1"))
    verified = validator.validate(token)
    assert verified.claims["client_net"] == ["198.51.100.0/24", "2001:db8::1/128"]
    policy.check(verified, "198.51.100.200")
    policy.check(verified, "2001:db8::1")
    with pytest.raises(NetworkNotAllowed):
        policy.check(verified, "2001:db8::2")
    with pytest.raises(NetworkNotAllowed):
        policy.check(verified, "198.51.101.1")
    single = validator.validate(signer.issue("u", audience=AUD, claims=binding_claims("10.0.0.7")))
    assert single.claims["client_net"] == "10.0.0.7/32"
    policy.check(single, "::ffff:10.0.0.7")
    unbound = validator.validate(signer.issue("u", audience=AUD))
    policy.check(unbound, "10.0.0.8")
    with pytest.raises(NetworkNotAllowed):
        NetworkPolicy.build(require_binding=True).check(unbound, "10.0.0.8")
    NetworkPolicy.build(binding_claim=None).check(single, "10.0.0.8")  # binding ignored


@pytest.mark.parametrize("value", [5, [], ["nope"], [5], ["10.0.0.0/8"] * 33, {"ip": "10.0.0.1"}])
def test_malformed_binding_claim(value: object) -> None:
    with pytest.raises(InvalidClaim) as info:
        NetworkPolicy.build().check(_token(client_net=value), "10.0.0.1")
    assert info.value.claim == "client_net"


def test_binding_configuration() -> None:
    assert binding_claims("10.0.0.0/8", claim="net") == {"net": "10.0.0.0/8"}
    for bad in ((), ("nope",), ("10.0.0.1/8",), (5,)):
        with pytest.raises(ConfigurationError):
            binding_claims(*bad)
    with pytest.raises(ConfigurationError):
        NetworkPolicy.build(binding_claim="")
    with pytest.raises(ConfigurationError):
        NetworkPolicy.build(binding_claim=None, require_binding=True)


def test_client_address_trusts_only_own_proxies() -> None:
    proxies = ["10.0.0.0/8"]
    assert client_address("198.51.100.1") == "198.51.100.1"
    assert client_address("198.51.100.1", "1.2.3.4") == "198.51.100.1"  # no trusted proxies
    assert (
        client_address("10.0.0.2", "203.0.113.9, 10.0.0.3", trusted_proxies=proxies)
        == "203.0.113.9"
    )
    # The client prepended a fake address: only the hop our proxy saw counts.
    assert (
        client_address("10.0.0.2", "6.6.6.6, 203.0.113.9", trusted_proxies=proxies) == "203.0.113.9"
    )
    # A direct, untrusted peer cannot claim anything.
    assert client_address("203.0.113.9", "10.0.0.5", trusted_proxies=proxies) == "203.0.113.9"
    assert client_address("10.0.0.2", "10.0.0.3", trusted_proxies=proxies) == "10.0.0.3"
    with pytest.raises(NetworkNotAllowed):
        client_address("nope")


def refuses(error: type[Exception], call: Any, *args: Any, **kwargs: Any) -> Exception:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert type(info.value) is error, type(info.value).__name__
    return info.value


# --- one address, one spelling ----------------------------------------------------------------

V4_SPELLINGS = [
    "203.0.113.7",
    " 203.0.113.7\t",
    "::ffff:203.0.113.7",
    "::FFFF:CB00:7107",
    "0:0:0:0:0:ffff:cb00:7107",
    "0000:0000:0000:0000:0000:ffff:203.0.113.7",
    "[::ffff:203.0.113.7]",
    "::ffff:203.0.113.7%eth0",
    ipaddress.IPv4Address("203.0.113.7"),
    ipaddress.IPv6Address("::ffff:203.0.113.7"),
]


@pytest.mark.parametrize("spelling", V4_SPELLINGS)
def test_every_spelling_of_an_ipv4_address_parses_to_it(spelling: Any) -> None:
    assert parse_address(spelling) == ipaddress.IPv4Address("203.0.113.7")


@pytest.mark.parametrize(
    "spelling", ["2001:db8::1", "[2001:db8::1]", " [2001:DB8:0:0:0:0:0:1] ", "2001:db8::1%3"]
)
def test_ipv6_spellings_and_zone_ids(spelling: str) -> None:
    address = parse_address(spelling)
    assert address == ipaddress.IPv6Address("2001:db8::1") and str(address) == "2001:db8::1"


@pytest.mark.parametrize("bad", ["[203.0.113.7]", "[2001:db8::1", "203.0.113.7%eth0", "[]", "%"])
def test_malformed_spellings_are_refused(bad: str) -> None:
    refuses(NetworkNotAllowed, parse_address, bad)


# --- IPv4-mapped networks in allow and deny lists (issue 14, item 5) -----------------------------

MAPPED_NETWORK_SPELLINGS = [
    "203.0.113.0/24",
    "::ffff:203.0.113.0/120",
    "::ffff:cb00:7100/120",
    "::FFFF:CB00:7100/120",
    "0:0:0:0:0:ffff:cb00:7100/120",
    ipaddress.IPv6Network("::ffff:203.0.113.0/120"),
    ipaddress.IPv4Network("203.0.113.0/24"),
]


@pytest.mark.parametrize("network", MAPPED_NETWORK_SPELLINGS)
@pytest.mark.parametrize("address", V4_SPELLINGS)
def test_deny_matches_every_spelling(network: Any, address: Any) -> None:
    policy = NetworkPolicy.build(deny=[network])
    refuses(NetworkNotAllowed, policy.check_address, address)
    refuses(NetworkNotAllowed, policy.check, verified_token(), address)
    assert policy.check_address("::ffff:203.0.114.7") == ipaddress.IPv4Address("203.0.114.7")


@pytest.mark.parametrize("network", MAPPED_NETWORK_SPELLINGS)
@pytest.mark.parametrize("address", V4_SPELLINGS)
def test_allow_matches_every_spelling(network: Any, address: Any) -> None:
    policy = NetworkPolicy.build(allow=[network], audiences={AUD: {"allow": [network]}})
    policy.check(verified_token(audience=(AUD,)), address)
    for outside in ("203.0.114.7", "::ffff:203.0.114.7", "::ffff:cb00:7207"):
        refuses(NetworkNotAllowed, policy.check_address, outside)


def test_mapped_networks_become_ipv4_when_the_policy_is_built() -> None:
    rule = NetworkRule.of(allow=["::ffff:10.0.0.0/104"], deny=["::ffff:10.6.0.0/112"])
    assert rule.allow == (ipaddress.IPv4Network("10.0.0.0/8"),)
    assert rule.deny == (ipaddress.IPv4Network("10.6.0.0/16"),)
    assert NetworkRule.of(allow=["::ffff:0:0/96"]).allow == (ipaddress.IPv4Network("0.0.0.0/0"),)
    # ::/0 is "every IPv6 client": IPv4 clients (however their socket spells them) are not in it.
    everything_v6 = NetworkRule.of(deny=["::/0"])
    assert not everything_v6.permits(parse_address("2001:db8::1"))
    assert everything_v6.permits(parse_address("::ffff:203.0.113.7"))


@pytest.mark.parametrize(
    "network",
    [
        "::ffff:203.0.113.0/88",
        "::ffff:0:0/95",
        "::ffff:0:0/64",
        "::ff00:0:0/88",
        ipaddress.IPv6Network("::fffe:0:0/95"),
    ],
)
def test_mapped_networks_shorter_than_96_are_refused(network: Any) -> None:
    error = refuses(ConfigurationError, NetworkPolicy.build, deny=[network])
    assert "IPv4-mapped" in str(error) and "/96" in str(error)
    refuses(ConfigurationError, NetworkRule.of, allow=[network])
    refuses(ConfigurationError, client_address, "10.0.0.1", trusted_proxies=[network])


def test_mapped_networks_in_binding_claims_and_trusted_proxies() -> None:
    assert binding_claims("::ffff:10.0.0.0/104") == {"client_net": "10.0.0.0/8"}
    assert binding_claims("::ffff:10.0.0.7") == {"client_net": "10.0.0.7/32"}
    bound = _token(client_net=["::ffff:198.51.100.0/120"])
    NetworkPolicy.build().check(bound, "198.51.100.7")
    NetworkPolicy.build().check(bound, "::ffff:198.51.100.7")
    refuses(NetworkNotAllowed, NetworkPolicy.build().check, bound, "198.51.101.7")
    proxies = ["::ffff:10.0.0.0/104"]
    assert client_address("10.0.0.2", "203.0.113.9", trusted_proxies=proxies) == "203.0.113.9"
    got = client_address("::ffff:10.0.0.2", "::ffff:203.0.113.9", trusted_proxies=proxies)
    assert got == "203.0.113.9"


def test_zone_ids_are_dropped_in_networks() -> None:
    rule = NetworkRule.of(allow=["fe80::%eth0/64"])
    assert rule.allow == (ipaddress.IPv6Network("fe80::/64"),)
    assert rule.permits(parse_address("fe80::1%eth1"))


# --- client_address: the forms proxies really write (issue 14, item 14) --------------------------

PROXIES = ["10.0.0.0/8", "fd00::/8"]


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:54321", "203.0.113.7"),
        (" 203.0.113.7:1 , 10.0.0.3:8080", "203.0.113.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("[::ffff:203.0.113.7]:443", "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7:80, [fd00::2]:9000", "203.0.113.7"),
        ("junk, 203.0.113.7", "203.0.113.7"),  # left of the first untrusted hop: never read
        ("fe80::7%eth0", "fe80::7"),
    ],
)
def test_x_forwarded_for_forms(header: str, client: str) -> None:
    assert client_address("10.0.0.2", header, trusted_proxies=PROXIES) == client
    assert client_address("10.0.0.2", [header], trusted_proxies=PROXIES) == client
    assert client_address("10.0.0.2", header.encode(), trusted_proxies=PROXIES) == client


def test_repeated_header_lines_are_one_list() -> None:
    lines = ["6.6.6.6", "203.0.113.7, 10.0.0.3"]
    assert client_address("10.0.0.2", lines, trusted_proxies=PROXIES) == "203.0.113.7"
    forwarded = [b"for=203.0.113.7", b"for=10.0.0.3"]
    assert client_address("10.0.0.2", forwarded=forwarded, trusted_proxies=PROXIES) == (
        "203.0.113.7"
    )


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("for=192.0.2.43", "192.0.2.43"),
        ('for="192.0.2.43:47011"', "192.0.2.43"),
        ("For=192.0.2.43;proto=https;by=10.0.0.1", "192.0.2.43"),
        ('for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('for="[2001:db8:cafe::17]"', "2001:db8:cafe::17"),
        ('for="[2001:db8:cafe::17]:_port"', "2001:db8:cafe::17"),
        ("for=[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"),  # unquoted, as naive configs do
        ("for=192.0.2.43:80", "192.0.2.43"),
        ("for=2001:db8::1", "2001:db8::1"),
        ('for="\\192.0.2.43"', "192.0.2.43"),  # a quoted-pair
        ("for=192.0.2.60;proto=http;by=203.0.113.43, for=10.0.0.3", "192.0.2.60"),
        ('for=unknown, for="_hidden", for=198.51.100.17 ; proto=https', "198.51.100.17"),
        ('for="_gazonk",, for=198.51.100.17,proto=http;for="[fd00::1]"', "198.51.100.17"),
        ('host="a,b;c"; for=198.51.100.17', "198.51.100.17"),  # separators inside quotes
    ],
)
def test_rfc7239_forwarded_forms(header: str, client: str) -> None:
    assert client_address("10.0.0.2", forwarded=header, trusted_proxies=PROXIES) == client


@pytest.mark.parametrize(
    "header",
    [
        "unknown",
        "_hidden",
        "junk",
        "",
        " ",
        "203.0.113.7:99999",
        "203.0.113.7:",
        "[203.0.113.7]:80",
        "[2001:db8::7",
        "2001:db8::7]:80",
        "203.0.113.7 10.0.0.3",
        "6.6.6.6, 203.0.113.7, ",  # the hop our proxy wrote is empty
        "203.0.113.7,unknown",
    ],
)
def test_unreadable_x_forwarded_for_entries_are_refused(header: str) -> None:
    """The proxy's own address is never the answer for a hop it forwarded."""
    refuses(NetworkNotAllowed, client_address, "10.0.0.2", header, trusted_proxies=PROXIES)


@pytest.mark.parametrize(
    "header",
    [
        "for=unknown",
        "for=_hidden",
        'for="_gazonk"',
        'for="unknown:80"',
        "proto=https",  # no for=
        "for=192.0.2.43;for=192.0.2.44",  # twice in one element
        "for=192.0.2.43;for=192.0.2.44;proto=https",
        'for="192.0.2.43',  # an unterminated quote hides the rest
        'for=", for=192.0.2.43',
        "for=192.0.2.43 proto=https",
        "for=192.0.2.43,",  # the element our proxy wrote is empty
        "for",
        "=192.0.2.43",
        'for="192.0.2.43\n"',
        "for=192.0.2.43\n",
        "for=2001:db8::1]:80",
        "203.0.113.7",  # an X-Forwarded-For value in the Forwarded header
        "",
        ",",
    ],
)
def test_unreadable_forwarded_elements_are_refused(header: str) -> None:
    refuses(
        NetworkNotAllowed, client_address, "10.0.0.2", forwarded=header, trusted_proxies=PROXIES
    )


def test_headers_are_read_only_from_a_trusted_peer_and_only_one_kind() -> None:
    assert client_address("203.0.113.9", "junk", trusted_proxies=PROXIES) == "203.0.113.9"
    assert client_address("203.0.113.9", forwarded="junk", trusted_proxies=PROXIES) == (
        "203.0.113.9"
    )
    assert client_address("10.0.0.2", trusted_proxies=PROXIES) == "10.0.0.2"  # no header
    assert client_address("10.0.0.2", "10.0.0.3", trusted_proxies="10.0.0.0/8") == "10.0.0.3"
    refuses(
        ConfigurationError,
        client_address,
        "10.0.0.2",
        "203.0.113.7",
        forwarded="for=203.0.113.8",
        trusted_proxies=PROXIES,
    )
    refuses(NetworkNotAllowed, client_address, "10.0.0.2", 5, trusted_proxies=PROXIES)
    refuses(NetworkNotAllowed, client_address, "10.0.0.2", [5], trusted_proxies=PROXIES)


HEADER_TEXT = st.text(
    st.sampled_from(list('0123456789abcdefABCDEF:.[]%_,; \t"\\=forFORunknowwn/-\x00\n\u00e9\ud800'))
    | st.characters(),
    max_size=60,
)


@given(
    peer=st.sampled_from(["10.0.0.2", "fd00::2", "203.0.113.9"]) | st.text(max_size=20),
    header=HEADER_TEXT | st.binary(max_size=40) | st.lists(HEADER_TEXT, max_size=3),
    rfc7239=st.booleans(),
)
def test_client_address_answers_an_address_or_refuses(
    peer: str, header: Any, rfc7239: bool
) -> None:
    """Whatever a client or proxy writes, only an address or NetworkNotAllowed comes out."""
    try:
        if rfc7239:
            got = client_address(peer, forwarded=header, trusted_proxies=PROXIES)
        else:
            got = client_address(peer, header, trusted_proxies=PROXIES)
    except TokensmithError as exc:
        error: TokensmithError | None = exc
    else:
        error = None
        assert str(parse_address(got)) == got
    assert error is None or type(error) is NetworkNotAllowed


def test_parsed_addresses_are_remembered_and_refusals_are_not() -> None:
    """A guard reads its peer's address on every request: the parse is remembered (bounded),
    a refusal is raised every time."""
    from tokensmith.errors import NetworkNotAllowed
    from tokensmith.web import parse_address

    assert parse_address("203.0.113.9") is parse_address("203.0.113.9")
    assert str(parse_address("::ffff:203.0.113.9")) == "203.0.113.9"
    for _ in range(2):
        with pytest.raises(NetworkNotAllowed) as info:
            parse_address("203.0.113.999")
        assert type(info.value) is NetworkNotAllowed
