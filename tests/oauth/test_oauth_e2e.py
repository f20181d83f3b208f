"""End to end: a tiny authorization server + resource server built only from tokensmith pieces,
on a real stdlib HTTP server on loopback, driven by real HTTP clients."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tokensmith import (
    UNSAFE_ANY_AUDIENCE,
    AuditEvent,
    BackendUnavailable,
    Key,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    TokenError,
)
from tokensmith.errors import (
    AuthorizationCodeReused,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from tokensmith.oauth import (
    ACCESS_TOKEN_TYPE,
    CLIENT_ASSERTION_TYPE,
    AuthorizationCodes,
    Client,
    IDTokenValidator,
    OAuthResponse,
    access_token_validator,
    authenticate_client,
    client_credentials_grant,
    code_challenge,
    create_client_assertion,
    error_response,
    generate_code_verifier,
    generate_nonce,
    generate_state,
    grant_scopes,
    introspection_response,
    parse_scope,
    revocation_response,
    secrets_equal,
    token_hash,
    token_response,
    verify_state,
)
from tokensmith.refresh import MemoryRefreshStore, RefreshManager
from tokensmith.replay import MemoryJtiReplayStore
from tokensmith.testing import FakeClock

API = "orders-api"
REDIRECT = "https://spa.example.test/callback"


@dataclass
class AuthServer:
    """State of the authorization server + resource server (one process, memory backends)."""

    clock: FakeClock
    issuer: str = ""
    store: MemoryKeyStore = field(init=False)
    signer: Signer = field(init=False)
    revocations: MemoryRevocationList = field(init=False)
    codes: AuthorizationCodes = field(init=False)
    replay: MemoryJtiReplayStore = field(init=False)
    clients: dict[str, Client] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    client_keys: dict[str, MemoryKeyStore] = field(default_factory=dict)
    sessions: RefreshManager = field(init=False)
    code_sessions: dict[str, str] = field(default_factory=dict)  # code grant_id -> family sid
    events: list[AuditEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = MemoryKeyStore(KeySet.generate("ES256"), clock=self.clock)
        self.revocations = MemoryRevocationList(clock=self.clock)
        self.codes = AuthorizationCodes(clock=self.clock)
        self.replay = MemoryJtiReplayStore(clock=self.clock)

    def start(self, issuer: str) -> None:
        self.issuer = issuer
        self.signer = Signer(self.store, issuer=issuer, ttl=300, clock=self.clock)
        self.sessions = RefreshManager(
            MemoryRefreshStore(clock=self.clock),
            self.signer,
            access_ttl=300,
            idle_ttl=3600,
            absolute_ttl=86400,
            revocation=self.revocations,  # reuse revokes the family's access tokens here
            audit=self.events.append,
            clock=self.clock,
            token_type=ACCESS_TOKEN_TYPE,  # RFC 9068, like every other access token here
        )
        self.validator = access_token_validator(
            self.store, issuer=issuer, audience=API, clock=self.clock, revocation=self.revocations
        )
        self.introspector = access_token_validator(
            self.store,
            issuer=issuer,
            audience=UNSAFE_ANY_AUDIENCE,
            clock=self.clock,
            revocation=self.revocations,
        )  # the AS's introspection and revocation endpoints serve every audience

    # --- client authentication -----------------------------------------------------------

    def basic_client(self, headers: Any) -> Client | None:
        value = headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            client_id, _, secret = (
                base64.b64decode(value[6:], validate=True).decode().partition(":")
            )
        except ValueError:
            return None
        expected = self.secrets.get(client_id)
        if expected is None or not secrets_equal(expected, secret):
            return None
        return self.clients[client_id]

    def public_client(self, form: dict[str, str]) -> Client | None:
        """A client without credentials names itself; a confidential one must authenticate."""
        client_id = form.get("client_id", "")
        if client_id in self.secrets or client_id in self.client_keys:
            return None
        return self.clients.get(client_id)

    def authenticate(self, headers: Any, form: dict[str, str]) -> Client:
        if "client_assertion" in form:
            client_id = authenticate_client(
                form,
                client_keys=self.client_keys.get,
                token_endpoint=self.issuer + "/token",
                replay_store=self.replay,
                clock=self.clock,
            )
            return self.clients[client_id]
        client = self.basic_client(headers)
        if client is None:
            raise InvalidClient("client authentication failed")
        return client

    # --- endpoints -----------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        client = self.clients.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if client is None or redirect_uri not in client.redirect_uris:
            return 400, {}  # never redirect to an unregistered URI
        reply: dict[str, str] = {"state": query.get("state", "")}
        if query.get("response_type") != "code":  # no implicit grant (RFC 9700)
            reply["error"] = "unsupported_response_type"
        else:
            try:
                scopes = grant_scopes(client, query.get("scope"))
                reply["code"] = self.codes.issue(
                    client_id=client.client_id,
                    redirect_uri=redirect_uri,
                    subject="alice",  # the user who just logged in
                    scopes=scopes,
                    code_challenge=query.get("code_challenge"),
                    code_challenge_method=query.get("code_challenge_method"),
                    nonce=query.get("nonce"),
                    auth_time=self.clock() - 5,
                )
            except OAuthError as exc:
                reply["error"] = exc.error
        return 302, {"Location": redirect_uri + "?" + urllib.parse.urlencode(reply)}

    def token(self, headers: Any, form: dict[str, str]) -> OAuthResponse:
        grant_type = form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                return self.code_grant(form)
            if grant_type == "client_credentials":
                client = self.authenticate(headers, form)
                return client_credentials_grant(self.signer, client, form)
            if grant_type == "refresh_token":
                return self.refresh_grant(headers, form)
            raise UnsupportedGrantType("unsupported grant_type")
        except OAuthError as exc:
            scheme = "Basic" if "Authorization" in headers else None
            return error_response(exc, auth_scheme=scheme)

    def code_grant(self, form: dict[str, str]) -> OAuthResponse:
        client_id = form.get("client_id", "")  # a public client identifies itself
        if client_id not in self.clients:
            raise InvalidClient("unknown client")
        try:
            grant = self.codes.redeem(
                form.get("code"),
                client_id=client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except AuthorizationCodeReused as exc:  # RFC 6749 §4.1.2: revoke what the code gave
            self.sessions.revoke_family(self.code_sessions[exc.grant_id])  # refresh + access
            raise
        # the login opens a refresh family; its id is the sid of every access token it issues
        pair = self.sessions.start(
            grant.subject, audience=API, scopes=grant.scopes, client_id=client_id
        )
        self.code_sessions[grant.grant_id] = pair.session_id
        id_claims: dict[str, Any] = {
            "auth_time": int(grant.auth_time or 0),
            "at_hash": token_hash(pair.access_token, "ES256"),
            "sid": pair.session_id,
        }
        if grant.nonce is not None:
            id_claims["nonce"] = grant.nonce
        id_token = self.signer.issue(grant.subject, audience=client_id, claims=id_claims)
        return token_response(
            pair.access, scopes=pair.scopes, refresh_token=pair.refresh_token, id_token=id_token
        )

    def refresh_grant(self, headers: Any, form: dict[str, str]) -> OAuthResponse:
        """RFC 6749 §6: rotate the refresh token; reuse revokes the family (RFC 9700 §4.14)."""
        if "Authorization" in headers or "client_assertion" in form:
            client = self.authenticate(headers, form)
        else:
            public = self.public_client(form)
            if public is None:
                raise InvalidClient("client authentication failed")
            client = public
        if "refresh_token" not in client.grant_types:
            raise UnauthorizedClient("this client may not use refresh tokens")
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise InvalidRequest("the refresh_token parameter is missing")
        pair = self.sessions.refresh(
            refresh_token,
            client_id=client.client_id,
            scopes=parse_scope(form.get("scope")) or None,  # may only narrow the grant
        )
        return token_response(pair.access, scopes=pair.scopes, refresh_token=pair.refresh_token)

    def api(self, headers: Any) -> tuple[int, dict[str, Any]]:
        auth = headers.get("Authorization", "")
        try:
            tok = self.validator.validate(auth.removeprefix("Bearer "), scopes=["orders:read"])
        except TokenError as exc:
            return exc.status_code, {"error": exc.error}
        except BackendUnavailable:
            return 503, {}
        return 200, {"orders": [], "for": tok.subject, "client": tok.client_id}


def make_handler(server: AuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def send(self, status: int, headers: Any, body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def send_oauth(self, response: OAuthResponse) -> None:
            status, headers, _ = response
            self.send(status, headers, response.body_bytes())

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/authorize":
                query = dict(urllib.parse.parse_qsl(url.query))
                status, headers = server.authorize(query)
                self.send(status, headers)
            elif url.path == "/jwks":
                self.send(
                    200,
                    {"Content-Type": "application/json"},
                    json.dumps(server.store.jwks()).encode(),
                )
            elif url.path == "/api/orders":
                status, body = server.api(self.headers)
                self.send(status, {"Content-Type": "application/json"}, json.dumps(body).encode())
            else:
                self.send(404, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if self.path == "/token":
                self.send_oauth(server.token(self.headers, form))
            elif self.path == "/introspect":
                caller = server.basic_client(self.headers)
                self.send_oauth(
                    introspection_response(form, caller=caller, validator=server.introspector)
                )
            elif self.path == "/revoke":  # RFC 7009 §2.1: a public client sends its client_id
                caller = (
                    server.basic_client(self.headers)
                    if "Authorization" in self.headers  # a failed login never falls back
                    else server.public_client(form)
                )
                self.send_oauth(
                    revocation_response(
                        form,
                        caller=caller,
                        validator=server.introspector,
                        revocations=server.revocations,
                        refresh_revoker=server.sessions.revoke,
                    )
                )
            else:
                self.send(404, {})

    return Handler


@pytest.fixture
def auth_server() -> Iterator[tuple[AuthServer, int]]:
    state = AuthServer(FakeClock(1_700_000_000.0))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    port = httpd.server_address[1]
    state.start(f"http://127.0.0.1:{port}")
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state, port
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class Http:
    """A minimal HTTP client: one connection per request, always closed."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            body = urllib.parse.urlencode(form).encode() if form is not None else None
            all_headers = dict(headers or {})
            if body is not None:
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            data = json.loads(raw) if raw else None
            return response.status, dict(response.getheaders()), data
        finally:
            conn.close()


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def login(http_client: Http, *, scope: str = "openid orders:read") -> dict[str, Any]:
    """The SPA's side of the code flow: PKCE + state + nonce, then the token request."""
    verifier, state, nonce = generate_code_verifier(), generate_state(), generate_nonce()
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": "spa",
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    status, headers, _ = http_client.request("GET", "/authorize?" + query)
    assert status == 302
    location = urllib.parse.urlsplit(headers["Location"])
    assert location._replace(query="").geturl() == REDIRECT
    reply = dict(urllib.parse.parse_qsl(location.query))
    verify_state(state, reply.get("state"))
    form = {
        "grant_type": "authorization_code",
        "code": reply["code"],
        "redirect_uri": REDIRECT,
        "client_id": "spa",
        "code_verifier": verifier,
    }
    status, headers, tokens = http_client.request("POST", "/token", form=form)
    assert status == 200, tokens
    assert headers["Cache-Control"] == "no-store"
    return {"tokens": tokens, "nonce": nonce, "form": form}


