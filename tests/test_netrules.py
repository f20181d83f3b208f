"""tokensmith.netrules: allow/deny networks per audience and client, token binding, XFF."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tokensmith import Signer, Validator
from tokensmith.errors import ConfigurationError, InvalidClaim, NetworkNotAllowed
from tokensmith.netrules import (
    NetworkPolicy,
    NetworkRule,
    binding_claims,
    client_address,
    parse_address,
)
from tokensmith.testing import verified_token

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
            binding_claims(*bad)  # type: ignore[arg-type]
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
    assert client_address("10.0.0.2", "junk", trusted_proxies=proxies) == "10.0.0.2"
    assert client_address("10.0.0.2", "10.0.0.3", trusted_proxies=proxies) == "10.0.0.3"
    with pytest.raises(NetworkNotAllowed):
        client_address("nope")
