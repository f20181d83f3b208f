"""docs/frameworks/mcp.md end to end: the page's MCP server (the ``mcp`` package, streamable
HTTP) behind tokensmith, served by uvicorn on loopback, driven by real MCP JSON-RPC requests:
401 with the challenge, metadata discovery at the well-known URL, a token from a tokensmith
issuer, 200 on a tool call, 403 ``insufficient_scope``, 401 for a token of another resource;
then the SDK's own client in the default session mode, through the same middleware.

The page is written for ``mcp`` 2 (``MCPServer``). ``mcp`` 2 needs pyjwt >= 2.10.1 and
typing-extensions >= 4.13, above tokensmith's tested minimums, so the run on the minimum
versions (constraints/minimum.txt, Python 3.11) resolves ``mcp`` 1.12, which does not even
import with typing-extensions 4.10 (a ``TypeError`` in its generics): this test is skipped
there, whatever the import fails with.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

try:
    import mcp.server.mcpserver  # noqa: F401 - only whether it imports
except Exception as exc:  # noqa: BLE001 - mcp 1.x under the minimum pins raises TypeError
    pytest.skip(
        f"the MCP page needs mcp 2 (the minimum-versions run has mcp 1.x: {type(exc).__name__})",
        allow_module_level=True,
    )

from tests.support import DOCS  # noqa: E402
from tests.support.app_servers import uvicorn_server  # noqa: E402
from tests.support.docs import run_page  # noqa: E402

HOST = "mcp.example.com"  # the page's public host name, which the MCP SDK checks
WELL_KNOWN = "/.well-known/oauth-protected-resource/mcp"
METADATA_URL = f"https://{HOST}{WELL_KNOWN}"
PROTOCOL = "2025-06-18"


def rpc(base: str, method: str, params: dict[str, Any] | None = None, token: str | None = None
        ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    """One MCP JSON-RPC request over streamable HTTP: status, headers, the JSON body."""
    headers = {
        "Host": HOST,
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL,
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return _exchange(base, "POST", "/mcp", json.dumps(message).encode(), headers)


def _exchange(base: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
              ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        received = {k.lower(): v for k, v in response.getheaders()}
        is_json = received.get("content-type", "").startswith("application/json")
        return response.status, received, (json.loads(raw) if raw and is_json else raw)
    finally:
        conn.close()


def test_the_mcp_page_protects_a_real_mcp_server() -> None:
    page = run_page(DOCS / "frameworks" / "mcp.md")
    signer, metadata = page["signer"], page["metadata"]
    assert metadata.url == METADATA_URL
    with uvicorn_server(page["app"], lifespan="on") as base:
        # 1. no token: 401 and the challenge that starts discovery
        status, headers, body = rpc(base, "tools/list")
        assert status == 401 and body == {"error": "unauthorized"}
        assert headers["www-authenticate"] == (
            f'Bearer realm="mcp", scope="mcp:tools", resource_metadata="{METADATA_URL}"'
        )
        # 2. discovery: the document at the well-known URL, no token needed
        status, headers, document = _exchange(base, "GET", WELL_KNOWN, None, {"Host": HOST})
        assert status == 200 and headers["content-type"] == "application/json"
        assert document == {
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": ["https://auth.example.com"],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["mcp:tools"],
            "resource_name": "Calculator",
        }
        # 3. a token from the tokensmith issuer, for this resource: the MCP session works
        token = page["token"]
        client = {"name": "test", "version": "1"}
        status, _, body = rpc(base, "initialize", {"protocolVersion": PROTOCOL,
                              "capabilities": {}, "clientInfo": client}, token)  # fmt: skip
        assert status == 200 and body["result"]["serverInfo"]["name"] == "calculator"
        status, _, body = rpc(base, "tools/list", token=token)
        assert status == 200 and [tool["name"] for tool in body["result"]["tools"]] == ["add"]
        status, _, body = rpc(base, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}},
                              token)  # fmt: skip
        assert status == 200 and body["result"]["structuredContent"] == {"result": 5}
        # 4. a token for this resource without the scope: 403 insufficient_scope
        issue = page["issue_access_token"]
        weak = issue(signer, client_id="c", subject="user-1", audience=metadata.resource,
                     scopes=["profile"]).token  # fmt: skip
        status, headers, body = rpc(base, "tools/list", token=weak)
        assert status == 403 and body["error"] == "insufficient_scope"
        challenge = headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge and 'scope="mcp:tools"' in challenge
        assert f'resource_metadata="{METADATA_URL}"' in challenge
        # 5. a token for another resource, or for another spelling of this one: 401
        for audience in ("https://other.example.com/mcp", "https://MCP.example.com:443/mcp"):
            foreign = issue(signer, client_id="c", subject="user-1", audience=audience,
                            scopes=["mcp:tools"]).token  # fmt: skip
            status, headers, body = rpc(base, "tools/list", token=foreign)
            assert status == 401 and body["error"] == "invalid_token"
            assert f'resource_metadata="{METADATA_URL}"' in headers["www-authenticate"]
        # the MCP SDK's own Host check stays on behind the middleware
        status, _, _ = _exchange(base, "POST", "/mcp", b"{}", {
            "Host": "evil.example", "Authorization": f"Bearer {token}",
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})  # fmt: skip
        assert 400 <= status < 500


def test_the_starlette_route_of_the_page_answers_like_the_middleware() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    page = run_page(DOCS / "frameworks" / "mcp.md")
    metadata = page["metadata"]
    app = Starlette(routes=[Route(metadata.path, page["protected_resource_metadata"])])
    with uvicorn_server(app) as base:
        status, headers, document = _exchange(base, "GET", WELL_KNOWN, None, {})
        assert status == 200 and document["resource"] == metadata.resource
        assert headers["content-type"] == "application/json"
        assert headers["cache-control"] == "public, max-age=3600"
        etag = {"If-None-Match": headers["etag"]}
        assert _exchange(base, "GET", WELL_KNOWN, None, etag)[0] == 304


def test_the_sdks_own_client_in_session_mode_through_the_middleware() -> None:
    """The MCP SDK's client, with its default stateful transport (sessions, SSE), carrying the
    token on every request: the middleware is transparent to it."""
    import asyncio

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.server.transport_security import TransportSecuritySettings

    from tokensmith.integrations.asgi import TokenMiddleware

    page = run_page(DOCS / "frameworks" / "mcp.md")
    settings = TransportSecuritySettings(allowed_hosts=[HOST])
    app = TokenMiddleware(page["mcp"].streamable_http_app(transport_security=settings),
                          guard=page["guard"])  # fmt: skip

    async def call(base: str) -> Any:
        headers = {"Authorization": f"Bearer {page['token']}", "Host": HOST}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
        ):
            listed = await client.list_tools()
            assert [tool.name for tool in listed.tools] == ["add"]
            return (await client.call_tool("add", {"a": 2, "b": 40})).structured_content

    with uvicorn_server(app, lifespan="on") as base:
        assert asyncio.run(call(base)) == {"result": 42}
