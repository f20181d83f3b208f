"""tokensmith.web: bearer extraction, WWW-Authenticate for every refusal, cookies, CSRF."""

from __future__ import annotations

import inspect
import re
from http.cookies import SimpleCookie

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith import errors
from tokensmith.errors import (
    BackendUnavailable,
    ConfigurationError,
    CSRFCheckFailed,
    CSRFTokenExpired,
    ExpiredToken,
    InsufficientScope,
    JWKSFetchError,
    MalformedAuthorization,
    MissingToken,
    MultipleCredentials,
    NoSigningKey,
    Throttled,
    TokenError,
    TokenInQuery,
    TokenTooLarge,
    WeakKey,
)
from tokensmith.testing import FakeClock
from tokensmith.web import (
    CSRFProtector,
    bearer_token,
    delete_token_cookie,
    extract_token,
    form_token,
    refuse_query_token,
    token_cookie,
    www_authenticate,
)

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"

# --- bearer extraction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"AUTHORIZATION": f"BEARER {TOKEN}"},
        {"Authorization": f"Bearer   {TOKEN}"},  # 1*SP
        {"Authorization": f"  Bearer {TOKEN}\t"},  # OWS around the field value
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "REQUEST_METHOD": "GET"},  # WSGI environ
        [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"x")],  # ASGI pairs
        {"Authorization": [f"Bearer {TOKEN}"]},
    ],
)
def test_bearer_token_found(headers: object) -> None:
    assert bearer_token(headers) == TOKEN  # type: ignore[arg-type]


def test_b64token_padding_and_symbols() -> None:
    assert bearer_token({"Authorization": "Bearer a-._~+/b=="}) == "a-._~+/b=="


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, MissingToken),
        ({"Host": "x"}, MissingToken),
        ({"Authorization": ""}, MissingToken),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, MissingToken),
        ({"Authorization": "Bearer"}, MalformedAuthorization),
        ({"Authorization": "Bearer "}, MalformedAuthorization),
        ({"Authorization": f"Bearer {TOKEN} extra"}, MalformedAuthorization),
        ({"Authorization": f"Bearer\t{TOKEN}"}, MalformedAuthorization),
        ({"Authorization": "Bearer ab=c"}, MalformedAuthorization),
        ({"Authorization": "Bearer a\u00e9b"}, MalformedAuthorization),
        ({"Authorization": "Bearer a\r\nX: y"}, MalformedAuthorization),
        ({"Authorization": f"Bearer{TOKEN}"}, MalformedAuthorization),
        ({"Authorization": "B@d scheme"}, MalformedAuthorization),
        ({"Authorization": f"Bearer {TOKEN}, Bearer {TOKEN}"}, MultipleCredentials),
        ({"Authorization": f"Basic abc, Bearer {TOKEN}"}, MultipleCredentials),
        (
            {"Authorization": f"Bearer {TOKEN}", "authorization": f"Bearer {TOKEN}"},
            MultipleCredentials,
        ),
        ({"Authorization": [f"Bearer {TOKEN}", "Bearer x"]}, MultipleCredentials),
        ({"Authorization": "Bearer " + "a" * 9000}, TokenTooLarge),
        ({"Authorization": 42}, MalformedAuthorization),
    ],
)
def test_bearer_token_refusals(headers: object, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        bearer_token(headers)  # type: ignore[arg-type]
    assert type(info.value) is error
    assert TOKEN not in str(info.value)


def test_bearer_token_max_length() -> None:
    assert bearer_token({"Authorization": "Bearer " + "a" * 64}, max_length=64)
    with pytest.raises(TokenTooLarge):
        bearer_token({"Authorization": "Bearer " + "a" * 65}, max_length=64)


def test_non_text_header_names_are_ignored() -> None:
    with pytest.raises(MissingToken):
        bearer_token([(1, "Bearer x")])  # type: ignore[list-item]


_B64 = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/",
    min_size=1,
    max_size=80,
)


