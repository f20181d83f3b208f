"""docs/frameworks/*.md: every Python block of each page runs, in order, in one namespace; the
app the page builds is then served by a real server on loopback and answers as the page says."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support import DOCS, docs
from tests.support.app_servers import aiohttp_server, uvicorn_server, wsgi_server

PAGES = DOCS / "frameworks"


def run_page(name: str) -> dict[str, Any]:
    return docs.run_page(PAGES / name)


def call(base_url: str, method: str, path: str, token: str | None = None
         ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        return (
            answer.status,
            {k.lower(): v for k, v in answer.getheaders()},
            (json.loads(body) if body else None),
        )
    finally:
        conn.close()


def test_the_overview_page_runs() -> None:
    assert "transport" in run_page("index.md")


def test_the_asgi_page(tmp_path: Path) -> None:
    page = run_page("asgi.md")
    with uvicorn_server(page["app"], lifespan="on") as url:
        status, headers, _ = call(url, "GET", "/orders")
        assert status == 401
        assert headers["www-authenticate"] == 'Bearer realm="orders-api", scope="orders:read"'
        assert call(url, "GET", "/orders", page["token"])[::2] == (
            200, {"sub": "user-1", "scopes": ["orders:read"]})  # fmt: skip
        assert call(url, "GET", "/health")[::2] == (200, {"status": "ok"})


def test_the_wsgi_page() -> None:
    page = run_page("wsgi.md")
    with wsgi_server(page["app"]) as url:
        assert call(url, "GET", "/orders")[0] == 401
        assert call(url, "GET", "/orders", page["token"])[::2] == (
            200, {"sub": "user-1", "scopes": ["orders:read"]})  # fmt: skip
        assert call(url, "GET", "/health")[0] == 200
    with wsgi_server(page["cancel_order"]) as url:
        status, headers, body = call(url, "DELETE", "/orders/7", page["token"])
        assert status == 403 and body["error"] == "insufficient_scope"
        assert 'scope="orders:read orders:write"' in headers["www-authenticate"]
        writer = page["signer"].issue("user-1", audience="orders-api",
                                      scopes=["orders:read", "orders:write"])  # fmt: skip
        assert call(url, "DELETE", "/orders/7", writer)[0] == 204


def test_the_fastapi_page() -> None:
    page = run_page("fastapi.md")
    token = page["token"]
    with uvicorn_server(page["app"]) as url:
        assert call(url, "GET", "/orders", token)[::2] == (200, {"sub": "user-1"})
        status, headers, _ = call(url, "POST", "/orders", token)
        assert status == 403 and 'scope="orders:write"' in headers["www-authenticate"]
        status, headers, _ = call(url, "GET", "/admin/stats")
        assert status == 401 and headers["www-authenticate"] == (
            'Bearer realm="orders-api", scope="admin"')  # fmt: skip
        assert call(url, "GET", "/health")[0] == 200
        document = call(url, "GET", "/openapi.json")[2]
        assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        assert document["paths"]["/orders"]["post"]["security"] == [{"bearerAuth": []}]
    with uvicorn_server(page["starlette_app"]) as url:
        assert call(url, "GET", "/orders", token)[::2] == (200, {"sub": "user-1"})
        assert call(url, "GET", "/orders")[0] == 401
        status, headers, _ = call(url, "GET", "/reports/", token)
        assert status == 403 and 'scope="reports:read"' in headers["www-authenticate"]


def test_the_aiohttp_page() -> None:
    page = run_page("aiohttp.md")
    with aiohttp_server(page["make_app"]()) as url:
        assert call(url, "GET", "/orders")[0] == 401
        assert call(url, "GET", "/orders", page["token"])[::2] == (
            200, {"sub": "user-1", "scopes": ["orders:read"]})  # fmt: skip
        assert call(url, "GET", "/health")[0] == 200


def test_the_howto_errors_wsgi_heart_answers(tmp_path: Path) -> None:
    """docs/howto-errors.md shows the heart of examples/wsgi_api.py: it runs and answers."""
    from tokensmith import KeySet, MemoryKeyStore, Signer, Validator

    page = DOCS / "howto-errors.md"
    heart = page.read_text(encoding="utf-8").split("## A complete WSGI example", 1)[1]
    block = next(b for b in docs.blocks(page) if b.code in heart)
    namespace: dict[str, Any] = {}
    exec(compile(block.code, str(page), "exec"), namespace)
    store = MemoryKeyStore(KeySet.generate("ES256"))
    validator = Validator(store, issuer="https://auth.example.com", audience="orders-api")
    token = Signer(store, issuer="https://auth.example.com").issue(
        "user-1", audience="orders-api", scopes=["orders:read"]
    )

    def handler(environ: Any, start_response: Any, verified: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"sub": verified.subject}).encode()]

    with wsgi_server(namespace["protected"](validator, "orders:read", handler)) as url:
        assert call(url, "GET", "/orders", token)[::2] == (200, {"sub": "user-1"})
        assert call(url, "GET", "/orders")[0] == 401
    with wsgi_server(namespace["protected"](validator, "orders:write", handler)) as url:
        assert call(url, "GET", "/orders", token)[0] == 403