def register_clients(server: AuthServer) -> Key:
    server.clients["spa"] = Client(
        "spa",
        allowed_scopes=frozenset({"openid", "orders:read"}),
        audience=API,
        grant_types=frozenset({"authorization_code", "refresh_token"}),
        redirect_uris=(REDIRECT,),
    )
    server.clients["mobile"] = Client(  # another public client, to test the family's binding
        "mobile",
        allowed_scopes=frozenset({"orders:read"}),
        audience=API,
        grant_types=frozenset({"authorization_code", "refresh_token"}),
    )
    server.clients["billing"] = Client(
        "billing",
        allowed_scopes=frozenset({"orders:read"}),
        audience=API,
        default_scopes=frozenset({"orders:read"}),
    )
    server.secrets["billing"] = "billing-secret-0123456789"
    server.clients["reporter"] = Client(
        "reporter", allowed_scopes=frozenset({"orders:read"}), audience=API
    )
    reporter_key = Key.generate("ES256")
    server.client_keys["reporter"] = MemoryKeyStore(
        KeySet([reporter_key.public_key()]), clock=server.clock
    )
    server.clients[API] = Client(API)  # the resource server, for introspection
    server.secrets[API] = "api-secret-0123456789"
    return reporter_key


def remote_keys(http_client: Http, clock: FakeClock) -> MemoryKeyStore:
    status, _, jwks = http_client.request("GET", "/jwks")
    assert status == 200
    return MemoryKeyStore(KeySet([Key.from_jwk(jwk) for jwk in jwks["keys"]]), clock=clock)


