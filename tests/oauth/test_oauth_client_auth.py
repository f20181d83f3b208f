"""ClientAuthenticator: every token-endpoint client authentication method, every refusal."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.oauth.test_oauth_tls_client_auth import SANS, jwk_for, make_cert
from tokensmith import Key, KeySet, MemoryKeyStore, Signer
from tokensmith.errors import (
    BackendUnavailable,
    ClientAuthMethodNotRegistered,
    ClientCertificateMismatch,
    ClientSecretMismatch,
    ConfigurationError,
    ConflictingClientCredentials,
    InvalidClient,
    InvalidRequest,
    MalformedClientCredentials,
    MalformedToken,
    MissingClientCredentials,
    OAuthError,
    ReplayedToken,
    TokensmithError,
    UnknownClient,
)
from tokensmith.oauth import (
    CLIENT_ASSERTION_TYPE,
    Client,
    ClientAuthenticator,
    ClientRegistration,
    ClientRegistry,
    MemoryClientRegistry,
    TLSClientAuth,
    basic_authorization,
    client_credentials_grant,
    create_client_assertion,
    error_response,
    hash_client_secret,
    registered_certificate_thumbprints,
)
from tokensmith.oauth import client_secrets as client_secrets_module
from tokensmith.replay import MemoryJtiReplayStore
from tokensmith.testing import FakeClock

ENDPOINT = "https://auth.example.test/token"
SECRET = "Zq8-plain-secret-with-32-characters-or-more"
ODD_SECRET = "a:b+c%20d ünïcode€ and a long enough tail"  # every character RFC 6749 §2.3.1 trips on
SECRET_HASH = hash_client_secret(SECRET)
ODD_HASH = hash_client_secret(ODD_SECRET)
CLIENT_KEY = Key.generate("ES256")
TLS_CERT = make_cert("CN=mtls-app,O=Example Corp", sans=SANS)
PINNED_CERT = make_cert("CN=pinned")
OTHER_CERT = make_cert("CN=mtls-app,O=Other")


def client(client_id: str, **kw: Any) -> Client:
    return Client(
        client_id,
        allowed_scopes=frozenset({"read"}),
        default_scopes=frozenset({"read"}),
        audience="https://api.example.test",
        **kw,
    )


def registrations(clock: FakeClock) -> list[ClientRegistration]:
    pinned_jwks = {"keys": [jwk_for(PINNED_CERT)]}
    return [
        ClientRegistration(client("basic-app"), "client_secret_basic", secret_hash=SECRET_HASH),
        ClientRegistration(client("odd app:1"), "client_secret_basic", secret_hash=ODD_HASH),
        ClientRegistration(client("post-app"), "client_secret_post", secret_hash=SECRET_HASH),
        ClientRegistration(
            client("jwt-app"),
            "private_key_jwt",
            keys=MemoryKeyStore(KeySet([CLIENT_KEY.public_key()]), clock=clock),
        ),
        ClientRegistration(
            client("mtls-app"),
            "tls_client_auth",
            tls_client_auth=TLSClientAuth(subject_dn="CN=mtls-app,O=Example Corp"),
        ),
        ClientRegistration(
            client("san-app"),
            "tls_client_auth",
            tls_client_auth=TLSClientAuth(san_uri="spiffe://example.com/billing"),
        ),
        ClientRegistration(
            client("pinned-app"),
            "self_signed_tls_client_auth",
            certificate_thumbprints=registered_certificate_thumbprints(pinned_jwks),
        ),
        ClientRegistration(client("spa", grant_types=frozenset({"authorization_code"})), "none"),
    ]


@pytest.fixture
def auth(clock: FakeClock) -> ClientAuthenticator:
    return ClientAuthenticator(
        MemoryClientRegistry(registrations(clock)),
        token_endpoint=ENDPOINT,
        replay_store=MemoryJtiReplayStore(clock=clock),
        clock=clock,
    )


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the scrypt computations (the real ones run): the timing-safety witness."""
    calls: list[int] = []
    real = client_secrets_module._scrypt

    def counting(secret: bytes, record: Any) -> bytes:
        calls.append(record.log2_n)
        return real(secret, record)

    monkeypatch.setattr(client_secrets_module, "_scrypt", counting)
    return calls


def call(
    auth: ClientAuthenticator,
    params: dict[str, Any] | None = None,
    *,
    authorization: str | None = None,
    certificate: Any = None,
    method: str = "POST",
) -> Client:
    return auth.authenticate(
        params if params is not None else {"grant_type": "client_credentials"},
        http_method=method,
        authorization=authorization,
        client_certificate=certificate,
    )