@given(token=_B64, pad=st.integers(0, 2), spaces=st.integers(1, 3))
def test_bearer_grammar_round_trip(token: str, pad: int, spaces: int) -> None:
    value = token + "=" * pad
    assert bearer_token({"Authorization": "Bearer" + " " * spaces + value}) == value


@given(value=st.text(max_size=60))
def test_bearer_never_crashes(value: str) -> None:
    try:
        token = bearer_token({"Authorization": value})
    except TokenError:
        return
    assert re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", token)


@pytest.mark.parametrize(
    "query",
    [
        "access_token=abc",
        "a=1&access_token=",
        "access%5Ftoken=abc",
        b"x=1&access_token=abc",
        {"access_token": "x"},
    ],
)
def test_tokens_in_query_are_refused(query: object) -> None:
    with pytest.raises(TokenInQuery):
        refuse_query_token(query)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", [None, "", "a=1", "token=abc", "%41=1", {"a": "b"}])
def test_queries_without_tokens_pass(query: object) -> None:
    refuse_query_token(query)  # type: ignore[arg-type]


FORM = "application/x-www-form-urlencoded"


def test_form_token_rules() -> None:
    assert form_token(f"access_token={TOKEN}&x=1", method="POST", content_type=FORM) == TOKEN
    assert (
        form_token({"access_token": TOKEN}, method="POST", content_type=FORM + "; charset=utf-8")
        == TOKEN
    )
    assert form_token(b"x=1", method="POST", content_type=FORM) is None
    assert form_token("access_tokens=1", method="POST", content_type=FORM) is None
    assert form_token({"x": "1"}, method="POST", content_type=FORM) is None
    assert form_token(None, method="POST", content_type=FORM) is None


@pytest.mark.parametrize(
    ("body", "method", "ctype", "error"),
    [
        (f"access_token={TOKEN}", "POST", "application/json", MalformedAuthorization),
        (f"access_token={TOKEN}", "POST", None, MalformedAuthorization),
        (f"access_token={TOKEN}", "GET", FORM, MalformedAuthorization),
        (f"access_token={TOKEN}&access_token={TOKEN}", "POST", FORM, MultipleCredentials),
        ({"access_token": [TOKEN, TOKEN]}, "POST", FORM, MultipleCredentials),
        ({"access_token": 5}, "POST", FORM, MalformedAuthorization),
        ("access_token=a%20b", "POST", FORM, MalformedAuthorization),
        ("access_token=" + "a" * 9000, "POST", FORM, TokenTooLarge),
        ("access_token=\u00e9".encode(), "POST", FORM, MalformedAuthorization),
    ],
)
def test_form_token_refusals(
    body: object, method: str, ctype: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        form_token(body, method=method, content_type=ctype)  # type: ignore[arg-type]
    assert type(info.value) is error


def test_extract_token_combinations() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = f"access_token={TOKEN}"
    assert extract_token(headers) == TOKEN
    # The body is not looked at unless allowed (it may be application data).
    assert extract_token(headers, method="POST", body=body, content_type=FORM) == TOKEN
    assert extract_token({}, method="POST", body=body, content_type=FORM, allow_form=True) == TOKEN
    with pytest.raises(MultipleCredentials):
        extract_token(headers, method="POST", body=body, content_type=FORM, allow_form=True)
    with pytest.raises(MissingToken):
        extract_token({}, method="POST", body=body, content_type=FORM)
    with pytest.raises(MissingToken):
        extract_token({}, method="POST", body="x=1", content_type=FORM, allow_form=True)
    with pytest.raises(TokenInQuery):
        extract_token(headers, query="access_token=x")


# --- WWW-Authenticate ------------------------------------------------------------------------

_RFC6750: dict[str, int] = {"invalid_request": 400, "invalid_token": 401, "insufficient_scope": 403}
# RFC 9449 §7.1 adds two error codes for the DPoP scheme (tokensmith.web.dpop_challenge).
_RFC6750.update({"invalid_dpop_proof": 401, "use_dpop_nonce": 401})
_AUTH_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _all_token_errors() -> list[type[TokenError]]:
    found = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, TokenError) and obj.__module__ == errors.__name__
    }
    assert TokenError in found and len(found) > 20
    return sorted(found, key=lambda c: c.__name__)