def call_api(http_client: Http, access_token: str) -> tuple[int, Any]:
    status, _, body = http_client.request(
        "GET", "/api/orders", headers={"Authorization": f"Bearer {access_token}"}
    )
    return status, body


def refresh(
    http_client: Http, refresh_token: str, *, client_id: str = "spa", **extra: str
) -> tuple[int, dict[str, str], Any]:
    """The SPA (a public client: it sends its client_id, no secret) renews its tokens."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return http_client.request("POST", "/token", form={**form, **extra})


def session_id(server: AuthServer, access_token: str) -> str | None:
    return server.validator.validate(access_token).session_id


def test_authorization_code_pkce_login(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    result = login(client)
    tokens = result["tokens"]
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "openid orders:read"
    id_validator = IDTokenValidator(
        remote_keys(client, server.clock), issuer=server.issuer, client_id="spa", clock=server.clock
    )
    id_token = id_validator.validate(
        tokens["id_token"],
        nonce=result["nonce"],
        max_age=300,
        access_token=tokens["access_token"],
        require_hashes=True,
    )
    assert id_token.subject == "alice"
    assert call_api(client, tokens["access_token"]) == (
        200,
        {"orders": [], "for": "alice", "client": "spa"},
    )

    # the RS introspects; a stranger cannot
    status, _, body = client.request(
        "POST",
        "/introspect",
        form={"token": tokens["access_token"]},
        headers=basic(API, "api-secret-0123456789"),
    )
    assert status == 200 and body["active"] is True and body["sub"] == "alice"
    status, headers, body = client.request(
        "POST", "/introspect", form={"token": tokens["access_token"]}
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"].startswith("Basic")

    # replaying the code: refused, and the tokens it gave are revoked (RFC 6749 §4.1.2)
    status, _, body = client.request("POST", "/token", form=result["form"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert call_api(client, tokens["access_token"]) == (401, {"error": "invalid_token"})
    status, _, body = client.request(
        "POST",
        "/introspect",
        form={"token": tokens["access_token"]},
        headers=basic(API, "api-secret-0123456789"),
    )
    assert body == {"active": False}
    status, _, body = refresh(client, tokens["refresh_token"])  # the code's refresh token too
    assert (status, body["error"]) == (400, "invalid_grant")


def test_implicit_flow_is_refused_and_pkce_is_required(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    query = {
        "response_type": "token",
        "client_id": "spa",
        "redirect_uri": REDIRECT,
        "state": "s",
        "scope": "openid",
    }
    status, headers, _ = client.request("GET", "/authorize?" + urllib.parse.urlencode(query))
    assert status == 302 and "error=unsupported_response_type" in headers["Location"]
    assert "access_token" not in headers["Location"]
    query["response_type"] = "code"
    status, headers, _ = client.request("GET", "/authorize?" + urllib.parse.urlencode(query))
    assert "error=invalid_request" in headers["Location"]  # no code_challenge
    query["redirect_uri"] = "https://evil.example.test/cb"
    status, headers, _ = client.request("GET", "/authorize?" + urllib.parse.urlencode(query))
    assert status == 400 and "Location" not in headers


def test_client_credentials_service_call(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    status, headers, body = client.request(
        "POST",
        "/token",
        form={"grant_type": "client_credentials", "scope": "orders:read admin"},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert status == 200 and body["scope"] == "orders:read"
    assert (headers["Cache-Control"], headers["Pragma"]) == ("no-store", "no-cache")
    assert call_api(client, body["access_token"]) == (
        200,
        {"orders": [], "for": "billing", "client": "billing"},
    )

    # the client revokes its token; the API and introspection see it at once
    status, _, _ = client.request(
        "POST",
        "/revoke",
        form={"token": body["access_token"], "token_type_hint": "access_token"},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert status == 200
    assert call_api(client, body["access_token"]) == (401, {"error": "invalid_token"})

    status, headers, body = client.request(
        "POST",
        "/token",
        form={"grant_type": "client_credentials"},
        headers=basic("billing", "wrong"),
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"] == 'Basic realm="token"'
    status, _, body = client.request(
        "POST",
        "/token",
        form={"grant_type": "password"},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, _, body = client.request(
        "POST",
        "/token",
        form={"grant_type": "client_credentials", "scope": "admin"},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert (status, body["error"]) == (400, "invalid_scope")


def test_private_key_jwt_call(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    reporter_key = register_clients(server)
    client = Http(port)
    assertion = create_client_assertion(
        reporter_key, "reporter", server.issuer + "/token", clock=server.clock
    )
    form = {
        "grant_type": "client_credentials",
        "scope": "orders:read",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    status, _, body = client.request("POST", "/token", form=form)
    assert status == 200, body
    assert call_api(client, body["access_token"]) == (
        200,
        {"orders": [], "for": "reporter", "client": "reporter"},
    )
    status, _, body = client.request("POST", "/token", form=form)  # the same assertion again
    assert (status, body["error"]) == (401, "invalid_client")
    stranger = create_client_assertion(
        Key.generate("ES256"), "reporter", server.issuer + "/token", clock=server.clock
    )
    status, _, body = client.request("POST", "/token", form={**form, "client_assertion": stranger})
    assert (status, body["error"]) == (401, "invalid_client")


def test_refresh_rotation(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    first = login(client)["tokens"]
    assert first["refresh_token"].startswith("rt_") and first["expires_in"] == 300
    sid = session_id(server, first["access_token"])
    assert sid is not None

    server.clock.advance(60)
    status, headers, second = refresh(client, first["refresh_token"])
    assert status == 200, second
    assert (headers["Cache-Control"], headers["Pragma"]) == ("no-store", "no-cache")
    assert second["token_type"] == "Bearer" and second["scope"] == "openid orders:read"
    assert "id_token" not in second
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert session_id(server, second["access_token"]) == sid  # the same login session
    # rotation does not revoke: the old access token lives until its own exp
    for tokens in (first, second):
        assert call_api(client, tokens["access_token"]) == (
            200,
            {"orders": [], "for": "alice", "client": "spa"},
        )

    # a refresh may narrow the scopes, never widen them; a refused request spends nothing
    status, _, body = refresh(client, second["refresh_token"], scope="orders:read admin")
    assert (status, body["error"]) == (400, "invalid_scope")
    status, _, third = refresh(client, second["refresh_token"], scope="orders:read")
    assert (status, third["scope"]) == (200, "orders:read")
    status, _, fourth = refresh(client, third["refresh_token"])
    assert (status, fourth["scope"]) == (200, "openid orders:read")  # the family keeps it all

    # the family is bound to its client; refusals that spend nothing
    status, _, body = refresh(client, fourth["refresh_token"], client_id="mobile")
    assert (status, body["error"]) == (400, "invalid_grant")
    status, headers, body = refresh(client, fourth["refresh_token"], client_id="billing")
    assert (status, body["error"]) == (401, "invalid_client")  # confidential: must authenticate
    status, _, body = client.request(
        "POST",
        "/token",
        form={"grant_type": "refresh_token", "refresh_token": fourth["refresh_token"]},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert (status, body["error"]) == (400, "unauthorized_client")
    status, _, body = client.request(
        "POST", "/token", form={"grant_type": "refresh_token", "client_id": "spa"}
    )
    assert (status, body["error"]) == (400, "invalid_request")
    for garbage in ("rt_nonsense", first["access_token"]):
        status, _, body = refresh(client, garbage)
        assert (status, body["error"]) == (400, "invalid_grant")
    server.clock.advance(200)
    status, _, fifth = refresh(client, fourth["refresh_token"])
    assert status == 200, fifth
    assert call_api(client, first["access_token"])[0] == 200  # 260 s old, exp not reached

    # past the first access token's exp (+ the validator's 30 s leeway) it is refused
    server.clock.advance(100)
    assert call_api(client, first["access_token"]) == (401, {"error": "invalid_token"})
    assert call_api(client, fifth["access_token"])[0] == 200


def test_stolen_refresh_token_reuse_revokes_the_family(
    auth_server: tuple[AuthServer, int],
) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    first = login(client)["tokens"]
    sid = session_id(server, first["access_token"])
    stolen = first["refresh_token"]  # an attacker copies it; the client keeps using its tokens
    server.clock.advance(30)
    status, _, second = refresh(client, first["refresh_token"])
    assert status == 200

    server.clock.advance(30)
    status, headers, body = refresh(client, stolen)  # the replay of a spent token
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "WWW-Authenticate" not in headers and "refresh_token" not in body

    # the whole family is dead: the newest refresh token and every access token of the session
    status, _, body = refresh(client, second["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    for tokens in (first, second):
        assert call_api(client, tokens["access_token"]) == (401, {"error": "invalid_token"})
    status, _, body = client.request(
        "POST",
        "/introspect",
        form={"token": second["access_token"]},
        headers=basic(API, "api-secret-0123456789"),
    )
    assert (status, body) == (200, {"active": False})

    reuse = [e for e in server.events if e.kind == "refresh.reuse_detected"]
    assert len(reuse) == 1 and reuse[0].detail["sid"] == sid
    assert reuse[0].code == "refresh_token_reused" and reuse[0].client_id == "spa"
    logged = repr(server.events)
    assert stolen not in logged and second["refresh_token"] not in logged

    # another login of the same user is a new family, untouched
    fresh = login(client)["tokens"]
    assert session_id(server, fresh["access_token"]) != sid
    status, _, renewed = refresh(client, fresh["refresh_token"])
    assert status == 200
    assert call_api(client, renewed["access_token"])[0] == 200


def test_revocation_endpoint_revokes_refresh_tokens(auth_server: tuple[AuthServer, int]) -> None:
    server, port = auth_server
    register_clients(server)
    client = Http(port)
    tokens = login(client)["tokens"]
    status, _, tokens = refresh(client, tokens["refresh_token"])
    assert status == 200

    # another client cannot revoke the SPA's refresh token: 200, and nothing happens (RFC 7009)
    status, _, body = client.request(
        "POST",
        "/revoke",
        form={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic("billing", "billing-secret-0123456789"),
    )
    assert (status, body) == (200, {})
    status, _, body = client.request(
        "POST", "/revoke", form={"token": tokens["refresh_token"], "client_id": "nobody"}
    )
    assert (status, body["error"]) == (401, "invalid_client")
    status, _, body = client.request(  # a wrong secret does not fall back to the public path
        "POST",
        "/revoke",
        form={"token": tokens["refresh_token"], "client_id": "spa"},
        headers=basic("spa", "guess"),
    )
    assert (status, body["error"]) == (401, "invalid_client")
    status, _, tokens = refresh(client, tokens["refresh_token"])
    assert status == 200

    # the SPA logs out: its refresh token, hence the session, is revoked
    form = {
        "token": tokens["refresh_token"],
        "token_type_hint": "refresh_token",
        "client_id": "spa",
    }
    status, headers, body = client.request("POST", "/revoke", form=form)
    assert (status, body) == (200, {})
    assert headers["Cache-Control"] == "no-store"
    status, _, body = refresh(client, tokens["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert call_api(client, tokens["access_token"]) == (401, {"error": "invalid_token"})
    # revoking again, or a token nobody issued, is still 200 (RFC 7009 §2.2)
    for token in (tokens["refresh_token"], "rt_nonsense"):
        status, _, body = client.request("POST", "/revoke", form={**form, "token": token})
        assert (status, body) == (200, {})
    # without a hint the endpoint tries access tokens first, then refresh tokens
    other = login(client)["tokens"]
    status, _, _ = client.request(
        "POST", "/revoke", form={"token": other["refresh_token"], "client_id": "spa"}
    )
    assert status == 200
    status, _, body = refresh(client, other["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
