from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import forge, segment
from tokensmith import (
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    AlgorithmMismatch,
    AlgorithmNotAllowed,
    AmbiguousKey,
    BackendUnavailable,
    ClaimCheckFailed,
    ConfigurationError,
    ExpiredToken,
    ImmatureToken,
    InsufficientScope,
    InvalidAudience,
    InvalidClaim,
    InvalidEncoding,
    InvalidIssuer,
    InvalidJSON,
    InvalidSignature,
    InvalidTokenType,
    IssuedInFuture,
    Key,
    KeySet,
    MalformedToken,
    MemoryKeyStore,
    MemoryRevocationList,
    MissingClaim,
    Signer,
    TokenError,
    TokenRevoked,
    TokenTooLarge,
    TokenTooOld,
    UnknownKey,
    UnsupportedHeader,
    Validator,
    VerifiedToken,
    revoke_token,
)
from tokensmith.testing import FakeClock


@pytest.fixture
def key(store: MemoryKeyStore) -> Key:
    return store.signing_key()


def claims(clock: FakeClock, **extra: Any) -> dict[str, Any]:
    now = int(clock())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def header(key: Key, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def test_valid_token_view(signer: Signer, validator: Validator, key: Key, clock: FakeClock) -> None:
    token = signer.issue(
        "u", audience=AUDIENCE, scopes=["a", "b"], claims={"sid": "s", "client_id": "c"}
    )
    tok = validator.validate(token, scopes=["a"])
    assert tok.subject == "u"
    assert tok.issuer == ISSUER
    assert tok.audience == (AUDIENCE,)
    assert tok.scopes == {"a", "b"}
    assert tok.expires_at == clock() + 600
    assert tok.issued_at == clock()
    assert tok.key_id == key.kid
    assert tok.algorithm == "ES256"
    assert tok.session_id == "s"
    assert tok.client_id == "c"
    assert tok.token_type == "JWT"
    assert tok.has_scopes("a", "b") and not tok.has_scopes("c")
    assert token not in repr(tok)
    assert tok.fingerprint is not None and len(tok.fingerprint) == 16
    assert validator.validate(token.encode()).subject == "u"


def test_scp_list_and_string(validator: Validator, key: Key, clock: FakeClock) -> None:
    tok = validator.validate(forge(header(key), claims(clock, scp=["x", "y"], scope="z"), key))
    assert tok.scopes == {"x", "y", "z"}
    tok = validator.validate(forge(header(key), claims(clock, scp="p q"), key))
    assert tok.scopes == {"p", "q"}


REFUSALS: list[tuple[str, Any, Any, type[TokenError]]] = [
    # (name, header overrides, claim overrides, error)
    ("expired", {}, {"exp": "__-100"}, ExpiredToken),
    ("not yet valid", {}, {"nbf": "__+100"}, ImmatureToken),
    ("issued in future", {}, {"iat": "__+100"}, IssuedInFuture),
    ("wrong issuer", {}, {"iss": "https://evil.test"}, InvalidIssuer),
    ("missing issuer", {}, {"iss": None}, MissingClaim),
    ("issuer not string", {}, {"iss": ["x"]}, InvalidClaim),
    ("wrong audience", {}, {"aud": "other"}, InvalidAudience),
    ("wrong audiences", {}, {"aud": ["x", "y"]}, InvalidAudience),
    ("missing audience", {}, {"aud": None}, MissingClaim),
    ("empty audience list", {}, {"aud": []}, InvalidAudience),
    ("nested audience", {}, {"aud": [[AUDIENCE]]}, InvalidClaim),
    ("object audience", {}, {"aud": {"a": AUDIENCE}}, InvalidClaim),
    ("missing exp", {}, {"exp": None}, MissingClaim),
    ("exp string", {}, {"exp": "9999999999"}, InvalidClaim),
    ("exp bool", {}, {"exp": True}, InvalidClaim),
    ("exp null", {}, {"exp": "__null__"}, MissingClaim),  # required, and null: missing
    ("exp negative", {}, {"exp": -5}, ExpiredToken),  # 1969 is a date, and past
    ("exp before year 1", {}, {"exp": -62135596801}, InvalidClaim),
    ("exp huge", {}, {"exp": 2**64}, InvalidClaim),
    ("nbf list", {}, {"nbf": [1]}, InvalidClaim),
    ("iat float huge", {}, {"iat": 1e300}, InvalidClaim),
    ("sub not string", {}, {"sub": 5}, InvalidClaim),
    ("jti not string", {}, {"jti": 5}, InvalidClaim),
    ("scope not string or list", {}, {"scope": 5}, InvalidClaim),
    ("scp not list of strings", {}, {"scp": [1]}, InvalidClaim),
    ("alg none", {"alg": "none"}, {}, AlgorithmNotAllowed),
    ("alg NONE", {"alg": "NONE"}, {}, AlgorithmNotAllowed),
    ("alg missing", {"alg": None}, {}, AlgorithmNotAllowed),
    ("alg not string", {"alg": ["ES256"]}, {}, AlgorithmNotAllowed),
    ("alg unknown", {"alg": "ES256K"}, {}, AlgorithmNotAllowed),
    ("alg other", {"alg": "ES384"}, {}, AlgorithmMismatch),
    ("unknown kid", {"kid": "nope"}, {}, UnknownKey),
    ("kid not string", {"kid": 1}, {}, UnknownKey),
    ("kid empty", {"kid": ""}, {}, UnknownKey),
    ("kid huge", {"kid": "k" * 300}, {}, UnknownKey),
    ("crit", {"crit": ["exp"], "exp": 1}, {}, UnsupportedHeader),
    ("crit empty", {"crit": []}, {}, UnsupportedHeader),
    ("b64 false", {"b64": False}, {}, UnsupportedHeader),
    ("nested jwt", {"cty": "JWT"}, {}, UnsupportedHeader),
    ("cty not string", {"cty": 5}, {}, UnsupportedHeader),
    ("typ refresh", {"typ": "refresh+jwt"}, {}, InvalidTokenType),
    ("typ not string", {"typ": 5}, {}, InvalidTokenType),
]


@pytest.mark.parametrize(("name", "head", "body", "error"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(
    validator: Validator,
    key: Key,
    clock: FakeClock,
    name: str,
    head: Any,
    body: Any,
    error: type[TokenError],
) -> None:
    payload = claims(clock, **{k: v for k, v in body.items() if v != "__null__"})
    for name, value in body.items():
        if value == "__null__":
            payload[name] = None
        elif isinstance(value, str) and value.startswith("__"):
            payload[name] = int(clock()) + int(value[2:])
    token = forge(header(key, **head), payload, key)
    with pytest.raises(error) as info:
        validator.validate(token)
    assert type(info.value) is error
    assert token not in str(info.value)
    assert info.value.code
    assert info.value.error in ("invalid_token", "insufficient_scope")


def test_expired_at_exp_with_leeway(signer: Signer, validator: Validator, clock: FakeClock) -> None:
    token = signer.issue("u", audience=AUDIENCE, ttl=60)
    clock.advance(60 + 29)
    validator.validate(token)
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        validator.validate(token)


def test_exactly_at_exp_without_leeway(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    strict = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, leeway=0)
    token = signer.issue("u", audience=AUDIENCE, ttl=60)
    clock.advance(59)
    strict.validate(token)
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        strict.validate(token)


def test_max_age(store: MemoryKeyStore, signer: Signer, key: Key, clock: FakeClock) -> None:
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock, max_age=100, leeway=0)
    token = signer.issue("u", audience=AUDIENCE)
    clock.advance(100)
    v.validate(token)
    clock.advance(1)
    with pytest.raises(TokenTooOld):
        v.validate(token)
    with pytest.raises(MissingClaim):
        v.validate(forge(header(key), claims(clock, iat=None), key))


def test_bad_signature(validator: Validator, signer: Signer, store: MemoryKeyStore) -> None:
    token = signer.issue("u", audience=AUDIENCE)
    h, p, _ = token.split(".")
    other = Key.generate("ES256", kid=store.signing_key().kid)
    forged = forge(json.loads(__import__("base64").urlsafe_b64decode(h + "==")), {}, other)
    bad = f"{h}.{p}.{forged.split('.')[2]}"
    with pytest.raises(InvalidSignature):
        validator.validate(bad)
    tampered_payload = segment({"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "exp": 2**31})
    with pytest.raises(InvalidSignature):
        validator.validate(f"{h}.{tampered_payload}.{token.split('.')[2]}")


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("", MalformedToken),
        ("abc", MalformedToken),
        ("a.b", MalformedToken),
        ("a.b.c.d", MalformedToken),
        ("a.b.c.d.e", MalformedToken),
        ('{"payload":"x","signatures":[]}', MalformedToken),
        (".b.c", MalformedToken),
        ("a.b.", InvalidEncoding),  # the header is judged before the empty signature
        ("a=.b.c", InvalidEncoding),
        (segment({"alg": "HS256"}) + ".e30.!!", InvalidEncoding),
        (segment({"alg": "HS256"}) + ".e3=.AA", InvalidEncoding),
        ("bm90IGpzb24.e30.AA", InvalidJSON),
        ("WzFd.e30.AA", InvalidJSON),  # header is a list
        ("eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ.e30.AA", InvalidJSON),  # duplicate alg
        ("_w.e30.AA", InvalidJSON),  # not UTF-8
        ("eyJhbGciOk5hTn0.e30.AA", InvalidJSON),  # NaN constant
    ],
)
def test_structural_refusals(validator: Validator, token: str, error: type[TokenError]) -> None:
    with pytest.raises(error) as info:
        validator.validate(token)
    assert type(info.value) is error


def test_payload_json_checked_after_signature(validator: Validator, key: Key) -> None:
    for payload in (b"[1]", b'{"a":1,"a":2}', b"\xff", b'{"exp": Infinity}', b"1" * 5000):
        token = forge(header(key), payload, key)
        with pytest.raises(InvalidJSON):
            validator.validate(token)


def test_deep_nesting_is_invalid_json(validator: Validator, key: Key) -> None:
    token = forge(header(key), b"[" * 3000 + b"]" * 3000, key)
    v = Validator(validator._keys, issuer=ISSUER, audience=AUDIENCE, max_token_size=100_000)
    with pytest.raises(InvalidJSON):
        v.validate(token)


def test_size_limit_before_decoding(validator: Validator) -> None:
    with pytest.raises(TokenTooLarge):
        validator.validate("a" * 10_000)
    with pytest.raises(TokenTooLarge):
        validator.validate(b"a" * 10_000)


@pytest.mark.parametrize("token", [None, 5, ["a.b.c"], b"\xff.\xff.\xff", "é.b.c"])
def test_non_string_or_non_ascii_input(validator: Validator, token: Any) -> None:
    with pytest.raises(MalformedToken):
        validator.validate(token)


def test_ambiguous_without_kid(clock: FakeClock) -> None:
    a, b = Key.generate("HS256", kid="a"), Key.generate("HS256", kid="b")
    v = Validator(
        MemoryKeyStore(KeySet([a, b]), clock=clock), issuer=ISSUER, audience=AUDIENCE, clock=clock
    )
    with pytest.raises(AmbiguousKey):
        v.validate(forge({"alg": "HS256"}, claims(clock), a))
    single = Validator(
        MemoryKeyStore(KeySet([a]), clock=clock), issuer=ISSUER, audience=AUDIENCE, clock=clock
    )
    assert single.validate(forge({"alg": "HS256"}, claims(clock), a)).key_id == "a"


def test_algorithms_policy(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, algorithms=["EdDSA"], clock=clock)
    with pytest.raises(AlgorithmNotAllowed):
        v.validate(forge(header(key), claims(clock), key))


def test_token_types(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    at = Validator(store, issuer=ISSUER, audience=AUDIENCE, token_types=["at+jwt"], clock=clock)
    at.validate(forge(header(key, typ="application/AT+JWT"), claims(clock), key))
    with pytest.raises(InvalidTokenType):
        at.validate(forge(header(key, typ=None), claims(clock), key))
    anything = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, token_types=UNCHECKED, clock=clock
    )
    anything.validate(forge(header(key, typ="whatever"), claims(clock), key))


def test_opt_outs_by_name(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    v = Validator(
        store, issuer=UNCHECKED, audience=UNSAFE_ANY_AUDIENCE, require_exp=False, clock=clock
    )
    tok = v.validate(forge(header(key), claims(clock, iss=None, aud=None, exp=None), key))
    assert tok.issuer is None and tok.audience == () and tok.expires_at is None
    with pytest.raises(InvalidClaim):  # shapes are still checked
        v.validate(forge(header(key), claims(clock, aud=[1]), key))
    assert "issuer=UNCHECKED" in repr(v) and "audience=UNSAFE_ANY_AUDIENCE" in repr(v)


def test_several_issuers_and_audiences(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    v = Validator(store, issuer=[ISSUER, "https://b"], audience=("x", AUDIENCE), clock=clock)
    v.validate(forge(header(key), claims(clock, iss="https://b", aud=["y", "x"]), key))


def test_required_claims_and_checks(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    def tenant_is_acme(tok: VerifiedToken) -> bool:
        return tok.claims.get("tenant") == "acme"

    def broken(tok: VerifiedToken) -> None:
        raise KeyError("oops")

    v = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        required_claims=["tenant"],
        checks=[tenant_is_acme],
        clock=clock,
    )
    v.validate(forge(header(key), claims(clock, tenant="acme"), key))
    with pytest.raises(MissingClaim):
        v.validate(forge(header(key), claims(clock), key))
    with pytest.raises(ClaimCheckFailed):
        v.validate(forge(header(key), claims(clock, tenant="evil"), key))
    v2 = Validator(store, issuer=ISSUER, audience=AUDIENCE, checks=[broken], clock=clock)
    with pytest.raises(ClaimCheckFailed) as info:
        v2.validate(forge(header(key), claims(clock), key))
    assert isinstance(info.value.__cause__, KeyError)

    def refuses(tok: VerifiedToken) -> None:
        raise InvalidAudience("custom")

    v3 = Validator(store, issuer=ISSUER, audience=AUDIENCE, checks=[refuses], clock=clock)
    with pytest.raises(InvalidAudience):
        v3.validate(forge(header(key), claims(clock), key))


def test_scopes_policy_and_per_call(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, scopes=["read"], clock=clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["read", "write"])
    v.validate(token, scopes="write")
    with pytest.raises(InsufficientScope) as info:
        v.validate(token, scopes=["admin"])
    assert info.value.status_code == 403
    assert info.value.error == "insufficient_scope"
    assert info.value.required == {"read", "admin"}
    with pytest.raises(InsufficientScope):
        v.validate(signer.issue("u", audience=AUDIENCE))


@pytest.mark.parametrize(
    "scopes",
    [[["read"]], [{"read": 1}], ("read", {}), [1], [None], ["read", ""], ["read write"]],
)
def test_per_call_scopes_that_are_not_scope_strings_are_a_configuration_error(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock, scopes: Any
) -> None:
    """A caller's mistake is named, never a bare TypeError, on both faces."""
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["read", "write"])
    with pytest.raises(ConfigurationError):
        v.validate(token, scopes=scopes)
    with pytest.raises(ConfigurationError):
        asyncio.run(v.avalidate(token, scopes=scopes))


@pytest.mark.parametrize("kind", [list, tuple, set, frozenset, iter, " ".join])
def test_per_call_scopes_of_every_kind_are_enforced(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock, kind: Any
) -> None:
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["read", "write"])
    assert v.validate(token, scopes=kind(["read", "write"])).subject == "u"
    with pytest.raises(InsufficientScope):
        v.validate(token, scopes=kind(["read", "admin"]))


def test_revocation(store: MemoryKeyStore, signer: Signer, clock: FakeClock) -> None:
    revocations = MemoryRevocationList(clock=clock)
    v = Validator(store, issuer=ISSUER, audience=AUDIENCE, revocation=revocations, clock=clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["x"])
    revoke_token(revocations, v.validate(token))
    with pytest.raises(TokenRevoked):
        v.validate(token)
    with pytest.raises(TokenRevoked):  # revoked wins over insufficient scope
        v.validate(token, scopes=["y"])
    other = signer.issue("u2", audience=AUDIENCE)
    v.validate(other)
    revocations.revoke_subject("u2", issuer=ISSUER, before=clock(), expires_at=clock() + 600)
    with pytest.raises(TokenRevoked):
        v.validate(other)


class Broken:
    def verification_key(self, kid: str | None, alg: str) -> Key:
        raise ConnectionError("down")

    def is_revoked(self, token: VerifiedToken) -> bool:
        raise TimeoutError("slow")


class Lookup:
    def verification_key(self, kid: str | None, alg: str) -> Key:
        raise KeyError(kid)


class Liar:
    def __init__(self, key: Any) -> None:
        self.key = key

    def verification_key(self, kid: str | None, alg: str) -> Any:
        return self.key


def test_backend_failures(
    store: MemoryKeyStore, signer: Signer, key: Key, clock: FakeClock
) -> None:
    token = signer.issue("u", audience=AUDIENCE)
    with pytest.raises(BackendUnavailable):
        Validator(Broken(), issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(token)
    with pytest.raises(BackendUnavailable) as info:  # a source's KeyError is its own failure
        Validator(Lookup(), issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(token)
    assert type(info.value.__cause__) is KeyError
    with pytest.raises(BackendUnavailable):
        Validator(
            store,
            issuer=ISSUER,
            audience=AUDIENCE,
            revocation=Broken(),  # type: ignore[arg-type]  # a double: only is_revoked
            clock=clock,
        ).validate(token)
    with pytest.raises(BackendUnavailable):
        Validator(Liar("not a key"), issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(token)
    with pytest.raises(AlgorithmMismatch):
        Validator(
            Liar(Key.generate("HS256", kid=key.kid)), issuer=ISSUER, audience=AUDIENCE, clock=clock
        ).validate(token)
    impostor = Key.generate("ES256", kid="another")
    with pytest.raises(UnknownKey):
        Validator(Liar(impostor), issuer=ISSUER, audience=AUDIENCE, clock=clock).validate(token)


class AsyncSource:
    def __init__(self, store: MemoryKeyStore) -> None:
        self.store = store

    async def verification_key(self, kid: str | None, alg: str) -> Key:
        return self.store.verification_key(kid, alg)


class AsyncRevocations:
    def __init__(self, inner: MemoryRevocationList) -> None:
        self.inner = inner

    async def is_revoked(self, token: VerifiedToken) -> bool:
        return self.inner.is_revoked(token)


class AsyncBroken:
    async def verification_key(self, kid: str | None, alg: str) -> Key:
        raise OSError("down")

    async def is_revoked(self, token: VerifiedToken) -> bool:
        raise OSError("down")


class AsyncLookup:
    async def verification_key(self, kid: str | None, alg: str) -> Key:
        raise LookupError(kid)


def test_avalidate_with_async_and_sync_backends(
    store: MemoryKeyStore, signer: Signer, clock: FakeClock
) -> None:
    revocations = MemoryRevocationList(clock=clock)
    token = signer.issue("u", audience=AUDIENCE, scopes=["a"])
    av = Validator(
        AsyncSource(store),
        issuer=ISSUER,
        audience=AUDIENCE,
        revocation=AsyncRevocations(revocations),  # type: ignore[arg-type]  # a double: only is_revoked
        clock=clock,
    )
    sv = Validator(store, issuer=ISSUER, audience=AUDIENCE, revocation=revocations, clock=clock)
    assert asyncio.run(av.avalidate(token, scopes=["a"])).subject == "u"
    assert asyncio.run(sv.avalidate(token)).subject == "u"
    with pytest.raises(ConfigurationError):
        av.validate(token)
    with pytest.raises(InsufficientScope):
        asyncio.run(av.avalidate(token, scopes=["b"]))
    revoke_token(revocations, sv.validate(token))
    with pytest.raises(TokenRevoked):
        asyncio.run(av.avalidate(token))
    with pytest.raises(TokenRevoked):
        asyncio.run(sv.avalidate(token))
    with pytest.raises(BackendUnavailable):
        asyncio.run(
            Validator(AsyncBroken(), issuer=ISSUER, audience=AUDIENCE, clock=clock).avalidate(token)
        )
    with pytest.raises(BackendUnavailable):
        asyncio.run(
            Validator(AsyncLookup(), issuer=ISSUER, audience=AUDIENCE, clock=clock).avalidate(token)
        )
    with pytest.raises(BackendUnavailable):
        asyncio.run(
            Validator(
                store,
                issuer=ISSUER,
                audience=AUDIENCE,
                revocation=AsyncBroken(),  # type: ignore[arg-type]  # a double: only is_revoked
                clock=clock,
            ).avalidate(token)
        )
    with pytest.raises(MalformedToken):
        asyncio.run(av.avalidate("x"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"issuer": None},
        {"audience": None},
        {"issuer": ""},
        {"issuer": []},
        {"audience": [1]},
        {"audience": b"x"},
        {"algorithms": ["none"]},
        {"algorithms": []},
        {"algorithms": ["HS1"]},
        {"leeway": -1},
        {"leeway": 301},
        {"leeway": float("nan")},
        {"leeway": "30"},
        {"max_age": 0},
        {"required_claims": [""]},
        {"token_types": []},
        {"token_types": [5]},
        {"scopes": ["a b"]},
        {"checks": ["not callable"]},
        {"max_token_size": 10},
        {"max_token_size": True},
        {"require_exp": "no"},
        {"revocation": object()},
        {"clock": 5},
    ],
)
def test_bad_configuration_fails_at_construction(
    store: MemoryKeyStore, kwargs: dict[str, Any]
) -> None:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, **kwargs}
    with pytest.raises(ConfigurationError):
        Validator(store, **options)


def test_keys_must_be_a_key_source() -> None:
    with pytest.raises(ConfigurationError):
        Validator(object(), issuer=ISSUER, audience=AUDIENCE)  # type: ignore[arg-type]


def test_header_cache_is_bounded(validator: Validator, key: Key, clock: FakeClock) -> None:
    for i in range(600):
        validator.validate(forge(header(key, x=i), claims(clock), key))
    assert len(validator._header_cache) <= 512


def test_policy_is_exposed_and_frozen(validator: Validator) -> None:
    assert validator.policy.issuers == frozenset({ISSUER})
    with pytest.raises(AttributeError):
        validator.policy.leeway = 0


# --- properties: nothing but TokenError ever escapes ----------------------------------------


@settings(
    max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_random_input_only_raises_token_errors(validator: Validator, data: str | bytes) -> None:
    with pytest.raises(TokenError):
        validator.validate(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
claim_names = st.sampled_from(
    ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "scope", "scp", "sid", "x"]
)


@settings(
    max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    st.dictionaries(claim_names, json_values, max_size=8),
    st.dictionaries(
        st.sampled_from(["typ", "cty", "crit", "b64", "jku", "x5c"]), json_values, max_size=3
    ),
)
def test_signed_random_claims_only_raise_token_errors(
    validator: Validator,
    key: Key,
    clock: FakeClock,
    payload: dict[str, Any],
    extra_header: dict[str, Any],
) -> None:
    try:
        token = forge({**header(key), **extra_header}, payload, key)
    except ValueError:
        return  # json.dumps refuses NaN-free nothing; keep hypothesis honest
    try:
        validator.validate(token)
    except TokenError:
        pass


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=255))
def test_mutated_valid_tokens_only_raise_token_errors(
    signer: Signer, validator: Validator, position: int, byte: int
) -> None:
    token = signer.issue("u", audience=AUDIENCE)
    position %= len(token)
    mutated = token[:position] + chr(byte) + token[position + 1 :]
    try:
        validator.validate(mutated)
    except TokenError:
        pass


def test_validate_and_avalidate_are_twins() -> None:
    """The two faces take the same parameters; only avalidate awaits (tests/support/faces.py).
    The attack suite runs every attack through both (tests/attacks/conftest.py)."""
    from tests.support.faces import assert_twin_functions

    assert_twin_functions(Validator.validate, Validator.avalidate)
