"""The framework-free guard every adapter sits on: request facts in, a token or an answer out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import forge
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    ExpiredToken,
    InsecureTransport,
    InsufficientScope,
    InvalidAudience,
    MalformedAuthorization,
    MemoryRevocationList,
    MissingToken,
    MultipleCredentials,
    Signer,
    TokenInQuery,
    TokenRevoked,
    UnknownKey,
    Validator,
)
from tokensmith.testing import FakeClock
from tokensmith.web import CSRFProtector, Guard, RequestFacts, TransportSecurity

METADATA = "https://api.example.test/.well-known/oauth-protected-resource"


def facts(
    *headers: tuple[str, str],
    scheme: str = "https",
    peer: str | None = "203.0.113.7",
    query: str = "",
    method: str = "GET",
) -> RequestFacts:
    return RequestFacts(
        method=method,
        scheme=scheme,
        host="api.example.test",
        path="/orders",
        query=query,
        headers=headers,
        peer=peer,
    )


def bearer(token: str, scheme: str = "Bearer") -> tuple[str, str]:
    return ("Authorization", f"{scheme} {token}")


class Outage:
    """A revocation list whose backend is down."""

    def is_revoked(self, token: object) -> bool:
        raise BackendUnavailable("the revocation backend is down")

    def revoke(self, *args: object, **kwargs: object) -> None:  # pragma: no cover - unused
        raise NotImplementedError

    def revoke_subject(self, *args: object, **kwargs: object) -> None:  # pragma: no cover
        raise NotImplementedError

    def revoke_session(self, *args: object, **kwargs: object) -> None:  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def guard(validator: Validator) -> Guard:
    return Guard(validator, realm="orders", scopes=["orders:read"], resource_metadata=METADATA)


@pytest.fixture
def token(signer: Signer) -> str:
    return signer.issue("user-1", audience=AUDIENCE, scopes=["orders:read", "orders:write"])


# --- the scenarios every adapter answers the same way -----------------------------------------


def test_a_valid_token_is_verified(guard: Guard, token: str) -> None:
    verified = guard.authenticate(facts(bearer(token)))
    assert verified.subject == "user-1"
    assert guard.authenticate(facts(bearer(token, "bearer"))).subject == "user-1"  # any case


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ((), MissingToken),
        ((("Authorization", "Basic dXNlcjpwYXNz"),), MissingToken),
        ((("Authorization", "Bearer a b"),), MalformedAuthorization),
        ((("Authorization", "Bearer x"), ("Authorization", "Bearer y")), MultipleCredentials),
    ],
)
def test_requests_without_one_usable_credential(
    guard: Guard, headers: tuple[tuple[str, str], ...], error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        guard.authenticate(facts(*headers))
    assert type(info.value) is error


def test_answers_follow_rfc_6750(guard: Guard, token: str, signer: Signer) -> None:
    def answer_to(request: RequestFacts, **options: Any) -> tuple[int, str | None, dict[str, Any]]:
        try:
            guard.authenticate(request, **options)
        except Exception as exc:
            answer = guard.answer(exc, **options)
            assert token not in repr(answer.headers) + answer.body.decode()
            return answer.status, answer.header("WWW-Authenticate"), json.loads(answer.body)
        raise AssertionError("accepted")

    status, challenge, body = answer_to(facts())
    assert status == 401
    assert (
        challenge == f'Bearer realm="orders", scope="orders:read", resource_metadata="{METADATA}"'
    )
    assert body == {"error": "unauthorized"}

    status, challenge, body = answer_to(facts(bearer(token)), scopes=["orders:admin"])
    assert status == 403
    assert challenge is not None and 'error="insufficient_scope"' in challenge
    assert 'scope="orders:admin orders:read"' in challenge
    assert body["error"] == "insufficient_scope"

    status, challenge, body = answer_to(facts(bearer("not-a-token")))
    assert status == 401 and challenge is not None
    assert 'error="invalid_token"' in challenge and f'resource_metadata="{METADATA}"' in challenge

    status, challenge, body = answer_to(facts(bearer(token), query=f"access_token={token}"))
    assert status == 400 and challenge is not None and 'error="invalid_request"' in challenge


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda s, c: s.issue("u", audience=AUDIENCE, scopes=["orders:read"], ttl=1), ExpiredToken),
        (lambda s, c: s.issue("u", audience="other-api", scopes=["orders:read"]), InvalidAudience),
        (
            lambda s, c: forge({"alg": "none", "typ": "JWT"}, {"iss": ISSUER, "aud": AUDIENCE}),
            None,
        ),
    ],
)
def test_refused_tokens_are_invalid_token(
    guard: Guard,
    signer: Signer,
    clock: FakeClock,
    make: Callable[[Signer, FakeClock], str],
    error: type[Exception] | None,
) -> None:
    token = make(signer, clock)
    clock.advance(120)  # past any leeway
    with pytest.raises(Exception) as info:
        guard.authenticate(facts(bearer(token)))
    if error is not None:
        assert type(info.value) is error
    assert guard.answer(info.value).status == 401


def test_a_foreign_key_is_unknown(guard: Guard, clock: FakeClock) -> None:
    from tokensmith import KeySet, MemoryKeyStore

    stranger = Signer(MemoryKeyStore(KeySet.generate("ES256"), clock=clock), issuer=ISSUER)
    with pytest.raises(UnknownKey):
        guard.authenticate(facts(bearer(stranger.issue("u", audience=AUDIENCE))))


def test_revoked_and_backend_down(store: Any, signer: Signer, clock: FakeClock) -> None:
    revocations = MemoryRevocationList(clock=clock)
    guard = Guard(
        Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, revocation=revocations)
    )
    token = signer.issue("u", audience=AUDIENCE)
    revocations.revoke(guard.authenticate(facts(bearer(token))).jti or "", issuer=ISSUER,
                       expires_at=clock() + 600)  # fmt: skip
    with pytest.raises(TokenRevoked):
        guard.authenticate(facts(bearer(token)))

    down = Guard(Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock,
                           revocation=Outage()))  # fmt: skip
    with pytest.raises(BackendUnavailable) as info:
        down.authenticate(facts(bearer(token)))
    answer = down.answer(info.value)
    assert answer.status == 503 and answer.header("Retry-After") == "5"
    assert answer.header("WWW-Authenticate") is None
    assert json.loads(answer.body)["error"] == "temporarily_unavailable"


def test_an_unexpected_exception_is_a_bare_500(guard: Guard) -> None:
    answer = guard.answer(RuntimeError("secret detail"))
    assert answer.status == 500 and b"secret" not in answer.body


def test_the_async_face_answers_alike(guard: Guard, token: str) -> None:
    async def run() -> None:
        assert (await guard.aauthenticate(facts(bearer(token)))).subject == "user-1"
        with pytest.raises(InsufficientScope):
            await guard.aauthenticate(facts(bearer(token)), scopes=["orders:admin"])
        with pytest.raises(MissingToken):
            await guard.aauthenticate(facts())

    asyncio.run(run())


# --- transport security -----------------------------------------------------------------------


def test_credentials_over_plain_http_are_refused_and_the_fix_is_named(
    guard: Guard, token: str
) -> None:
    with pytest.raises(InsecureTransport) as info:
        guard.authenticate(facts(bearer(token), scheme="http"))
    assert "trusted_proxies" in str(info.value)
    answer = guard.answer(info.value)
    assert answer.status == 400
    assert 'error="invalid_request"' in (answer.header("WWW-Authenticate") or "")
    with pytest.raises(MissingToken):  # no credentials: nothing leaked, the plain challenge
        guard.authenticate(facts(scheme="http"))


def test_loopback_development_is_allowed(guard: Guard, token: str) -> None:
    for peer in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert guard.authenticate(facts(bearer(token), scheme="http", peer=peer))


@pytest.mark.parametrize("header", ["x-forwarded", "forwarded"])
def test_a_trusted_proxy_is_believed_and_nobody_else(
    validator: Validator, token: str, header: str
) -> None:
    transport = TransportSecurity(trusted_proxies=["10.0.0.0/8"], forwarded_header=header)  # type: ignore[arg-type]
    guard = Guard(validator, transport=transport)
    says_https = (
        ("X-Forwarded-Proto", "https")
        if header == "x-forwarded"
        else ("Forwarded", 'for="203.0.113.7:4711";proto=https')
    )
    says_http = (
        ("X-Forwarded-Proto", "http")
        if header == "x-forwarded"
        else ("Forwarded", "for=203.0.113.7;proto=http")
    )
    assert guard.authenticate(facts(bearer(token), says_https, scheme="http", peer="10.1.2.3"))
    for peer, said in (("10.1.2.3", says_http), ("203.0.113.9", says_https), ("10.1.2.3", None)):
        headers = (bearer(token), said) if said else (bearer(token),)
        with pytest.raises(InsecureTransport):
            guard.authenticate(facts(*headers, scheme="http", peer=peer))


def test_a_local_proxy_listed_as_trusted_is_not_local_development(
    validator: Validator, token: str
) -> None:
    guard = Guard(validator, transport=TransportSecurity(trusted_proxies="127.0.0.1"))
    with pytest.raises(InsecureTransport):
        guard.authenticate(
            facts(bearer(token), ("X-Forwarded-Proto", "http"), scheme="http", peer="127.0.0.1")
        )


def test_the_loud_opt_out(validator: Validator, token: str) -> None:
    guard = Guard(validator, transport=TransportSecurity(insecure_allow_plain_http=True))
    assert guard.authenticate(facts(bearer(token), scheme="http"))
    with pytest.raises(ConfigurationError):
        TransportSecurity(insecure_allow_plain_http="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TransportSecurity(forwarded_header="x-real-ip")  # type: ignore[arg-type]


def test_a_query_token_is_refused_even_with_a_header(guard: Guard, token: str) -> None:
    with pytest.raises(TokenInQuery):
        guard.authenticate(facts(bearer(token), query="access_token=x"))


# --- token cookies ----------------------------------------------------------------------------


def test_a_cookie_token_needs_csrf_on_unsafe_methods(
    validator: Validator, token: str, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError):
        Guard(validator, cookie="__Host-token")
    csrf = CSRFProtector(b"k" * 32, clock=clock)
    guard = Guard(validator, cookie="__Host-token", csrf=csrf)
    cookie = ("Cookie", f"theme=dark; __Host-token={token}")
    assert guard.authenticate(facts(cookie))  # a safe method
    with pytest.raises(MissingToken):
        guard.authenticate(facts(("Cookie", "theme=dark")))
    verified = guard.authenticate(facts(cookie))
    session = verified.session_id or verified.jti or ""
    value = csrf.issue(session)
    from tokensmith import CSRFCheckFailed

    with pytest.raises(CSRFCheckFailed):
        guard.authenticate(facts(cookie, method="POST"))
    both = ("Cookie", f"__Host-token={token}; __Host-csrf={value}")
    assert guard.authenticate(facts(both, ("X-CSRF-Token", value), method="POST"))
    with pytest.raises(InsecureTransport):
        guard.authenticate(facts(cookie, scheme="http"))


def test_the_header_wins_over_the_cookie(
    validator: Validator, token: str, clock: FakeClock
) -> None:
    guard = Guard(validator, cookie="__Host-token", csrf=CSRFProtector(b"k" * 32, clock=clock))
    request = facts(bearer(token), ("Cookie", "__Host-token=garbage"), method="POST")
    assert guard.authenticate(request)  # header credentials: no CSRF needed


# --- request facts ----------------------------------------------------------------------------


def test_facts_from_asgi_and_wsgi() -> None:
    scope = {
        "type": "http",
        "method": "post",
        "scheme": "https",
        "path": "/orders/a b",
        "raw_path": b"/orders/a%20b",
        "query_string": b"x=1",
        "headers": [(b"host", b"api.example.test"), (b"authorization", b"Bearer t")],
        "client": ("203.0.113.7", 4711),
        "server": ("10.0.0.1", 443),
    }
    asgi = RequestFacts.from_asgi(scope)
    assert (asgi.method, asgi.scheme, asgi.host, asgi.path, asgi.query, asgi.peer) == (
        "POST", "https", "api.example.test", "/orders/a%20b", "x=1", "203.0.113.7"
    )  # fmt: skip
    assert asgi.get("Authorization") == "Bearer t" and asgi.client_cert is None
    assert "Bearer" not in repr(asgi)
    bare = RequestFacts.from_asgi({"type": "http", "server": ("10.0.0.1", 8000), "path": "/"})
    assert (bare.host, bare.peer, bare.method) == ("10.0.0.1:8000", None, "GET")

    environ = {
        "REQUEST_METHOD": "GET",
        "wsgi.url_scheme": "http",
        "SCRIPT_NAME": "/api",
        "PATH_INFO": "/orders",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": "Bearer t",
        "CONTENT_TYPE": "application/json",
        "wsgi.input": object(),
        "SSL_CLIENT_CERT": "not a certificate",
    }
    wsgi = RequestFacts.from_wsgi(environ)
    assert (wsgi.host, wsgi.path, wsgi.peer) == ("localhost:8000", "/api/orders", "127.0.0.1")
    assert wsgi.get_all("authorization") == ["Bearer t"]
    assert wsgi.get("content-type") == "application/json" and wsgi.get("x") is None
    assert wsgi.client_cert is None


def test_client_certificates_come_through_as_der(tmp_path: Any) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    scope = {"type": "http", "extensions": {"tls": {"client_cert_chain": [pem]}}, "headers": []}
    assert RequestFacts.from_asgi(scope).client_cert == der
    assert RequestFacts.from_wsgi({"SSL_CLIENT_CERT": pem}).client_cert == der
    broken = pem.replace("MII", "!!!")
    assert RequestFacts.from_wsgi({"SSL_CLIENT_CERT": broken}).client_cert is None


def test_a_bad_resource_metadata_url_is_refused_at_construction(validator: Validator) -> None:
    for url in ("http://api.example.test/x", "https://api.example.test/x#frag", 'https://a/"'):
        with pytest.raises(ConfigurationError):
            Guard(validator, resource_metadata=url)
    assert "orders" in repr(Guard(validator, realm="orders"))
    assert "insecure_allow_plain_http=False" in repr(TransportSecurity())


def test_the_client_address_reaches_the_audit_events(
    store: Any, signer: Signer, clock: FakeClock
) -> None:
    from tokensmith.observability import AuditEvent

    events: list[AuditEvent] = []
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, audit=events.append)
    transport = TransportSecurity(trusted_proxies=["10.0.0.0/8"])
    guard = Guard(validator, transport=transport, scopes="orders:read")
    token = signer.issue("u", audience=AUDIENCE, scopes=["orders:read"])
    forwarded = ("X-Forwarded-For", "198.51.100.4, 10.0.0.9")
    guard.authenticate(facts(bearer(token), forwarded, peer="10.0.0.8"))
    guard.authenticate(facts(bearer(token), ("X-Forwarded-For", "unknown"), peer="10.0.0.8"))
    guard.authenticate(facts(bearer(token), peer="10.0.0.8"))
    guard.authenticate(facts(bearer(token), peer=None))
    assert [e.ip for e in events] == ["198.51.100.4", None, "10.0.0.8", None]


def test_transport_edge_cases() -> None:
    transport = TransportSecurity(trusted_proxies=("10.0.0.0/8",), forwarded_header="forwarded")
    assert not transport.is_trusted_proxy(None)
    assert not transport.is_trusted_proxy("not an address")
    assert not TransportSecurity().is_trusted_proxy("10.0.0.1")
    behind = {"scheme": "http", "peer": "10.0.0.1"}
    for header, scheme in (
        ('for=a;proto=https, for="[2001:db8::1]";proto=https', "https"),
        ("for=a;proto=https;proto=http", "http"),  # a repeated parameter: not believed
        ('for="unterminated', "http"),  # unreadable: not believed
        ("for=203.0.113.7", "http"),  # no proto
    ):
        request = RequestFacts(method="GET", host="h", path="/", headers=[("Forwarded", header)],
                               **behind)  # type: ignore[arg-type]  # fmt: skip
        assert transport.scheme(request) == scheme, header
    bare = RequestFacts(method="GET", host="h", path="/", **behind)  # type: ignore[arg-type]
    assert transport.scheme(bare) == "http"
    xff = TransportSecurity(trusted_proxies="10.0.0.0/8")
    chained = RequestFacts(method="GET", host="h", path="/", headers=[("X-Forwarded-Proto",
                           "http, https")], **behind)  # type: ignore[arg-type]  # fmt: skip
    assert xff.scheme(chained) == "https"  # the last value: the one our proxy wrote
    unix = RequestFacts(method="GET", scheme="http", host="h", path="/", peer="unix:/run/s")
    with pytest.raises(InsecureTransport):
        TransportSecurity().check(unix)


def test_answer_repr_names_the_challenge_only(guard: Guard) -> None:
    answer = guard.answer(None)
    assert repr(answer).startswith("Answer(401, 'Bearer realm=")
    assert answer.header("x-missing") is None


def test_per_call_scopes_add_to_the_guards(guard: Guard, token: str) -> None:
    assert guard.authenticate(facts(bearer(token)), scopes="orders:write")
    with pytest.raises(InsufficientScope) as info:
        guard.authenticate(facts(bearer(token)), scopes="orders:admin")
    assert set(info.value.required) == {"orders:read", "orders:admin"}
    with pytest.raises(InsecureTransport):  # no peer known: not loopback
        guard.authenticate(facts(bearer(token), scheme="http", peer=None))


def test_the_async_face_checks_csrf_for_cookies_too(
    validator: Validator, token: str, clock: FakeClock
) -> None:
    from tokensmith import CSRFCheckFailed

    guard = Guard(validator, cookie="t", csrf=CSRFProtector(b"k" * 32, clock=clock))
    with pytest.raises(CSRFCheckFailed):
        asyncio.run(guard.aauthenticate(facts(("Cookie", f"t={token}"), method="DELETE")))


# --- what adapters need beyond authenticate/answer ---------------------------------------------


def test_authorize_checks_the_scopes_of_a_token_verified_earlier(guard: Guard, token: str) -> None:
    """A middleware verifies once; a route asking for more scopes checks the same token."""
    verified = guard.authenticate(facts(bearer(token)))
    assert guard.authorize(verified) is verified
    assert guard.authorize(verified, scopes=["orders:write"]) is verified
    with pytest.raises(InsufficientScope) as info:
        guard.authorize(verified, scopes="orders:admin")
    assert type(info.value) is InsufficientScope
    assert info.value.required == {"orders:read", "orders:admin"}
    answer = guard.answer(info.value, scopes="orders:admin")
    assert answer.status == 403
    assert 'scope="orders:admin orders:read"' in (answer.header("WWW-Authenticate") or "")


def test_authorize_applies_the_guards_own_scopes(validator: Validator, signer: Signer) -> None:
    weak = Guard(validator).authenticate(
        facts(bearer(signer.issue("user-1", audience=AUDIENCE, scopes=["profile"])))
    )
    strict = Guard(validator, scopes=["orders:read"])
    with pytest.raises(InsufficientScope) as info:
        strict.authorize(weak)
    assert type(info.value) is InsufficientScope


@pytest.mark.parametrize(
    "bad",
    [["orders read"], [""], ['say"hi'], ["back\\slash"], ["é"], [7], "two words", ["\t"]],
)
def test_scopes_are_checked_when_declared_not_per_request(validator: Validator, bad: Any) -> None:
    """A scope no token can carry (or no challenge can name) is a programmer's mistake: said at
    start-up, never a 500 on every request."""
    with pytest.raises(ConfigurationError) as info:
        Guard.checked_scopes(bad)
    assert type(info.value) is ConfigurationError
    with pytest.raises(ConfigurationError):
        Guard(validator, scopes=bad)


def test_checked_scopes_normalises_what_routes_declare() -> None:
    assert Guard.checked_scopes("orders:read") == ("orders:read",)
    assert Guard.checked_scopes(["a", "b"]) == ("a", "b")
    assert Guard.checked_scopes(iter(["a"])) == ("a",)
    assert Guard.checked_scopes(()) == ()


def test_refusals_are_the_errors_adapters_answer() -> None:
    """Token refusals, outages and throttling are answered; a configuration fault is not
    (the framework must log it as the bug it is)."""
    from tokensmith import Throttled, TokenError

    assert Guard.refusals == (TokenError, BackendUnavailable, Throttled)
    assert not isinstance(ConfigurationError("x"), Guard.refusals)


def test_an_exception_handler_that_does_not_know_the_route_names_its_scopes(
    guard: Guard, token: str
) -> None:
    """A framework's exception handler (FastAPI, DRF...) calls ``answer(exc)`` without the
    route's scopes: the challenge still names every scope the refusal required."""
    with pytest.raises(InsufficientScope) as info:
        guard.authenticate(facts(bearer(token)), scopes=["orders:admin"])
    challenge = guard.answer(info.value).header("WWW-Authenticate") or ""
    assert 'scope="orders:admin orders:read"' in challenge


def test_an_answer_says_its_media_type_apart_from_its_headers(guard: Guard) -> None:
    """Framework response classes take the media type as its own argument."""
    answer = guard.answer(None)
    assert answer.content_type == "application/json"
    assert answer.header("Content-Type") is None
    assert json.loads(answer.body) == {"error": "unauthorized"}
