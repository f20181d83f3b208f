"""The README and docs/quickstart.md: what someone with only ``pip install tokensmith`` reads
first. Their code runs (tests/docs/test_code_blocks.py); here the apps they build are served on
loopback and answer as the text around them says, and the README keeps the sections a package
page needs and the two developer commands CI runs verbatim."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.integrations.scenarios import request
from tests.support import DOCS, ROOT
from tests.support.docs import run_page
from tests.support.werkzeug_server import serving

README = ROOT / "README.md"
CHALLENGE = 'Bearer realm="orders-api", scope="orders:read"'


def answers(app: Any, issue: Any, path: str) -> dict[str, tuple[int, str, Any]]:
    """What the app answers: without a token, with a good one, a lower-case scheme, a refused
    one, one without the scope, and a token in the URL query."""
    good = issue(["orders:read"])
    cases = {
        "none": [],
        "good": [("Authorization", f"Bearer {good}")],
        "lower-case": [("Authorization", f"bearer {good}")],
        "refused": [("Authorization", "Bearer not.a.token")],
        "no scope": [("Authorization", f"Bearer {issue([])}")],
    }
    found = {}
    with serving(app) as url:
        for name, headers in cases.items():
            status, received, body = request(url, path, headers)
            found[name] = (status, received.get("www-authenticate", [""])[0], body)
        status, received, body = request(url, path, [], query=f"access_token={good}")
        found["query"] = (status, received.get("www-authenticate", [""])[0], body)
    return found


def check(found: dict[str, tuple[int, str, Any]], user: dict[str, str]) -> None:
    assert found["none"][:2] == (401, CHALLENGE)
    assert found["good"][0] == 200 and json.loads(found["good"][2]) == user
    assert found["lower-case"][0] == 200
    assert found["refused"][0] == 401 and 'error="invalid_token"' in found["refused"][1]
    assert found["no scope"][0] == 403 and 'error="insufficient_scope"' in found["no scope"][1]
    assert found["query"][0] == 400
    for status, challenge, body in found.values():
        assert "eyJ" not in challenge and b"eyJ" not in body  # never a token in an answer


def test_the_readme_app_answers_as_the_readme_says() -> None:
    page = run_page(README)
    signer = page["signer"]

    def issue(scopes: list[str]) -> str:
        return str(signer.issue("user-123", audience="orders-api", scopes=scopes))

    check(answers(page["app"], issue, "/orders"), {"user": "user-123"})
    text = README.read_text(encoding="utf-8")
    assert f"`WWW-Authenticate: {CHALLENGE}`" in text.replace("\n", " ")


def test_the_quickstart_app_answers_as_the_page_says() -> None:
    page = run_page(DOCS / "quickstart.md")
    signer = page["signer"]

    def issue(scopes: list[str]) -> str:
        return str(signer.issue("user-123", audience="orders-api", scopes=scopes))

    check(answers(page["orders"], issue, "/"), {"user": "user-123"})


def test_the_readme_is_a_package_page_first() -> None:
    text = README.read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == [
        "Install",
        "Quickstart",
        "Security defaults",
        "What else is in the box",
        "Documentation",
        "Working on tokensmith",
    ]
    before_working = text.split("## Working on tokensmith")[0]
    assert "pip install tokensmith" in before_working
    assert "tools/" not in before_working  # not shipped in the wheel
    assert "KeySet.generate" not in before_working  # its store cannot rotate()
    for command in (  # CI runs these verbatim
        "python3 tools/run.py demo    # the end-to-end tour: issue, validate, refuse, rotate, "
        "revoke, JWKS",
        "python3 tools/run.py test    # lint, types, docs, build, then the suite on every "
        "supported Python",
    ):
        assert command in text
    for page in re.findall(r"`(docs/[\w/-]+\.md)`", text):
        assert (ROOT / page).is_file(), page