def _instance(cls: type[TokenError]) -> TokenError:
    try:
        return cls("a message that must not leak " + TOKEN)
    except TypeError:  # classes with required keyword fields
        params = inspect.signature(cls).parameters
        kwargs = {
            n: "x" for n, p in params.items() if p.kind is p.KEYWORD_ONLY and p.default is p.empty
        }
        return cls("a message that must not leak " + TOKEN, **kwargs)


def _challenge(headers: list[tuple[str, str]]) -> dict[str, str]:
    values = [v for n, v in headers if n == "WWW-Authenticate"]
    assert len(values) == 1
    value = values[0]
    assert value.startswith("Bearer ")
    params = dict(_AUTH_PARAM.findall(value[7:]))
    rebuilt = ", ".join(f'{k}="{v}"' for k, v in _AUTH_PARAM.findall(value[7:]))
    assert rebuilt == value[7:], "the challenge is not a clean list of quoted auth-params"
    return params


@pytest.mark.parametrize("cls", _all_token_errors(), ids=lambda c: c.__name__)
def test_every_token_error_maps_to_its_rfc6750_answer(cls: type[TokenError]) -> None:
    exc = _instance(cls)
    status, headers = www_authenticate(exc, realm="orders-api")
    params = _challenge(headers)
    assert params["realm"] == "orders-api"
    assert ("Cache-Control", "no-store") in headers
    if issubclass(cls, MissingToken):
        assert status == 401 and set(params) == {"realm"}
        return
    assert cls.error in _RFC6750, f"{cls.__name__}.error is not an RFC 6750/9449 error code"
    assert status == _RFC6750[cls.error] == cls.status_code
    assert params["error"] == cls.error
    description = params["error_description"]
    assert TOKEN not in description and "leak" not in description
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)
    assert ("scope" in params) == (
        cls.error == "insufficient_scope" and bool(getattr(exc, "required", ()))
    )


def test_no_credentials_and_scope_params() -> None:
    status, headers = www_authenticate(None, realm="api", scope="a b")
    assert status == 401 and _challenge(headers) == {"realm": "api", "scope": "a b"}
    status, headers = www_authenticate(None, realm="api", scope=[])
    assert _challenge(headers) == {"realm": "api"}
    exc = InsufficientScope("x", required=frozenset({"orders:write", "orders:read"}))
    status, headers = www_authenticate(exc, realm="api")
    assert status == 403 and _challenge(headers)["scope"] == "orders:read orders:write"
    status, headers = www_authenticate(exc, realm="api", scope="admin")
    assert _challenge(headers)["scope"] == "admin"
    _, headers = www_authenticate(ExpiredToken("x"), realm="api", describe=False)
    assert "error_description" not in _challenge(headers)
    _, headers = www_authenticate(ExpiredToken("x"), realm="api", scope="ignored")
    assert "scope" not in _challenge(headers)


def test_realm_is_escaped_and_control_characters_refused() -> None:
    _, headers = www_authenticate(None, realm='my "api" \\ v2')
    value = dict(headers)["WWW-Authenticate"]
    assert value == 'Bearer realm="my \\"api\\" \\\\ v2"'
    for bad in ("a\r\nSet-Cookie: x=1", "a\x00", "caf\u00e9"):
        with pytest.raises(ConfigurationError):
            www_authenticate(None, realm=bad)
    with pytest.raises(ConfigurationError):
        www_authenticate(InsufficientScope("x"), realm="api", scope=['bad"scope'])