def refused(error: type[TokensmithError], fn: Callable[[], object]) -> Any:
    with pytest.raises(error) as info:
        fn()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value)}"
    return info.value


def raw_basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


# --- client_secret_basic / client_secret_post ---------------------------------------------------


def test_basic(auth: ClientAuthenticator, scrypt_calls: list[int]) -> None:
    assert call(auth, authorization=basic_authorization("basic-app", SECRET)).client_id == (
        "basic-app"
    )
    assert scrypt_calls == [14]
    # a client_id in the body too is fine when it names the same client
    params = {"grant_type": "client_credentials", "client_id": "basic-app"}
    call(auth, params, authorization=basic_authorization("basic-app", SECRET))


def test_basic_form_urlencoding(auth: ClientAuthenticator) -> None:
    header = basic_authorization("odd app:1", ODD_SECRET)
    assert call(auth, authorization=header).client_id == "odd app:1"
    # a client that skips the encoding sends other credentials: the split and '+' go wrong
    refused(UnknownClient, lambda: call(auth, authorization=raw_basic(f"odd app:1:{ODD_SECRET}")))
    error = refused(
        ClientSecretMismatch,
        lambda: call(
            auth, authorization=raw_basic(f"odd+app%3A1:{ODD_SECRET.replace('%', '%25')}")
        ),
    )
    assert error.auth_scheme == "Basic"


def test_post(auth: ClientAuthenticator) -> None:
    params = {"grant_type": "client_credentials", "client_id": "post-app", "client_secret": SECRET}
    assert call(auth, params).client_id == "post-app"
    # ... and as a multi-dict (Werkzeug, Starlette) hands it over
    multi = {k: [v] for k, v in params.items()}
    assert call(auth, multi).client_id == "post-app"


def test_wrong_secret_gets_invalid_client_and_the_basic_challenge(
    auth: ClientAuthenticator, scrypt_calls: list[int]
) -> None:
    error = refused(
        ClientSecretMismatch,
        lambda: call(auth, authorization=basic_authorization("basic-app", SECRET + "x")),
    )
    status, headers, body = error_response(error)
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"] == 'Basic realm="token"'
    assert SECRET not in str(error) and SECRET not in repr(error)

    params = {"client_id": "post-app", "client_secret": SECRET[:-1]}
    error = refused(ClientSecretMismatch, lambda: call(auth, params))
    status, headers, _ = error_response(error)
    assert status == 401 and "WWW-Authenticate" not in headers  # no header scheme was tried
    assert scrypt_calls == [14, 14]


@pytest.mark.parametrize(
    "attempt",
    [
        {"authorization": basic_authorization("nobody", SECRET)},
        {"params": {"client_id": "nobody", "client_secret": SECRET}},
    ],
)
def test_unknown_client_costs_one_scrypt(
    auth: ClientAuthenticator, scrypt_calls: list[int], attempt: dict[str, Any]
) -> None:
    """An unknown id runs the same scrypt as a wrong secret: ids cannot be found by timing."""
    refused(UnknownClient, lambda: call(auth, **attempt))
    assert scrypt_calls == [14]


@pytest.mark.parametrize(
    ("attempt", "scheme"),
    [
        ({"authorization": basic_authorization("post-app", SECRET)}, "Basic"),
        ({"params": {"client_id": "basic-app", "client_secret": SECRET}}, None),
        ({"authorization": basic_authorization("jwt-app", SECRET)}, "Basic"),
        ({"params": {"client_id": "mtls-app", "client_secret": SECRET}}, None),
        ({"params": {"client_id": "spa", "client_secret": SECRET}}, None),
    ],
)
def test_method_not_registered_costs_one_scrypt(
    auth: ClientAuthenticator, scrypt_calls: list[int], attempt: dict[str, Any], scheme: Any
) -> None:
    """The right secret by the wrong method is refused, after the same work as any attempt."""
    error = refused(ClientAuthMethodNotRegistered, lambda: call(auth, **attempt))
    assert error.auth_scheme == scheme and scrypt_calls == [14]


