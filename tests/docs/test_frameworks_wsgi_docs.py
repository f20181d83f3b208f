"""docs/frameworks/flask.md, django.md and drf.md run as written, and the apps they build answer
over real HTTP on loopback as the pages say.

* Flask: the page's blocks run in order in one namespace; its ``app`` is served by werkzeug.
* Django and DRF: each block starts with the file it belongs to (``# orders/views.py``); the
  test writes the project, and a fresh interpreter serves it (``DJANGO_SETTINGS_MODULE`` = the
  page's settings, Django's WSGI handler on werkzeug), printing its port and two tokens.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.integrations.scenarios import request
from tests.support import DOCS
from tests.support.docs import blocks, run_page
from tests.support.werkzeug_server import serving

PAGES = DOCS / "frameworks"


def call(url: str, method: str, path: str, token: str | None = None) -> tuple[int, str, Any]:
    """Status, the challenge (or ""), and the JSON body of one real request."""
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {})
        answer = conn.getresponse()
        body = answer.read()
        challenge = answer.getheader("WWW-Authenticate") or ""
        return answer.status, challenge, json.loads(body) if body else None
    finally:
        conn.close()


def check_orders_api(url: str, reader: str, writer: str, *, create: str) -> None:
    """What every page promises about its orders API."""
    status, challenge, _ = call(url, "GET", "/orders")
    assert (status, challenge) == (401, 'Bearer realm="orders-api", scope="orders:read"')
    status, _, body = call(url, "GET", "/orders", reader)
    assert status == 200 and body["sub"] == "user-1"
    status, challenge, body = call(url, "POST", create, reader)
    assert status == 403 and body["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in challenge and 'scope="orders:write"' in challenge
    assert call(url, "POST", create, writer)[::2] == (201, {"created_by": "user-1"})
    status, challenge, _ = call(url, "GET", "/orders", "not.a.token")
    assert status == 401 and 'error="invalid_token"' in challenge
    assert call(url, "GET", "/health")[0] == 200
    assert request(url, "/orders", [], query=f"access_token={reader}")[0] == 400


def test_the_flask_page() -> None:
    namespace = run_page(PAGES / "flask.md")
    signer = namespace["signer"]
    reader = signer.issue("user-1", audience="orders-api", scopes=["orders:read"])
    writer = signer.issue("user-1", audience="orders-api", scopes=["orders:write"])
    with serving(namespace["app"]) as url:
        check_orders_api(url, reader, writer, create="/orders")
        assert call(url, "GET", "/orders", reader)[2] == {
            "sub": "user-1",
            "scopes": ["orders:read"],
        }


# --- Django and DRF: a real project from the page's files, served by a fresh interpreter ------

_SERVE = """
import importlib, json, sys
from django.core.wsgi import get_wsgi_application
from werkzeug.serving import WSGIRequestHandler, make_server

class Quiet(WSGIRequestHandler):
    def log(self, *args):
        pass

app = get_wsgi_application()
signer = importlib.import_module(sys.argv[1]).signer
def issue(*scopes):
    return signer.issue("user-1", audience="orders-api", scopes=list(scopes))
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
print(json.dumps({"port": server.server_port, "reader": issue("orders:read"),
                  "writer": issue("orders:read", "orders:write")}), flush=True)
server.serve_forever()
"""


def write_project(page: str, root: Path) -> list[str]:
    """Write the page's file blocks under ``root``; returns the files' paths."""
    written = []
    for block in blocks(PAGES / page):
        if block.fragment is not None:
            compile(block.code, block.where, "exec")
            continue
        assert block.file, f"{block.where}: a block that names no file"
        target = root / block.file
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / "__init__.py").touch()
        target.write_text(block.code, encoding="utf-8")
        written.append(block.file)
    return written


@contextmanager
def served_project(page: str, package: str, root: Path) -> Iterator[dict[str, Any]]:
    files = write_project(page, root)
    assert {f"{package}/{n}.py" for n in ("security", "settings", "views", "urls")} <= set(files)
    (root / "serve.py").write_text(_SERVE, encoding="utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": f"{package}.settings"}
    errors = (root / "stderr.txt").open("w")
    process = subprocess.Popen(
        [sys.executable, "serve.py", f"{package}.security"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, (root / "stderr.txt").read_text()
        started = json.loads(line)
        started["url"] = f"http://127.0.0.1:{started['port']}"
        yield started
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]
        errors.close()


def token_as_the_page_makes_it(page: str, root: Path) -> str:
    """Run the page's ``python -c '...'`` token command, in another process, as written."""
    (command,) = re.findall(r"python -c '(.*?)'", (PAGES / page).read_text(encoding="utf-8"))
    done = subprocess.run(
        [sys.executable, "-c", command], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_django_page(tmp_path: Path) -> None:
    with served_project("django.md", "orders", tmp_path) as project:
        url = project["url"]
        check_orders_api(url, project["reader"], project["writer"], create="/orders/new")
        assert call(url, "GET", "/health")[2] == {"status": "ok", "signed_in": False}
        token = token_as_the_page_makes_it("django.md", tmp_path)  # the keys are shared
        assert call(url, "GET", "/orders", token)[0] == 200
        assert call(url, "GET", "/health", project["reader"])[2]["signed_in"] is True
        status, challenge, _ = call(url, "GET", "/health", "not.a.token")
        assert status == 401 and 'error="invalid_token"' in challenge  # the middleware


def test_the_drf_page(tmp_path: Path) -> None:
    with served_project("drf.md", "shop", tmp_path) as project:
        url = project["url"]
        check_orders_api(url, project["reader"], project["writer"], create="/orders/new")
        assert call(url, "GET", "/orders", project["reader"])[2] == {
            "sub": "user-1",
            "user": "user-1",
        }
        token = token_as_the_page_makes_it("drf.md", tmp_path)
        assert call(url, "GET", "/orders", token)[0] == 200