def test_non_token_errors() -> None:
    status, headers = www_authenticate(BackendUnavailable("x"), realm="api", retry_after=7)
    assert status == 503 and ("Retry-After", "7") in headers
    assert not any(n == "WWW-Authenticate" for n, _ in headers)
    status, headers = www_authenticate(JWKSFetchError("x", reason="timeout"), realm="api")
    assert status == 503 and ("Retry-After", "5") in headers
    status, headers = www_authenticate(Throttled("x", retry_after=2.2), realm="api")
    assert status == 429 and ("Retry-After", "3") in headers
    status, headers = www_authenticate(Throttled("x", retry_after=0.01), realm="api")
    assert ("Retry-After", "1") in headers
    from tokensmith.errors import InvalidClient, InvalidRequest

    assert www_authenticate(InvalidRequest("x"), realm="api") == (
        400,
        [("Cache-Control", "no-store")],
    )
    assert www_authenticate(InvalidClient("x"), realm="api")[0] == 401
    status, headers = www_authenticate(NoSigningKey("x"), realm="api")
    assert status == 500 and not any(n == "WWW-Authenticate" for n, _ in headers)


# --- cookies ---------------------------------------------------------------------------------


def _strict_attributes(header: str) -> tuple[str, str, dict[str, str | bool]]:
    """Our own strict parser: exact '; ' separators, known attributes, no duplicates."""
    first, *rest = header.split("; ")
    name, _, value = first.partition("=")
    attrs: dict[str, str | bool] = {}
    for part in rest:
        key, eq, val = part.partition("=")
        assert key in {"Max-Age", "Path", "Domain", "Secure", "HttpOnly", "SameSite"}, key
        assert key not in attrs, f"duplicate {key}"
        attrs[key] = val if eq else True
        assert bool(eq) == (key not in {"Secure", "HttpOnly"})
    assert all(0x21 <= ord(c) <= 0x7E and c not in '",;\\' for c in value)
    return name, value, attrs


def test_token_cookie_defaults_pass_strict_parsers() -> None:
    header = token_cookie("at", TOKEN, max_age=600)
    assert header == f"__Host-at={TOKEN}; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Strict"
    name, value, attrs = _strict_attributes(header)
    assert (name, value) == ("__Host-at", TOKEN)
    assert attrs == {
        "Max-Age": "600",
        "Path": "/",
        "Secure": True,
        "HttpOnly": True,
        "SameSite": "Strict",
    }
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    morsel = jar["__Host-at"]
    assert morsel.value == TOKEN
    assert morsel["max-age"] == "600" and morsel["path"] == "/" and morsel["domain"] == ""
    assert (
        morsel["secure"] is True and morsel["httponly"] is True and morsel["samesite"] == "Strict"
    )
    again: SimpleCookie = SimpleCookie()
    again.load(morsel.OutputString())  # round trip: the same cookie, attribute for attribute
    assert dict(again["__Host-at"]) == dict(morsel) and again["__Host-at"].value == TOKEN


def test_token_cookie_options_and_deletion() -> None:
    header = token_cookie("__Host-at", TOKEN, max_age=60, same_site="Lax")
    assert header.startswith("__Host-at=") and header.endswith("SameSite=Lax")
    scoped = token_cookie(
        "at", TOKEN, max_age=60, path="/api", domain="example.com", host_prefix=False
    )
    _, _, attrs = _strict_attributes(scoped)
    assert attrs["Path"] == "/api" and attrs["Domain"] == "example.com" and attrs["Secure"] is True
    deletion = delete_token_cookie("at")
    assert deletion == "__Host-at=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"
    jar: SimpleCookie = SimpleCookie()
    jar.load(deletion)
    assert jar["__Host-at"].value == "" and jar["__Host-at"]["max-age"] == "0"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "a b"},
        {"name": "a;b"},
        {"name": ""},
        {"token": "a;b"},
        {"token": 'a"b'},
        {"token": "a b"},
        {"token": "a\r\nb"},
        {"token": "caf\u00e9"},
        {"token": 5},
        {"max_age": -1},
        {"max_age": 1.5},
        {"max_age": True},
        {"same_site": "None"},
        {"path": "/a"},  # __Host- needs Path=/
        {"domain": "example.com"},  # __Host- has no Domain
        {"path": "/a;b", "host_prefix": False},
        {"path": "a", "host_prefix": False},
        {"domain": "exa mple.com", "host_prefix": False},
        {"name": "__Host-x", "host_prefix": False, "path": "/x"},
    ],
)
def test_token_cookie_refuses_unsafe_input(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"name": "at", "token": TOKEN, "max_age": 60, **kwargs}
    with pytest.raises(ConfigurationError) as info:
        token_cookie(**args)  # type: ignore[arg-type]
    assert type(info.value) is ConfigurationError
    assert TOKEN not in str(info.value)