def test_huge_secret_costs_one_scrypt(auth: ClientAuthenticator, scrypt_calls: list[int]) -> None:
    params = {"client_id": "post-app", "client_secret": "x" * 60_000}
    refused(ClientSecretMismatch, lambda: call(auth, params))
    assert scrypt_calls == [14]


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!",
        raw_basic("no-colon"),
        "Basic " + base64.b64encode(b"app:\xff").decode(),
        "Basic " + "A" * 5000,
        "Bearer abc",  # another scheme at the token endpoint
    ],
)
def test_malformed_basic(auth: ClientAuthenticator, scrypt_calls: list[int], header: str) -> None:
    error = refused(MalformedClientCredentials, lambda: call(auth, authorization=header))
    assert error_response(error).headers["WWW-Authenticate"] == 'Basic realm="token"'
    assert scrypt_calls == []


# --- more than one method, malformed requests -------------------------------------------------


ASSERTION_PARAMS = {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": "a.b.c"}


@pytest.mark.parametrize(
    "attempt",
    [
        {
            "authorization": basic_authorization("basic-app", SECRET),
            "params": {"client_id": "basic-app", "client_secret": SECRET},
        },
        {"authorization": basic_authorization("basic-app", SECRET), "params": ASSERTION_PARAMS},
        {"params": {"client_id": "post-app", "client_secret": SECRET, **ASSERTION_PARAMS}},
        {
            "authorization": basic_authorization("basic-app", SECRET),
            "params": {"client_assertion_type": CLIENT_ASSERTION_TYPE},
        },
        # two client ids: Basic says one, the body another
        {
            "authorization": basic_authorization("basic-app", SECRET),
            "params": {"client_id": "post-app"},
        },
    ],
)
def test_more_than_one_method_is_invalid_request(
    auth: ClientAuthenticator, scrypt_calls: list[int], attempt: dict[str, Any]
) -> None:
    error = refused(ConflictingClientCredentials, lambda: call(auth, **attempt))
    status, headers, body = error_response(error)
    assert (status, body["error"]) == (400, "invalid_request")
    assert "WWW-Authenticate" not in headers and scrypt_calls == []


def test_request_shape(auth: ClientAuthenticator) -> None:
    good = {"client_id": "post-app", "client_secret": SECRET}
    for method in ("GET", "PUT", ""):
        refused(InvalidRequest, lambda: call(auth, good, method=method))
    refused(InvalidRequest, lambda: call(auth, good, method=None))  # type: ignore[arg-type]
    assert call(auth, good, method="post").client_id == "post-app"
    refused(InvalidRequest, lambda: call(auth, {"client_secret": SECRET}))  # no client_id
    refused(InvalidRequest, lambda: call(auth, {"client_id": ["a", "b"], "client_secret": SECRET}))
    refused(InvalidRequest, lambda: call(auth, {"client_id": "post-app", "client_secret": 42}))
    refused(InvalidRequest, lambda: call(auth, ["not", "a", "form"]))  # type: ignore[arg-type]


def test_no_credentials(auth: ClientAuthenticator) -> None:
    refused(MissingClientCredentials, lambda: call(auth, {"grant_type": "client_credentials"}))
    refused(MissingClientCredentials, lambda: call(auth, {"client_id": "basic-app"}))
    refused(MissingClientCredentials, lambda: call(auth, {"client_id": "jwt-app"}))
    refused(UnknownClient, lambda: call(auth, {"client_id": "nobody"}))


def test_public_client(auth: ClientAuthenticator) -> None:
    assert call(auth, {"client_id": "spa"}).client_id == "spa"


# --- private_key_jwt ----------------------------------------------------------------------------


def assertion_params(clock: FakeClock, client_id: str = "jwt-app", **kw: Any) -> dict[str, str]:
    assertion = create_client_assertion(CLIENT_KEY, client_id, ENDPOINT, clock=clock)
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion, **kw}


def test_private_key_jwt(auth: ClientAuthenticator, clock: FakeClock) -> None:
    params = assertion_params(clock)
    assert call(auth, params).client_id == "jwt-app"
    error = refused(InvalidClient, lambda: call(auth, params))  # replayed
    assert type(error.__cause__) is ReplayedToken
    named = assertion_params(clock, client_id="jwt-app")
    named["client_id"] = "jwt-app"  # the optional client_id parameter, naming the same client
    assert call(auth, named).client_id == "jwt-app"


