"""Cross-issuer, cross-type and key-source confusion: a token must come from a trusted issuer,
be the kind of JWT this validator accepts, and verify with exactly the key its header names."""

from __future__ import annotations

import pytest

from tests.attacks._assert import refused, validated
from tests.attacks.conftest import validator_for
from tests.support.forge import ISSUER, claims, header_for, signed
from tokensmith import (
    UNCHECKED,
    AlgorithmMismatch,
    BackendUnavailable,
    InvalidIssuer,
    InvalidKey,
    InvalidSignature,
    InvalidTokenType,
    Key,
    KeySet,
    MemoryKeyStore,
    Signer,
    UnknownKey,
    Validator,
)
from tokensmith.testing import FakeClock

# --- another issuer, same kid --------------------------------------------------------------


def test_other_issuer_key_with_a_shared_kid(clock: FakeClock) -> None:
    ours = Key.generate("ES256", kid="2024-01")
    theirs = Key.generate("ES256", kid="2024-01")  # another tenant picked the same kid
    validator = validator_for(ours, clock=clock)
    # Their token, claiming to be us or themselves: our key with that kid does not verify it.
    for iss in (ISSUER, "https://other.example.test"):
        refused(validator, signed(header_for(theirs), claims(iss=iss), theirs), InvalidSignature)
    # Both keys cannot live in one set: a kid names exactly one key.
    with pytest.raises(InvalidKey) as info:
        KeySet([ours.public_key(), theirs.public_key()])
    assert type(info.value) is InvalidKey


def test_other_issuer_validated_by_its_own_validator(clock: FakeClock) -> None:
    ours = Key.generate("ES256", kid="shared")
    theirs = Key.generate("ES256", kid="shared")
    their_validator = Validator(
        MemoryKeyStore(KeySet([theirs.public_key()]), clock=clock),
        issuer="https://other.example.test",
        audience="orders-api",
        clock=clock,
    )
    # Our genuine token, presented to the other issuer's validator.
    refused(their_validator, signed(header_for(ours), claims(), ours), InvalidSignature)
    # Their genuine token with our iss: the signature is theirs, the issuer is not.
    refused(their_validator, signed(header_for(theirs), claims(), theirs), InvalidIssuer)


def test_issuer_near_misses(hs_key: Key, hs_validator: Validator) -> None:
    for iss in (
        ISSUER + "/",
        ISSUER.upper(),
        "http://auth.example.test",
        ISSUER + "\x00",
        ISSUER + ".evil.test",
        " " + ISSUER,
    ):
        refused(hs_validator, signed(header_for(hs_key), claims(iss=iss), hs_key), InvalidIssuer)


# --- alg / kid mismatch -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "HS256"])
def test_kid_of_an_rs256_key_with_another_alg(alg: str, rsa_key: Key, clock: FakeClock) -> None:
    validator = validator_for(rsa_key, clock=clock)
    if alg.startswith(("RS", "PS")):  # signed with the very same RSA key under the other alg
        signer_key = Key.from_pem(rsa_key.to_pem(private=True), alg, kid=rsa_key.kid)
    else:
        signer_key = rsa_key
    token = signed(header_for(rsa_key, alg=alg), claims(), signer_key)
    refused(validator, token, AlgorithmMismatch)


# --- typ confusion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ",
    [
        "refresh+jwt",
        "application/refresh+jwt",
        "dpop+jwt",
        "secevent+jwt",
        "logout+jwt",
        "client-authentication+jwt",
        "id_token+jwt",
        "JWS",
        "JOSE",
        "JOSE+JSON",
        "jwt ",
        "at+jwt; charset=utf-8",
        "",
        1,
        True,
        [],
        ["JWT"],
        None,  # "typ": null is not a missing typ
    ],
    ids=repr,
)
def test_typ_confusion(typ: object, hs_key: Key, hs_validator: Validator) -> None:
    header = {"alg": "HS256", "kid": hs_key.kid, "typ": typ}
    refused(hs_validator, signed(header, claims(), hs_key), InvalidTokenType)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", None])
def test_accepted_types(typ: str | None, hs_key: Key, hs_validator: Validator) -> None:
    header = {"alg": "HS256", "kid": hs_key.kid} | ({"typ": typ} if typ else {})
    assert validated(hs_validator, signed(header, claims(), hs_key))


def test_refresh_token_is_not_an_access_token(hs_key: Key, clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet([hs_key]), clock=clock)
    refresh = Signer(store, issuer=ISSUER, clock=clock, token_type="refresh+jwt")
    token = refresh.issue("user-1", audience="orders-api")
    access_validator = validator_for(hs_key, clock=clock)
    refused(access_validator, token, InvalidTokenType)
    refresh_validator = validator_for(hs_key, clock=clock, token_types=["refresh+jwt"])
    assert validated(refresh_validator, token).token_type == "refresh+jwt"
    refused(refresh_validator, signed(header_for(hs_key), claims(), hs_key), InvalidTokenType)


def test_typ_unchecked_only_by_name(hs_key: Key, clock: FakeClock) -> None:
    validator = validator_for(hs_key, clock=clock, token_types=UNCHECKED)
    assert validated(validator, signed(header_for(hs_key, typ="dpop+jwt"), claims(), hs_key))


# --- a custom key source that misbehaves ------------------------------------------------------


class WrongAlgSource:
    """Returns a key bound to another algorithm than the one asked for."""

    def __init__(self, key: Key) -> None:
        self.key = key

    def verification_key(self, kid: str | None, alg: str) -> Key:
        return self.key


class WrongKidSource(WrongAlgSource):
    def verification_key(self, kid: str | None, alg: str) -> Key:
        return Key.from_secret(bytes(32), alg, kid="someone-else")


class NotAKeySource(WrongAlgSource):
    def verification_key(self, kid: str | None, alg: str) -> Key:
        return self.key.to_jwk(private=True)  # type: ignore[return-value]


def test_key_source_returning_a_key_for_another_alg(
    hs_key: Key, rsa_key: Key, clock: FakeClock
) -> None:
    hs384 = Key.from_secret(bytes(range(48)), "HS384", kid=hs_key.kid)
    validator = Validator(WrongAlgSource(hs384), issuer=ISSUER, audience="orders-api", clock=clock)
    refused(validator, signed(header_for(hs_key), claims(), hs_key), AlgorithmMismatch)
    refused(validator, signed(header_for(hs384, alg="HS256"), claims(), hs384), AlgorithmMismatch)
    # The classic: a source that hands back the RSA public key for an HS256 header.
    validator = Validator(
        WrongAlgSource(rsa_key.public_key()), issuer=ISSUER, audience="orders-api", clock=clock
    )
    token = signed({"alg": "HS256", "kid": rsa_key.kid, "typ": "JWT"}, claims(), hs_key)
    refused(validator, token, AlgorithmMismatch)


def test_key_source_returning_a_key_with_another_kid(hs_key: Key, clock: FakeClock) -> None:
    validator = Validator(WrongKidSource(hs_key), issuer=ISSUER, audience="orders-api", clock=clock)
    refused(validator, signed(header_for(hs_key), claims(), hs_key), UnknownKey)


def test_key_source_returning_something_else(hs_key: Key, clock: FakeClock) -> None:
    validator = Validator(NotAKeySource(hs_key), issuer=ISSUER, audience="orders-api", clock=clock)
    refused(validator, signed(header_for(hs_key), claims(), hs_key), BackendUnavailable)
