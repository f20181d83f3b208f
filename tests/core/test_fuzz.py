"""Property-based fuzzing of every parser an attacker reaches.

The one property: ``validate()`` either returns a :class:`VerifiedToken` or raises a
:class:`TokenError` subclass; anything else (``KeyError``, ``TypeError``, ``RecursionError``,
``UnicodeError``, ``OverflowError``...) is a bug. Tokens are *structurally valid but mutated*
and, where the mutation is in the header or payload, re-signed with the right key so the
claim-level code is reached rather than stopping at the signature.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.forge import AUDIENCE, ISSUER, NOW, b64, claims, segment, signed_raw
from tokensmith import (
    NO_AUDIENCE,
    UNCHECKED,
    UNSAFE_ANY_AUDIENCE,
    Key,
    KeySet,
    MemoryKeyStore,
    Validator,
    VerifiedToken,
)
from tokensmith._b64 import b64url_decode, b64url_encode
from tokensmith.errors import KeyMaterialError, TokenError
from tokensmith.testing import FakeClock

HS = Key.from_secret(bytes(range(32)), "HS256", kid="hs-1")
HS512 = Key.from_secret(bytes(range(64)), "HS512", kid="hs-2")
ES = Key.generate("ES256", kid="es-1")
CLOCK = FakeClock(float(NOW))
STORE = MemoryKeyStore(KeySet([HS, HS512, ES.public_key()]), clock=CLOCK)
STRICT = Validator(STORE, issuer=ISSUER, audience=AUDIENCE, clock=CLOCK, max_age=3600)
LOOSE = Validator(
    STORE,
    issuer=UNCHECKED,
    audience=UNSAFE_ANY_AUDIENCE,
    token_types=UNCHECKED,
    require_exp=False,
    required_claims=["sub"],
    scopes=["read"],
    checks=[lambda tok: tok.claims.get("tenant") != "blocked"],
    clock=CLOCK,
)
NO_AUD = Validator(
    STORE,
    issuer=ISSUER,
    audience=NO_AUDIENCE,
    scope_claims=("scope", "scp", "scopes"),
    scopes=["read"],
    clock=CLOCK,
)
VALIDATORS = (STRICT, LOOSE, NO_AUD)
KEYS = {"hs-1": HS, "hs-2": HS512, "es-1": ES}

# Budget: about 10 000 examples in total, well under 30 s on one core.
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
MEDIUM = settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck))
LIGHT = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

# --- strategies ----------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=6,
)
time_values = st.one_of(
    st.integers(min_value=NOW - 10_000, max_value=NOW + 10_000),
    st.floats(min_value=NOW - 10_000, max_value=NOW + 10_000),
    json_values,
    st.sampled_from([0, -1, 2**64, 253402300799, 253402300800, 1e300, True, "1700000000"]),
)
registered = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([ISSUER, "https://other.test", ""]) | json_values,
        "aud": st.sampled_from([AUDIENCE, [AUDIENCE], [AUDIENCE, "x"], [], [[AUDIENCE]]])
        | json_values,
        "sub": st.text(max_size=10) | json_values,
        "exp": time_values,
        "nbf": time_values,
        "iat": time_values,
        "jti": st.text(max_size=10) | json_values,
        "scope": st.sampled_from(["read", "read write", ""]) | json_values,
        "scp": st.lists(st.sampled_from(["read", "write"]), max_size=3) | json_values,
        "scopes": st.lists(st.sampled_from(["read", "write"]), max_size=3) | json_values,
        "tenant": st.sampled_from(["acme", "blocked"]) | json_values,
    },
)
payloads = st.one_of(
    registered,
    st.builds(lambda extra: {**claims(), **extra}, registered),
    st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    json_values,  # not even an object
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "HS512", "ES256", "none", "RS256"]) | json_values},
    optional={
        "kid": st.sampled_from(["hs-1", "hs-2", "es-1", "nope", ""]) | json_values,
        "typ": st.sampled_from(["JWT", "at+jwt", "refresh+jwt", "application/at+jwt"])
        | json_values,
        "cty": st.sampled_from(["JWT", "json"]) | json_values,
        "crit": json_values,
        "b64": json_values,
        "jwk": json_values,
        "x5c": json_values,
    },
)


def _check(token: str | bytes) -> list[VerifiedToken]:
    """The property, for both validators; returns what was accepted."""
    accepted = []
    for validator in VALIDATORS:
        try:
            result = validator.validate(token)
        except TokenError:
            continue
        assert type(result) is VerifiedToken
        accepted.append(result)
    return accepted


def _sign(header: Any, payload: Any) -> str:
    """Sign with the key the header names (or HS256), as the legitimate issuer would."""
    kid = header.get("kid") if isinstance(header, dict) else None
    key = KEYS.get(kid, HS) if isinstance(kid, str) else HS
    return signed_raw(segment(header), segment(payload), key)


# --- properties ----------------------------------------------------------------------------


@MEDIUM
@given(payloads)
def test_random_claims_signed_correctly(payload: Any) -> None:
    header = {"alg": "HS256", "kid": "hs-1", "typ": "JWT"}
    for verified in _check(_sign(header, payload)):
        # Whatever was accepted honours the rules that are not optional.
        assert verified.key_id == "hs-1"
        if verified.expires_at is not None:
            assert verified.expires_at + 30 > NOW


@MEDIUM
@given(headers, payloads)
def test_random_headers_signed_correctly(header: dict[str, Any], payload: Any) -> None:
    for verified in _check(_sign(header, payload)):
        assert verified.header["alg"] in ("HS256", "HS512", "ES256")
        assert verified.algorithm == verified.header["alg"]
        assert "crit" not in verified.header


def _valid_token(data: st.DataObject) -> str:
    payload = {**claims(scope="read"), "extra": data.draw(json_values)}
    return _sign({"alg": "HS256", "kid": "hs-1", "typ": "JWT"}, payload)


@FUZZ
@given(st.data())
def test_mutated_valid_tokens(data: st.DataObject) -> None:
    token = _valid_token(data)
    assert len(_check(token)) == 2
    kind = data.draw(st.sampled_from(["flip", "insert", "delete", "swap", "dup", "truncate"]))
    chars = list(token)
    if kind == "flip":
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.characters(codec="utf-8") | st.sampled_from(list("AQgw-_.=+/ ")))
        mutated = "".join(chars)
    elif kind == "insert":
        i = data.draw(st.integers(0, len(chars)))
        mutated = token[:i] + data.draw(st.text(min_size=1, max_size=3)) + token[i:]
    elif kind == "delete":
        i = data.draw(st.integers(0, len(chars) - 1))
        j = data.draw(st.integers(i + 1, min(len(chars), i + 8)))
        mutated = token[:i] + token[j:]
    elif kind == "swap":
        parts = token.split(".")
        order = data.draw(st.permutations([0, 1, 2]))
        mutated = ".".join(parts[k] for k in order)
    elif kind == "dup":
        parts = token.split(".")
        k = data.draw(st.integers(0, 2))
        mutated = ".".join([*parts[: k + 1], parts[k], *parts[k + 1 :]])
    else:
        mutated = token[: data.draw(st.integers(0, len(token) - 1))]
    accepted = _check(mutated)
    # Strict canonical encoding: the only string that verifies is the original one.
    assert not accepted or mutated == token
    raw = mutated.encode("utf-8", "surrogatepass")
    assert not _check(raw) or raw == token.encode()


@FUZZ
@given(st.data())
def test_json_level_mutations_resigned(data: st.DataObject) -> None:
    """Mutate the decoded header/payload JSON text, re-encode and re-sign it."""
    header = json.dumps({"alg": "HS256", "kid": "hs-1", "typ": "JWT"}).encode()
    payload = json.dumps(claims(scope="read")).encode()
    target = data.draw(st.sampled_from(["header", "payload"]))
    text = bytearray(header if target == "header" else payload)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["byte", "insert", "delete"]))
        i = data.draw(st.integers(0, len(text) - 1))
        if op == "byte":
            text[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            text[i:i] = data.draw(
                st.sampled_from(
                    [b",", b"{", b"[", b'"', b"\\", b"\xff", b"\x00", b'"exp":1,', b"NaN", b" "]
                )
            )
        elif len(text) > 1:
            del text[i]
    h, p = (bytes(text), payload) if target == "header" else (header, bytes(text))
    _check(signed_raw(b64(h), b64(p), HS))


@LIGHT
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_input(data: str | bytes) -> None:
    assert _check(data) == []


@LIGHT
@given(
    st.lists(
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ",
            max_size=60,
        ),
        min_size=0,
        max_size=6,
    )
)
def test_dotted_base64ish_input(parts: list[str]) -> None:
    assert _check(".".join(parts)) == []


# --- parse-only targets -------------------------------------------------------------------

jwk_members = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["oct", "RSA", "EC", "OKP", "AES"]) | json_values,
        "alg": st.sampled_from(["HS256", "RS256", "ES256", "ES512", "EdDSA", "none"]) | json_values,
        "crv": st.sampled_from(["P-256", "P-521", "Ed25519", "X25519"]) | json_values,
        "k": st.binary(min_size=0, max_size=80).map(b64url_encode) | json_values,
        "x": st.binary(min_size=0, max_size=70).map(b64url_encode) | json_values,
        "y": st.binary(min_size=0, max_size=70).map(b64url_encode) | json_values,
        "n": st.binary(min_size=0, max_size=300).map(b64url_encode) | json_values,
        "e": st.sampled_from(["AQAB", "AQ", "Aw", ""]) | json_values,
        "d": st.binary(min_size=0, max_size=70).map(b64url_encode) | json_values,
        "kid": json_values,
        "use": st.sampled_from(["sig", "enc"]) | json_values,
        "key_ops": st.lists(st.sampled_from(["sign", "verify", "encrypt"])) | json_values,
    },
)


@LIGHT
@given(jwk_members | json_values, st.sampled_from([None, "HS256", "ES256", "RS256", "EdDSA"]))
def test_key_from_random_jwk(jwk: Any, alg: str | None) -> None:
    for value in (jwk, json.dumps(jwk)):
        try:
            key = Key.from_jwk(value, alg=alg)
        except KeyMaterialError:
            continue
        assert key.alg in ("HS256", "RS256", "ES256", "ES512", "EdDSA")


@given(
    st.text(max_size=12, alphabet=st.characters(codec="utf-8"))
    | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
)
@LIGHT
def test_key_from_jwk_text(text: str) -> None:
    try:
        Key.from_jwk(text)
    except KeyMaterialError:
        pass


@FUZZ
@given(st.text(max_size=40, alphabet=st.characters(codec="utf-8")))
def test_b64url_decode_is_strict_and_canonical(text: str) -> None:
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64url_encode(data) == text  # one encoding per byte string


@LIGHT
@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data
