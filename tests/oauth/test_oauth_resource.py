"""RFC 8707 resource indicators: one canonical spelling, every other refused at configuration;
RFC 9728 §3.1 well-known URLs; and what a validator configured with one accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import ISSUER
from tokensmith import (
    ConfigurationError,
    InvalidAudience,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
)
from tokensmith.oauth import RESOURCE_METADATA_PATH, canonical_resource, resource_metadata_url


@pytest.mark.parametrize(
    ("given_url", "canonical"),
    [
        ("https://mcp.example.com/mcp", "https://mcp.example.com/mcp"),
        ("HTTPS://MCP.Example.COM/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com:443/mcp", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com:8443/mcp", "https://mcp.example.com:8443/mcp"),
        ("https://mcp.example.com", "https://mcp.example.com"),
        ("https://mcp.example.com/", "https://mcp.example.com/"),  # the exact path
        ("https://mcp.example.com/MCP/", "https://mcp.example.com/MCP/"),
        ("https://mcp.example.com/a%2Fb", "https://mcp.example.com/a%2Fb"),
        ("https://[0:0:0:0:0:0:0:1]:443/mcp", "https://[::1]/mcp"),
        ("https://192.0.2.7/mcp", "https://192.0.2.7/mcp"),
    ],
)
def test_the_canonical_spelling(given_url: str, canonical: str) -> None:
    assert canonical_resource(given_url) == canonical
    assert canonical_resource(canonical) == canonical  # idempotent


def test_plain_http_only_on_loopback_and_only_when_asked() -> None:
    url = "HTTP://127.0.0.1:80/mcp"
    assert canonical_resource(url, allow_loopback_http=True) == "http://127.0.0.1/mcp"
    assert canonical_resource("http://localhost:8000", allow_loopback_http=True) == (
        "http://localhost:8000"
    )
    with pytest.raises(ConfigurationError, match="https"):
        canonical_resource(url)
    with pytest.raises(ConfigurationError, match="https"):
        canonical_resource("http://mcp.example.com/mcp", allow_loopback_http=True)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "non-empty"),
        ("mcp.example.com/mcp", "https"),
        ("/mcp", "https"),
        ("ftp://mcp.example.com/mcp", "https"),
        ("urn:example:mcp", "https"),
        ("https:///mcp", "host"),
        ("https://mcp_example.com/mcp", "host"),
        ("https://mcp.example.com./mcp", "host"),
        ("https://bücher.example/mcp", "ASCII"),
        ("https://user:pw@mcp.example.com/mcp", "user info"),
        ("https://@mcp.example.com/mcp", "user info"),
        ("https://mcp.example.com/mcp?tenant=a", "query"),
        ("https://mcp.example.com/mcp?", "query"),
        ("https://mcp.example.com/mcp#top", "fragment"),
        ("https://mcp.example.com/mcp#", "fragment"),
        ("https://mcp.example.com:0/mcp", "port"),
        ("https://mcp.example.com:/mcp", "port"),
        ("https://mcp.example.com:99999/mcp", "port"),
        ("https://mcp.example.com:x/mcp", "port"),
        ("https://[::1/mcp", "valid URL"),
        ("https://[fe80::1%25eth0]/mcp", "zone"),
        ("https://[1:2:3]/mcp", "valid URL"),
        ("https://[v1.fe]/mcp", "IPv6"),
        ("https://mcp.example.com/a b", "whitespace"),
        ("https://mcp.example.com/a\tb", "whitespace"),
        ("https://mcp.example.com/a<b>", "path characters"),
        ("https://mcp.example.com/a%zz", "path characters"),
        ("https://mcp.example.com/a/../b", ". or .."),
        ("https://mcp.example.com/./b", ". or .."),
        ("https://mcp.example.com/" + "a" * 2048, "non-empty"),
    ],
)
def test_what_cannot_be_a_resource_indicator_is_refused(bad: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why) as info:
        canonical_resource(bad)
    assert type(info.value) is ConfigurationError


@pytest.mark.parametrize("bad", [None, 42, b"https://mcp.example.com", ["https://a.example"]])
def test_non_strings_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        canonical_resource(bad)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError


@given(st.text(max_size=80))
def test_any_text_is_canonical_or_a_configuration_error(text: str) -> None:
    try:
        canonical = canonical_resource(text, allow_loopback_http=True)
    except ConfigurationError:
        return
    assert canonical_resource(canonical, allow_loopback_http=True) == canonical


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)


@given(
    st.lists(_LABEL, min_size=1, max_size=4),
    st.sampled_from(["", ":443", ":8443"]),
    st.from_regex(r"(/[A-Za-z0-9_~-]{1,6}){0,3}/?", fullmatch=True),
    st.booleans(),
)
def test_spellings_of_one_url_share_one_canonical_form(
    labels: list[str], port: str, path: str, shout: bool
) -> None:
    host = ".".join(labels)
    plain = canonical_resource(f"https://{host}{port}{path}")
    shouted = f"{'HTTPS' if shout else 'https'}://{host.upper() if shout else host}"
    assert canonical_resource(f"{shouted}{port}{path}") == plain
    assert plain.endswith(path) and ":443" not in plain


@pytest.mark.parametrize(
    ("resource", "metadata"),
    [
        ("https://api.example.com/mcp",
         "https://api.example.com/.well-known/oauth-protected-resource/mcp"),
        ("https://API.example.com:443/v1/mcp/",
         "https://api.example.com/.well-known/oauth-protected-resource/v1/mcp/"),
        ("https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource"),
        ("https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource"),
        ("https://api.example.com:8443/x",
         "https://api.example.com:8443/.well-known/oauth-protected-resource/x"),
    ],
)  # fmt: skip
def test_the_well_known_url_goes_between_host_and_path(resource: str, metadata: str) -> None:
    assert resource_metadata_url(resource) == metadata
    assert RESOURCE_METADATA_PATH in metadata


def test_the_well_known_url_of_a_loopback_resource_needs_the_same_permission() -> None:
    assert resource_metadata_url("http://127.0.0.1:8000/mcp", allow_loopback_http=True) == (
        "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
    )
    with pytest.raises(ConfigurationError):
        resource_metadata_url("http://127.0.0.1:8000/mcp")


def test_a_validator_for_a_resource_accepts_its_canonical_aud_only() -> None:
    """RFC 7519 compares ``aud`` as a string: another spelling of our URL is another audience."""
    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=ISSUER)
    resource = canonical_resource("https://MCP.example.com:443/mcp")
    validator = Validator(store, issuer=ISSUER, audience=resource)
    assert validator.validate(signer.issue("u", audience=resource)).subject == "u"
    for other in ("https://MCP.example.com:443/mcp", "https://mcp.example.com/mcp/",
                  "https://mcp.example.com/MCP", "https://mcp.example.com"):  # fmt: skip
        with pytest.raises(InvalidAudience) as info:
            validator.validate(signer.issue("u", audience=other))
        assert type(info.value) is InvalidAudience