def test_private_key_jwt_refusals(auth: ClientAuthenticator, clock: FakeClock) -> None:
    refused(UnknownClient, lambda: call(auth, assertion_params(clock, client_id="nobody")))
    refused(
        ClientAuthMethodNotRegistered,
        lambda: call(auth, assertion_params(clock, client_id="basic-app")),
    )
    garbage = {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": "x"}
    error = refused(InvalidClient, lambda: call(auth, garbage))
    assert isinstance(error.__cause__, MalformedToken)
    refused(InvalidClient, lambda: call(auth, {"client_assertion_type": CLIENT_ASSERTION_TYPE}))
    wrong_type = {**assertion_params(clock), "client_assertion_type": "urn:other"}
    refused(InvalidRequest, lambda: call(auth, wrong_type))
    # the body names one client, the assertion another
    mixed = assertion_params(clock, client_id="jwt-app")
    mixed["client_id"] = "basic-app"
    refused(ClientAuthMethodNotRegistered, lambda: call(auth, mixed))
    other_key = create_client_assertion(Key.generate("ES256"), "jwt-app", ENDPOINT, clock=clock)
    forged = {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": other_key}
    refused(InvalidClient, lambda: call(auth, forged))


# --- RFC 8705 ----------------------------------------------------------------------------------


def test_tls_client_auth(auth: ClientAuthenticator) -> None:
    params = {"grant_type": "client_credentials", "client_id": "mtls-app"}
    assert call(auth, params, certificate=TLS_CERT).client_id == "mtls-app"
    der = TLS_CERT.public_bytes(Encoding.DER)
    assert call(auth, params, certificate=der).client_id == "mtls-app"
    san = {"client_id": "san-app"}
    assert call(auth, san, certificate=TLS_CERT).client_id == "san-app"
    for certificate in (OTHER_CERT, PINNED_CERT, None, b"junk"):
        refused(ClientCertificateMismatch, lambda: call(auth, params, certificate=certificate))
        refused(ClientCertificateMismatch, lambda: call(auth, san, certificate=certificate))


def test_self_signed_tls_client_auth(auth: ClientAuthenticator) -> None:
    params = {"client_id": "pinned-app"}
    assert call(auth, params, certificate=PINNED_CERT).client_id == "pinned-app"
    for certificate in (TLS_CERT, make_cert("CN=pinned"), None):
        refused(ClientCertificateMismatch, lambda: call(auth, params, certificate=certificate))


def test_a_certificate_does_not_replace_a_secret(auth: ClientAuthenticator) -> None:
    refused(
        MissingClientCredentials,
        lambda: call(auth, {"client_id": "basic-app"}, certificate=TLS_CERT),
    )
    # ...but may come along with one (certificate-bound tokens for a secret client)
    header = basic_authorization("basic-app", SECRET)
    assert call(auth, authorization=header, certificate=TLS_CERT).client_id == "basic-app"


# --- the client credentials grant, end to end ---------------------------------------------------


def test_with_the_client_credentials_grant(auth: ClientAuthenticator, signer: Signer) -> None:
    params = {"grant_type": "client_credentials", "scope": "read"}
    authorization = basic_authorization("basic-app", SECRET)

    def token_endpoint(params: dict[str, str], authorization: str | None) -> Any:
        try:
            client = auth.authenticate(params, http_method="POST", authorization=authorization)
            return client_credentials_grant(signer, client, params)
        except OAuthError as exc:
            return error_response(exc)

    status, headers, body = token_endpoint(params, authorization)
    assert status == 200 and body["token_type"] == "Bearer" and body["scope"] == "read"
    status, headers, body = token_endpoint(params, basic_authorization("basic-app", "x" * 40))
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"] == 'Basic realm="token"'


# --- registries ---------------------------------------------------------------------------------


class FailingRegistry:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def registration(self, client_id: str) -> ClientRegistration | None:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "answer",
    [
        KeyError("db"),
        ConnectionError("down"),
        "not a registration",
        ClientRegistration(
            client("someone-else"),
            "tls_client_auth",
            tls_client_auth=TLSClientAuth(san_dns="x.example"),
        ),
    ],
)
def test_failing_registry_is_backend_unavailable(answer: Any) -> None:
    auth = ClientAuthenticator(FailingRegistry(answer))
    refused(BackendUnavailable, lambda: call(auth, {"client_id": "app"}))
    refused(
        BackendUnavailable, lambda: call(auth, authorization=basic_authorization("app", SECRET))
    )


def test_registry_errors_of_ours_pass_through() -> None:
    auth = ClientAuthenticator(FailingRegistry(BackendUnavailable("redis down")))
    refused(BackendUnavailable, lambda: call(auth, {"client_id": "app"}))


def test_custom_registry(clock: FakeClock) -> None:
    by_id = {r.client_id: r for r in registrations(clock)}

    class Registry:
        def registration(self, client_id: str) -> ClientRegistration | None:
            return by_id.get(client_id)

    assert isinstance(Registry(), ClientRegistry)
    auth = ClientAuthenticator(Registry())
    assert call(auth, {"client_id": "spa"}).client_id == "spa"
    # a private_key_jwt client with no assertion settings: the server's mistake, said loudly
    with pytest.raises(ConfigurationError):
        call(auth, assertion_params(clock))


def test_authenticator_configuration(clock: FakeClock) -> None:
    registry = MemoryClientRegistry(registrations(clock))
    with pytest.raises(ConfigurationError):
        ClientAuthenticator(registry)  # a private_key_jwt client, no token_endpoint
    with pytest.raises(ConfigurationError):
        ClientAuthenticator(registry, token_endpoint=ENDPOINT)  # no replay store
    with pytest.raises(ConfigurationError):
        ClientAuthenticator({"basic-app": "x"})  # type: ignore[arg-type]
    assert registry.methods() >= {"client_secret_basic", "private_key_jwt", "none"}


def test_registration_checks(clock: FakeClock) -> None:
    keys = MemoryKeyStore(KeySet([CLIENT_KEY.public_key()]), clock=clock)
    tls = TLSClientAuth(san_dns="x.example")
    bad: list[Callable[[], object]] = [
        lambda: ClientRegistration("basic-app", "client_secret_basic", secret_hash=SECRET_HASH),  # type: ignore[arg-type]
        lambda: ClientRegistration(client("a"), "client_secret_jwt"),
        lambda: ClientRegistration(client("a"), "client_secret_basic"),  # no hash
        lambda: ClientRegistration(client("a"), "client_secret_post", secret_hash=SECRET),
        lambda: ClientRegistration(
            client("a"), "client_secret_basic", secret_hash=SECRET_HASH, keys=keys
        ),
        lambda: ClientRegistration(client("a"), "private_key_jwt"),
        lambda: ClientRegistration(client("a"), "private_key_jwt", secret_hash=SECRET_HASH),
        lambda: ClientRegistration(client("a"), "tls_client_auth"),
        lambda: ClientRegistration(client("a"), "tls_client_auth", tls_client_auth="CN=a"),  # type: ignore[arg-type]
        lambda: ClientRegistration(client("a"), "self_signed_tls_client_auth"),
        lambda: ClientRegistration(
            client("a"),
            "self_signed_tls_client_auth",
            certificate_thumbprints="abc",  # type: ignore[arg-type]
        ),
        lambda: ClientRegistration(
            client("a"),
            "self_signed_tls_client_auth",
            certificate_thumbprints=frozenset({1}),  # type: ignore[arg-type]
        ),
        lambda: ClientRegistration(client("a"), "none", tls_client_auth=tls),
        lambda: ClientRegistration(client("a"), "none"),  # a public client_credentials client
        lambda: MemoryClientRegistry(["not a registration"]),  # type: ignore[list-item]
        lambda: MemoryClientRegistry(
            [ClientRegistration(client("a"), "tls_client_auth", tls_client_auth=tls)] * 2
        ),
    ]
    for make in bad:
        with pytest.raises(ConfigurationError):
            make()


def test_registration_repr_hides_credentials() -> None:
    registration = ClientRegistration(
        client("basic-app"), "client_secret_basic", secret_hash=SECRET_HASH
    )
    assert SECRET_HASH not in repr(registration) and "basic-app" in repr(registration)


def test_aauthenticate_runs_off_the_event_loop(clock: FakeClock) -> None:
    """The async face does the registry lookup and the scrypt check in a worker thread."""
    import asyncio
    import threading

    by_id = {r.client_id: r for r in registrations(clock)}
    threads: list[threading.Thread] = []

    class Registry:
        def registration(self, client_id: str) -> ClientRegistration | None:
            threads.append(threading.current_thread())
            return by_id.get(client_id)

    auth = ClientAuthenticator(Registry())
    header = basic_authorization("basic-app", SECRET)

    async def main() -> tuple[Client, threading.Thread]:
        found = await auth.aauthenticate({}, http_method="POST", authorization=header)
        with pytest.raises(ClientSecretMismatch) as info:
            await auth.aauthenticate(
                {}, http_method="POST", authorization=basic_authorization("basic-app", "x" * 40)
            )
        assert info.value.auth_scheme == "Basic"
        return found, threading.current_thread()

    found, loop_thread = asyncio.run(main())
    assert found.client_id == "basic-app"
    assert len(threads) == 2 and loop_thread not in threads
