"""RFC 9728 Protected Resource Metadata: the document, its checks, signed metadata, the answer,
and the ASGI/WSGI middleware serving it at its well-known path on real servers."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import ISSUER
from tests.support.app_servers import uvicorn_server, wsgi_server
from tokensmith import (
    NO_AUDIENCE,
    ConfigurationError,
    KeySet,
    MemoryKeyStore,
    Signer,
    Validator,
)
from tokensmith.integrations import asgi, wsgi
from tokensmith.oauth import DEFAULT_METADATA_MAX_AGE, ProtectedResourceMetadata
from tokensmith.testing import FakeClock
from tokensmith.web import Guard

RESOURCE = "https://mcp.example.com/mcp"
WELL_KNOWN = "/.well-known/oauth-protected-resource/mcp"
AS = ["https://auth.example.com"]


def metadata(**options: Any) -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(RESOURCE, authorization_servers=AS, **options)


def test_the_minimal_document() -> None:
    doc = metadata()
    assert dict(doc.document) == {
        "resource": RESOURCE,
        "authorization_servers": AS,
        "bearer_methods_supported": ["header"],
    }
    assert doc.url == "https://mcp.example.com" + WELL_KNOWN and doc.path == WELL_KNOWN
    assert repr(doc) == f"ProtectedResourceMetadata({RESOURCE!r}, url={doc.url!r})"


def test_every_member_rfc_9728_lists() -> None:
    members: dict[str, Any] = {
        "scopes_supported": ["mcp:tools", "mcp:resources"],
        "bearer_methods_supported": ["header", "body"],
        "jwks_uri": "https://mcp.example.com/jwks.json",
        "resource_name": "Orders MCP server",
        "resource_documentation": "https://mcp.example.com/docs",
        "resource_policy_uri": "https://mcp.example.com/policy",
        "resource_tos_uri": "https://mcp.example.com/tos",
        "resource_signing_alg_values_supported": ["ES256"],
        "tls_client_certificate_bound_access_tokens": False,
        "dpop_bound_access_tokens_required": False,
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
        "authorization_details_types_supported": ["payment_initiation"],
    }
    doc = ProtectedResourceMetadata(
        "HTTPS://MCP.example.com:443/mcp", authorization_servers=[*AS, *AS], **members
    )
    assert dict(doc.document) == {
        "resource": RESOURCE,  # canonical
        "authorization_servers": AS,  # once
        **members,
    }


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"authorization_servers": []}, "at least one"),
        ({"authorization_servers": "http://auth.example.com"}, "https"),
        ({"authorization_servers": ["https://auth.example.com?x=1"]}, "query"),
        ({"authorization_servers": [""]}, "non-empty"),
        ({"authorization_servers": {"a": 1}}, "collection"),
        ({"scopes_supported": ["a b"]}, "scope names"),
        ({"scopes_supported": ['a"b']}, "scope names"),
        ({"bearer_methods_supported": ["query"]}, "header"),
        ({"jwks_uri": "http://mcp.example.com/jwks"}, "https"),
        ({"jwks_uri": "https://mcp.example.com/jwks#x"}, "fragment"),
        ({"resource_tos_uri": 42}, "URL"),
        ({"resource_name": ""}, "non-empty"),
        ({"resource_name": "a\nb"}, "printable"),
        ({"resource_name": "\ud800"}, "printable"),
        ({"resource_signing_alg_values_supported": ["none"]}, "never 'none'"),
        ({"dpop_signing_alg_values_supported": ["ES 256"]}, "algorithm"),
        ({"dpop_bound_access_tokens_required": 1}, "True or False"),
        ({"scope_supported": ["a"]}, "did you mean 'scopes_supported'"),
        ({"max_age": -1}, "max_age"),
        ({"allow_loopback_http": "yes"}, "True or False"),
        ({"signed_ttl": 1}, "signed_ttl"),
    ],
)
def test_what_the_document_may_not_say_is_refused_at_start_up(
    options: dict[str, Any], why: str
) -> None:
    arguments: dict[str, Any] = {"authorization_servers": AS, **options}
    with pytest.raises(ConfigurationError, match=why) as info:
        ProtectedResourceMetadata(RESOURCE, **arguments)
    assert type(info.value) is ConfigurationError


def test_loopback_http_only_when_asked() -> None:
    with pytest.raises(ConfigurationError):
        ProtectedResourceMetadata("http://127.0.0.1:8000/mcp", authorization_servers=AS)
    doc = ProtectedResourceMetadata(
        "http://127.0.0.1:8000/mcp",
        authorization_servers=["http://127.0.0.1:9000"],
        jwks_uri="http://127.0.0.1:9000/jwks",
        allow_loopback_http=True,
    )
    assert doc.url == "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
    with pytest.raises(ConfigurationError, match="allow_loopback_http"):
        metadata(jwks_uri="http://127.0.0.1:9000/jwks")


def test_the_answer_is_cacheable_public_json() -> None:
    answer = metadata(max_age=60).answer()
    assert answer.status == 200 and answer.content_type == "application/json"
    assert answer.header("Cache-Control") == "public, max-age=60"
    assert answer.header("Access-Control-Allow-Origin") == "*"
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert json.loads(answer.body)["resource"] == RESOURCE
    etag = answer.header("ETag")
    assert etag is not None
    for tags in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = metadata(max_age=60).answer("GET", if_none_match=tags)
        assert (again.status, again.body) == (304, b"")
    assert metadata().answer(if_none_match='"other"').status == 200
    assert metadata().answer("HEAD").body == answer.body  # the caller drops it
    refused = metadata().answer("POST")
    assert refused.status == 405 and refused.header("Allow") == "GET, HEAD"
    assert metadata().max_age == DEFAULT_METADATA_MAX_AGE


def test_signed_metadata_is_a_jwt_of_the_members_by_the_signer() -> None:
    store = MemoryKeyStore(KeySet.generate("ES256"))
    clock = FakeClock(1_800_000_000)
    signer = Signer(store, issuer=ISSUER, clock=clock)
    doc = metadata(signer=signer, signed_ttl=3600, max_age=900, clock=clock,
                   scopes_supported=["mcp:tools"])  # fmt: skip
    signed = doc.document["signed_metadata"]
    verified = Validator(store, issuer=ISSUER, audience=NO_AUDIENCE, clock=clock).validate(signed)
    assert verified.claims["resource"] == RESOURCE
    assert verified.claims["scopes_supported"] == ["mcp:tools"]
    assert verified.claims["iss"] == ISSUER and "signed_metadata" not in verified.claims
    first = doc.answer().body
    clock.advance(1799)
    assert doc.answer().body == first  # still fresh
    clock.advance(1)
    assert doc.document["signed_metadata"] != signed  # re-signed at half its life
    with pytest.raises(ConfigurationError, match="max_age"):
        metadata(signer=signer, signed_ttl=3600, max_age=901)


def test_a_guard_takes_the_document_or_a_url() -> None:
    store = MemoryKeyStore(KeySet.generate("ES256"))
    validator = Validator(store, issuer=ISSUER, audience=RESOURCE)
    doc = metadata()
    guard = Guard(validator, resource_metadata=doc)
    assert guard.metadata is doc and guard.resource_metadata == doc.url
    assert f'resource_metadata="{doc.url}"' in (guard.answer(None).header("WWW-Authenticate") or "")
    by_url = Guard(validator, resource_metadata=doc.url)
    assert by_url.metadata is None and by_url.resource_metadata == doc.url
    with pytest.raises(ConfigurationError, match="ProtectedResourceMetadata") as info:
        Guard(validator, resource_metadata=42)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError


# --- served by the middleware, on real servers -------------------------------------------------


def _get(base: str, path: str, method: str = "GET", **headers: str
         ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def guard() -> Guard:
    store = MemoryKeyStore(KeySet.generate("ES256"))
    validator = Validator(store, issuer=ISSUER, audience=RESOURCE)
    return Guard(validator, realm="mcp", resource_metadata=metadata(scopes_supported=["mcp"]))


async def _asgi_inner(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    raise AssertionError("the app must not be reached without a token")


def _wsgi_inner(environ: Any, start_response: Any) -> list[bytes]:  # pragma: no cover
    raise AssertionError("the app must not be reached without a token")


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def served(request: pytest.FixtureRequest, guard: Guard) -> Iterator[str]:
    if request.param == "asgi":
        with uvicorn_server(asgi.TokenMiddleware(_asgi_inner, guard), lifespan="off") as url:
            yield url
    else:
        with wsgi_server(wsgi.TokenMiddleware(_wsgi_inner, guard)) as url:
            yield url


def test_the_middleware_serves_the_document_without_a_token(served: str, guard: Guard) -> None:
    document = guard.metadata
    assert isinstance(document, ProtectedResourceMetadata)
    status, headers, body = _get(served, WELL_KNOWN)
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == dict(document.document)
    assert headers["cache-control"] == f"public, max-age={DEFAULT_METADATA_MAX_AGE}"
    status, again, body = _get(served, WELL_KNOWN, **{"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")
    status, head, body = _get(served, WELL_KNOWN, "HEAD")
    assert status == 200 and body == b"" and head["etag"] == headers["etag"]
    assert _get(served, WELL_KNOWN, "POST")[0] == 405


def test_other_paths_still_need_a_token_and_name_the_document(served: str, guard: Guard) -> None:
    for path in ("/mcp", WELL_KNOWN + "/", "/.well-known/oauth-protected-resource"):
        status, headers, _ = _get(served, path)
        assert status == 401, path
        assert headers["www-authenticate"] == (
            f'Bearer realm="mcp", resource_metadata="https://mcp.example.com{WELL_KNOWN}"'
        )
