from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from tests.support import ISSUER
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    InvalidAudience,
    InvalidClaim,
    InvalidTokenType,
    IssuedInFuture,
    Key,
    KeySet,
    MemoryKeyStore,
    MissingClaim,
    Signer,
)
from tokensmith.errors import (
    AuthenticationTooOld,
    InvalidAuthorizedParty,
    InvalidNonce,
    TokenHashMismatch,
)
from tokensmith.oauth import IDTokenValidator, issue_access_token, token_hash
from tokensmith.testing import FakeClock

CLIENT = "spa"


def make(clock: FakeClock, alg: str = "ES256", **kw: Any) -> tuple[Signer, IDTokenValidator]:
    store = MemoryKeyStore(KeySet([Key.generate(alg, **kw)]), clock=clock)
    return (
        Signer(store, issuer=ISSUER, ttl=300, clock=clock),
        IDTokenValidator(store, issuer=ISSUER, client_id=CLIENT, clock=clock),
    )


def test_valid_id_token(clock: FakeClock) -> None:
    signer, validator = make(clock)
    access_token, code = "at-value", "code-value"
    token = signer.issue(
        "alice",
        audience=CLIENT,
        claims={
            "nonce": "n-1",
            "auth_time": int(clock()) - 10,
            "at_hash": token_hash(access_token, "ES256"),
            "c_hash": token_hash(code, "ES256"),
        },
    )
    tok = validator.validate(
        token, nonce="n-1", max_age=60, access_token=access_token, code=code, require_hashes=True
    )
    assert tok.subject == "alice"
    assert "n-1" not in repr(validator)


def test_token_hash_reference_vector() -> None:
    # OpenID Connect Core §A.3: access_token and its at_hash for RS256.
    at = "jHkWEdUXMU1BwAsC4vtUsZwnNmG8KVdcBzgk1Xx1ipk"
    digest = hashlib.sha256(at.encode()).digest()[:16]
    assert token_hash(at, "RS256") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(token_hash(at, "ES384")) == 32
    assert len(token_hash(at, "HS512")) == 43
    assert (
        token_hash(at, "EdDSA")
        == base64.urlsafe_b64encode(hashlib.sha512(at.encode()).digest()[:32]).rstrip(b"=").decode()
    )
    assert len(token_hash(at, "EdDSA", curve="Ed448")) == 76
    for bad in ({"alg": "none"}, {"alg": "EdDSA", "curve": "X25519"}):
        with pytest.raises(ConfigurationError):
            token_hash(at, **bad)
    with pytest.raises(ConfigurationError):
        token_hash(b"x", "RS256")  # type: ignore[arg-type]


@pytest.mark.parametrize("curve", ["Ed25519", "Ed448"])
def test_eddsa_hash_uses_the_curve(clock: FakeClock, curve: str) -> None:
    signer, validator = make(clock, "EdDSA", curve=curve)
    token = signer.issue(
        "a", audience=CLIENT, claims={"at_hash": token_hash("at", "EdDSA", curve=curve)}
    )
    assert validator.validate(token, access_token="at")
    with pytest.raises(TokenHashMismatch):
        validator.validate(token, access_token="other")


def test_nonce(clock: FakeClock) -> None:
    signer, validator = make(clock)
    with_nonce = signer.issue("a", audience=CLIENT, claims={"nonce": "n-1"})
    without = signer.issue("a", audience=CLIENT)
    assert validator.validate(without)  # no nonce sent: none required
    assert validator.validate(with_nonce)
    for token, nonce in ((with_nonce, "n-2"), (without, "n-1")):
        with pytest.raises(InvalidNonce):
            validator.validate(token, nonce=nonce)
    with pytest.raises(ConfigurationError):
        validator.validate(with_nonce, nonce="")


def test_azp(clock: FakeClock) -> None:
    signer, validator = make(clock)
    assert validator.validate(signer.issue("a", audience=CLIENT, claims={"azp": CLIENT}))
    assert validator.validate(signer.issue("a", audience=[CLIENT, "api"], claims={"azp": CLIENT}))
    for audience, claims in (
        ([CLIENT, "api"], {}),
        ([CLIENT, "api"], {"azp": "api"}),
        (CLIENT, {"azp": "other"}),
        (CLIENT, {"azp": 5}),
    ):
        with pytest.raises(InvalidAuthorizedParty):
            validator.validate(signer.issue("a", audience=audience, claims=claims))
    with pytest.raises(InvalidAudience):
        validator.validate(signer.issue("a", audience="api", claims={"azp": CLIENT}))


