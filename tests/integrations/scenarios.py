"""The one table of requests every framework adapter must answer alike, and its driver.

Each adapter's test serves a real app on a loopback port with a real server, protecting
``GET /orders`` with ``scopes=["orders:read"]`` through ``make_guard(world)`` (or the adapter's
own constructor given the same validator, realm, scopes, transport and ``resource_metadata``), answering 200 with a
JSON body ``{"sub": <subject>}`` when the token is accepted. Then it calls
``run_table(base_url, world)``, which sends every scenario with http.client and checks the
status, the ``WWW-Authenticate`` challenge and that no answer contains the token.

The apps see every request from 127.0.0.1, which ``make_guard`` lists as a trusted proxy: so
plain HTTP counts only when the "proxy" says ``X-Forwarded-Proto: https`` (every scenario but
the plain-HTTP ones sends it), which lets a loopback test exercise the transport rule.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import forge
from tokensmith import (
    BackendUnavailable,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    Validator,
    VerifiedToken,
)
from tokensmith.web import Guard, TransportSecurity

REALM = "orders"
SCOPE = "orders:read"
PATH = "/orders"
PROXIES = ("127.0.0.1", "::1")
METADATA_URL = "https://orders.example.test/.well-known/oauth-protected-resource/orders"
"""The RFC 9728 metadata every guard under test names: every challenge must carry it."""


class _Revocations(MemoryRevocationList):
    """A memory revocation list whose backend is "down" for tokens of subject ``outage``."""

    def is_revoked(self, token: VerifiedToken) -> bool:
        if token.subject == "outage":
            raise BackendUnavailable("the revocation backend is down")
        return super().is_revoked(token)


@dataclass
class World:
    """The keys, validator and tokens every scenario uses (real time: servers run for real)."""

    store: MemoryKeyStore = field(default_factory=lambda: MemoryKeyStore(KeySet.generate("ES256")))
    revocations: _Revocations = field(default_factory=_Revocations)
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        signer = Signer(self.store, issuer=ISSUER, ttl=600)
        past = Signer(self.store, issuer=ISSUER, ttl=60, clock=lambda: time.time() - 3600)
        stranger = Signer(MemoryKeyStore(KeySet.generate("ES256")), issuer=ISSUER)
        self.tokens = {
            "valid": signer.issue("user-1", audience=AUDIENCE, scopes=[SCOPE]),
            "other_scope": signer.issue("user-1", audience=AUDIENCE, scopes=["orders:write"]),
            "expired": past.issue("user-1", audience=AUDIENCE, scopes=[SCOPE]),
            "wrong_audience": signer.issue("user-1", audience="billing-api", scopes=[SCOPE]),
            "foreign_key": stranger.issue("user-1", audience=AUDIENCE, scopes=[SCOPE]),
            "alg_none": forge(
                {"alg": "none", "typ": "JWT"},
                {
                    "iss": ISSUER,
                    "aud": AUDIENCE,
                    "sub": "user-1",
                    "scope": SCOPE,
                    "exp": int(time.time()) + 600,
                },
            ),  # fmt: skip
            "revoked": signer.issue("user-2", audience=AUDIENCE, scopes=[SCOPE]),
            "outage": signer.issue("outage", audience=AUDIENCE, scopes=[SCOPE]),
        }
        revoked = self.validator.validate(self.tokens["revoked"])
        self.revocations.revoke(revoked.jti or "", issuer=ISSUER, expires_at=time.time() + 600)

    @property
    def validator(self) -> Validator:
        return Validator(self.store, issuer=ISSUER, audience=AUDIENCE, revocation=self.revocations)

    def transport(self) -> TransportSecurity:
        """Every request comes from loopback, treated as a trusted TLS-terminating proxy."""
        return TransportSecurity(trusted_proxies=PROXIES)


def make_guard(world: World) -> Guard:
    """The guard every adapter under test is configured like."""
    return Guard(world.validator, realm=REALM, scopes=[SCOPE], transport=world.transport(),
                 resource_metadata=METADATA_URL)  # fmt: skip


HTTPS = ("X-Forwarded-Proto", "https")


@dataclass(frozen=True)
class Scenario:
    name: str
    status: int
    error: str | None  # the challenge's error=, None for a bare challenge / no challenge
    headers: Callable[[World], list[tuple[str, str]]]
    query: Callable[[World], str] = lambda world: ""


def _bearer(name: str, scheme: str = "Bearer") -> Callable[[World], list[tuple[str, str]]]:
    return lambda world: [("Authorization", f"{scheme} {world.tokens[name]}"), HTTPS]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("missing header", 401, None, lambda w: [HTTPS]),
    Scenario("basic scheme", 401, None, lambda w: [("Authorization", "Basic dXNlcjpwdw=="), HTTPS]),
    Scenario(
        "garbage", 401, "invalid_token", lambda w: [("Authorization", "Bearer abc.def"), HTTPS]
    ),
    Scenario("valid", 200, None, _bearer("valid")),
    Scenario("lower-case scheme", 200, None, _bearer("valid", "bearer")),
    Scenario("missing scope", 403, "insufficient_scope", _bearer("other_scope")),
    Scenario("expired", 401, "invalid_token", _bearer("expired")),
    Scenario("wrong audience", 401, "invalid_token", _bearer("wrong_audience")),
    Scenario("foreign key", 401, "invalid_token", _bearer("foreign_key")),
    Scenario("alg none", 401, "invalid_token", _bearer("alg_none")),
    Scenario("revoked", 401, "invalid_token", _bearer("revoked")),
    Scenario(
        "two authorization headers",
        400,
        "invalid_request",
        lambda w: [("Authorization", f"Bearer {w.tokens['valid']}")] * 2 + [HTTPS],
    ),
    Scenario(
        "token in the query",
        400,
        "invalid_request",
        lambda w: [HTTPS],
        lambda w: f"access_token={w.tokens['valid']}",
    ),
    Scenario("backend down", 503, None, _bearer("outage")),
    Scenario(
        "plain http through the proxy",
        400,
        "invalid_request",
        lambda w: [("Authorization", f"Bearer {w.tokens['valid']}"), ("X-Forwarded-Proto", "http")],
    ),
    Scenario(
        "plain http, no proxy header",
        400,
        "invalid_request",
        lambda w: [("Authorization", f"Bearer {w.tokens['valid']}")],
    ),
)

_PARAM = re.compile(r'([a-z_]+)="([^"]*)"')


def request(
    base_url: str, path: str, headers: list[tuple[str, str]], query: str = ""
) -> tuple[int, dict[str, list[str]], bytes]:
    """One real HTTP/1.1 GET: status, headers (names lower-case), body."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.putrequest("GET", path + (f"?{query}" if query else ""))
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        received: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            received.setdefault(name.lower(), []).append(value)
        return response.status, received, response.read()
    finally:
        conn.close()


