"""Tenant templates: the placeholder holds one tenant id, nothing that could reshape the URL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith import ConfigurationError, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.errors import InvalidClaim, InvalidIssuer, MissingClaim
from tokensmith.issuers import MAX_TENANT_LENGTH, IssuerTemplate, TenantCheck
from tokensmith.testing import FakeClock

TEMPLATE = "https://login.example.com/{tid}/v2.0"
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


def issuer(tenant: str) -> str:
    return f"https://login.example.com/{tenant}/v2.0"


def test_a_tenant_issuer_fits_and_names_its_tenant() -> None:
    template = IssuerTemplate(TEMPLATE)
    assert template.tenant(issuer(TENANT)) == TENANT
    assert template.tenant(issuer("contoso")) == "contoso"
    assert template.claim == "tid"
    assert repr(template) == f"IssuerTemplate({TEMPLATE!r}, claim='tid')"


@pytest.mark.parametrize(
    "claimed",
    [
        issuer(""),  # no tenant
        issuer("a/b"),  # an extra path segment
        issuer(".."),
        issuer("."),
        issuer("a/../b"),
        issuer("%2f"),
        issuer("a%2Fb"),
        issuer("a%00"),
        issuer("a?b"),
        issuer("a#b"),
        issuer("a@b"),
        issuer("a:b"),
        issuer("a b"),
        issuer("a\nb"),
        issuer("a\\b"),
        issuer("\u0430"),  # Cyrillic a
        issuer("t\u0435nant"),  # Cyrillic e
        issuer("\uff0e\uff0e"),  # fullwidth dots
        issuer("a\u2215b"),  # division slash
        issuer("x" * 65),  # longer than the default pattern allows
        issuer("a.b"),  # the default pattern has no dot
        "https://login.example.com/contoso/v2.0/extra",
        "https://login.example.com/contoso/v2.0?x=1",
        "https://evil.example/login.example.com/contoso/v2.0",
        "http://login.example.com/contoso/v2.0",
        "https://login.example.com/contoso/v2.00",
        "https://login.example.com//v2.0",
        "",
    ],
)
def test_injection_attempts_fit_no_template(claimed: str) -> None:
    assert IssuerTemplate(TEMPLATE).tenant(claimed) is None


def test_a_pattern_narrows_the_alphabet_and_never_widens_it() -> None:
    dotted = IssuerTemplate(TEMPLATE, pattern=r"[a-z.]+")
    assert dotted.tenant(issuer("contoso.example")) == "contoso.example"
    assert dotted.tenant(issuer("..")) is None  # dots alone are never a tenant
    assert dotted.tenant(issuer("Contoso")) is None
    anything = IssuerTemplate(TEMPLATE, pattern=r".*")
    for bad in ("a/b", "%2f", "a?b", "\u0430", "x" * (MAX_TENANT_LENGTH + 1), "..."):
        assert anything.tenant(issuer(bad)) is None
    assert anything.tenant(issuer("x" * MAX_TENANT_LENGTH)) == "x" * MAX_TENANT_LENGTH
    assert anything.tenant(issuer("a~b_c.d-e")) == "a~b_c.d-e"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_whatever_fits_is_one_unreserved_segment(tenant: str) -> None:
    found = IssuerTemplate(TEMPLATE, pattern=r".*").tenant(issuer(tenant))
    if found is not None:
        assert found == tenant
        assert all(c.isascii() and (c.isalnum() or c in "-._~") for c in found)
        assert found.strip(".")


def test_the_placeholder_may_be_a_host_label() -> None:
    template = IssuerTemplate("https://{tenant}.auth.example.com", claim=None)
    assert template.tenant("https://acme.auth.example.com") == "acme"
    assert template.tenant("https://evil.com#.auth.example.com") is None
    assert template.tenant("https://a.b.auth.example.com") is None
    assert template.tenant_check("acme") is None


@pytest.mark.parametrize(
    "bad",
    [
        "https://login.example.com/v2.0",  # no placeholder
        "https://login.example.com/{tid}/{tid}",
        "https://login.example.com/{tid}/{x}",
        "https://login.example.com/{t-d}",
        "https://login.example.com/{}",
        "https://login.example.com/{tid}}",
        "{tid}://login.example.com/",
        "http://login.example.com/{tid}",  # plain http off loopback
        "https://login.example.com/{tid}?a=1",
        "https://login.example.com/{tid}#f",
        "ftp://login.example.com/{tid}",
    ],
)
def test_bad_templates_are_configuration_errors(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        IssuerTemplate(bad)


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        IssuerTemplate(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        IssuerTemplate(TEMPLATE, pattern="[")
    with pytest.raises(ConfigurationError):
        IssuerTemplate(TEMPLATE, claim=3)  # type: ignore[arg-type]


def test_a_loopback_http_template_is_allowed() -> None:
    template = IssuerTemplate("http://127.0.0.1:8080/{tid}")
    assert template.tenant("http://127.0.0.1:8080/acme") == "acme"


def test_the_tenant_check_compares_the_claim_with_the_issuers_tenant() -> None:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    template = IssuerTemplate(TEMPLATE, claim="tenant")
    check = template.tenant_check("acme")
    assert isinstance(check, TenantCheck)
    assert repr(check) == "TenantCheck('tenant', 'acme')"
    iss = issuer("acme")
    signer = Signer(store, issuer=iss, clock=clock)
    validator = Validator(store, issuer=iss, audience="api", checks=[check], clock=clock)
    assert validator.validate(signer.issue("u", audience="api", claims={"tenant": "acme"}))
    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({}, MissingClaim),
        ({"tenant": None}, MissingClaim),
        ({"tenant": ["acme"]}, InvalidClaim),
        ({"tenant": "other"}, InvalidIssuer),
        ({"tenant": "ACME"}, InvalidIssuer),
    ]
    for claims, error in cases:
        with pytest.raises(error) as info:
            validator.validate(signer.issue("u", audience="api", claims=claims))
        assert type(info.value) is error
        assert info.value.claim == "tenant"  # type: ignore[attr-defined]