def test_auth_time_and_max_age(clock: FakeClock) -> None:
    signer, validator = make(clock)
    now = int(clock())
    recent = signer.issue("a", audience=CLIENT, claims={"auth_time": now - 100})
    assert validator.validate(recent, max_age=100)
    with pytest.raises(AuthenticationTooOld):
        validator.validate(recent, max_age=60)
    with pytest.raises(MissingClaim) as info:
        validator.validate(signer.issue("a", audience=CLIENT), max_age=60)
    assert info.value.claim == "auth_time"
    with pytest.raises(IssuedInFuture):
        validator.validate(signer.issue("a", audience=CLIENT, claims={"auth_time": now + 3600}))
    for bad in ("yesterday", True, None, -62135596801, 2**70, [1]):
        with pytest.raises(InvalidClaim) as exc:
            validator.validate(signer.issue("a", audience=CLIENT, claims={"auth_time": bad}))
        assert type(exc.value) is InvalidClaim
    # a NumericDate before 1970 is a date (RFC 7519 §2), as for exp/nbf/iat: old, not invalid
    ancient = signer.issue("a", audience=CLIENT, claims={"auth_time": -1})
    assert validator.validate(ancient)
    with pytest.raises(AuthenticationTooOld):
        validator.validate(ancient, max_age=60)
    # null never satisfies a requirement: with max_age, a null auth_time is missing
    with pytest.raises(MissingClaim) as missing:
        validator.validate(
            signer.issue("a", audience=CLIENT, claims={"auth_time": None}), max_age=60
        )
    assert type(missing.value) is MissingClaim
    for bad_age in (-1, True, "60", float("nan")):
        with pytest.raises(ConfigurationError):
            validator.validate(recent, max_age=bad_age)  # type: ignore[arg-type]


def test_hashes(clock: FakeClock) -> None:
    signer, validator = make(clock)
    token = signer.issue("a", audience=CLIENT, claims={"c_hash": token_hash("code", "ES256")})
    assert validator.validate(token, code="code", access_token="at")  # at_hash optional
    with pytest.raises(MissingClaim):
        validator.validate(token, access_token="at", require_hashes=True)
    with pytest.raises(TokenHashMismatch):
        validator.validate(token, code="other")
    with pytest.raises(TokenHashMismatch):
        validator.validate(
            signer.issue("a", audience=CLIENT, claims={"at_hash": 7}), access_token="at"
        )


def test_access_token_is_not_an_id_token(clock: FakeClock) -> None:
    signer, validator = make(clock)
    at = issue_access_token(signer, client_id=CLIENT, audience=CLIENT, subject="a")
    with pytest.raises(InvalidTokenType):
        validator.validate(at.token)


def test_required_claims(clock: FakeClock) -> None:
    signer, _ = make(clock)
    store: Any = signer._keys  # the same store
    validator = IDTokenValidator(
        store, issuer=ISSUER, client_id=CLIENT, clock=clock, required_claims="acr"
    )
    with pytest.raises(MissingClaim):
        validator.validate(signer.issue("a", audience=CLIENT))
    with pytest.raises(MissingClaim):
        IDTokenValidator(store, issuer=ISSUER, client_id=CLIENT, clock=clock).validate(
            signer.issue(None, audience=CLIENT)
        )


def test_configuration_errors(clock: FakeClock) -> None:
    store = MemoryKeyStore(clock=clock)
    for kw in ({"audience": "x"}, {"token_types": ["at+jwt"]}, {"max_age": 5}):
        with pytest.raises(ConfigurationError):
            IDTokenValidator(store, issuer=ISSUER, client_id=CLIENT, **kw)
    with pytest.raises(ConfigurationError):
        IDTokenValidator(store, issuer=ISSUER, client_id="")
    with pytest.raises(ConfigurationError):
        IDTokenValidator(store, issuer="", client_id=CLIENT)


@pytest.mark.parametrize("name", ["at_hash", "c_hash"])
def test_null_hash_claims(clock: FakeClock, name: str) -> None:
    signer, validator = make(clock)
    token = signer.issue("a", audience=CLIENT, claims={name: None})
    with pytest.raises(InvalidClaim) as invalid:  # optional here, and null: the wrong type
        validator.validate(token, access_token="at", code="c")
    assert type(invalid.value) is InvalidClaim
    with pytest.raises(MissingClaim):  # required: null is missing
        validator.validate(token, access_token="at", code="c", require_hashes=True)


def test_a_failing_key_source_during_the_eddsa_hash_check_is_an_outage(clock: FakeClock) -> None:
    key = Key.generate("EdDSA")
    signer = Signer(MemoryKeyStore(KeySet([key]), clock=clock), issuer=ISSUER, clock=clock)
    token = signer.issue("a", audience=CLIENT, claims={"at_hash": token_hash("at", "EdDSA")})

    class Flaky:
        calls = 0

        def verification_key(self, kid: str | None, alg: str) -> Key:
            self.calls += 1
            if self.calls > 1:  # fine for the signature, gone for the curve lookup
                raise KeyError(kid)
            return key.public_key()

    validator = IDTokenValidator(Flaky(), issuer=ISSUER, client_id=CLIENT, clock=clock)
    with pytest.raises(BackendUnavailable) as info:
        validator.validate(token, access_token="at")
    assert type(info.value) is BackendUnavailable and type(info.value.__cause__) is KeyError