# --- CSRF --------------------------------------------------------------------------------------

SECRET = bytes(range(32))


def test_csrf_round_trip_and_cookie() -> None:
    clock = FakeClock()
    csrf = CSRFProtector(SECRET, max_age=600, clock=clock)
    token = csrf.issue("session-1")
    csrf.verify("session-1", token, token)
    header = csrf.cookie(token)
    name, value, attrs = _strict_attributes(header)
    assert name == "__Host-csrf" and value == token and "HttpOnly" not in attrs
    assert attrs["Secure"] is True and attrs["SameSite"] == "Strict" and attrs["Max-Age"] == "600"
    assert "600" in repr(csrf) and SECRET.hex() not in repr(csrf)
    assert csrf.issue("session-1") != token  # a fresh nonce each time


def test_csrf_refusals() -> None:
    clock = FakeClock()
    csrf = CSRFProtector(SECRET, max_age=600, clock=clock)
    token = csrf.issue("session-1")
    other = CSRFProtector(bytes(32), clock=clock).issue("session-1")
    cases: list[tuple[str, str | None, str | None]] = [
        ("session-1", None, token),
        ("session-1", token, None),
        ("session-1", token, token[:-1] + ("A" if token[-1] != "A" else "B")),  # mismatch
        ("session-2", token, token),  # bound to another session
        ("", token, token),
        ("session-1", other, other),  # signed with another secret
        ("session-1", "garbage", "garbage"),
        ("session-1", token + "x", token + "x"),
    ]
    for session, cookie, submitted in cases:
        with pytest.raises(CSRFCheckFailed) as info:
            csrf.verify(session, cookie, submitted)
        assert type(info.value) is CSRFCheckFailed
    tampered = token.split(".")
    tampered[0] = str(int(tampered[0]) + 1)
    forged = ".".join(tampered)
    with pytest.raises(CSRFCheckFailed):
        csrf.verify("session-1", forged, forged)
    with pytest.raises(CSRFCheckFailed):
        csrf.verify("session-1", 5, 5)  # type: ignore[arg-type]
    # A MAC segment with non-canonical base64url tail bits.
    head, nonce, mac = token.split(".")
    odd = f"{head}.{nonce}.{mac[:-1]}{'B' if mac[-1] == 'A' else 'A'}"
    with pytest.raises(CSRFCheckFailed):
        csrf.verify("session-1", odd, odd)


def test_csrf_expiry_boundaries() -> None:
    clock = FakeClock(1_000_000.0)
    csrf = CSRFProtector(SECRET, max_age=600, clock=clock)
    token = csrf.issue("s")
    clock.advance(599)
    csrf.verify("s", token, token)
    clock.advance(1)
    with pytest.raises(CSRFTokenExpired):
        csrf.verify("s", token, token)
    clock.set(1_000_000.0 - 61)  # dated more than a minute in the future
    with pytest.raises(CSRFTokenExpired):
        csrf.verify("s", token, token)


def test_csrf_configuration() -> None:
    with pytest.raises(WeakKey):
        CSRFProtector(b"short")
    with pytest.raises(ConfigurationError):
        CSRFProtector("a" * 40)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        CSRFProtector(SECRET, max_age=0)
    with pytest.raises(ConfigurationError):
        CSRFProtector(SECRET).issue("")