def check(scenario: Scenario, world: World, status: int, headers: dict[str, list[str]],
          body: bytes) -> None:  # fmt: skip
    """Assert one answer; the message names the scenario."""
    what = f"{scenario.name}: {status} {headers.get('www-authenticate')} {body[:200]!r}"
    assert status == scenario.status, what
    everything = json.dumps(headers) + body.decode("latin-1")
    for token in world.tokens.values():
        assert token not in everything, f"{scenario.name}: a token is in the answer"
    challenges = headers.get("www-authenticate", [])
    if status == 200:
        assert json.loads(body) == {"sub": "user-1"}, what
        return
    if status == 503:
        assert headers.get("retry-after"), what
        assert not challenges, what
        return
    assert len(challenges) == 1, what
    challenge = challenges[0]
    assert challenge.startswith("Bearer "), what
    params = dict(_PARAM.findall(challenge))
    assert params.get("realm") == REALM, what
    assert params.get("error") == scenario.error, what
    assert params.get("resource_metadata") == METADATA_URL, what
    if scenario.error == "insufficient_scope":
        assert SCOPE in params.get("scope", "").split(), what


def run_table(base_url: str, world: World, *, path: str = PATH) -> list[str]:
    """Send every scenario to ``base_url + path``; returns the names checked."""
    for scenario in SCENARIOS:
        status, headers, body = request(
            base_url, path, scenario.headers(world), scenario.query(world)
        )
        check(scenario, world, status, headers, body)
    return [s.name for s in SCENARIOS]
