"""VerifiedToken: what validate() hands out is read-only and never carries the token outward."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from tests.support import AUDIENCE
from tokensmith import Signer, Validator, VerifiedToken, fingerprint


def _fields(**override: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "header": {"alg": "HS256"},
        "claims": {"sub": "user-1"},
        "subject": "user-1",
        "issuer": "https://issuer.test",
        "audience": ("api",),
        "scopes": frozenset({"read"}),
        "expires_at": 2.0,
        "issued_at": 1.0,
        "not_before": None,
        "jti": "j-1",
        "key_id": "k-1",
        "algorithm": "HS256",
    }
    fields.update(override)
    return fields


@pytest.fixture
def verified(signer: Signer, validator: Validator) -> VerifiedToken:
    return validator.validate(signer.issue("user-1", audience=AUDIENCE, scopes=["read"]))


def test_the_validator_hands_out_exactly_the_public_class(verified: VerifiedToken) -> None:
    assert type(verified) is VerifiedToken
    assert verified.subject == "user-1" and verified.scopes == frozenset({"read"})


@pytest.mark.parametrize("name", ["subject", "scopes", "claims", "_raw", "invented"])
def test_attributes_cannot_be_set_or_deleted(verified: VerifiedToken, name: str) -> None:
    with pytest.raises(AttributeError):
        setattr(verified, name, "x")
    with pytest.raises(AttributeError):
        delattr(verified, name)
    with pytest.raises((AttributeError, TypeError)):
        object.__setattr__(verified, "invented", 1)  # no __dict__ to smuggle state into
    assert verified.subject == "user-1"


def test_claims_and_header_are_read_only_mappings(verified: VerifiedToken) -> None:
    with pytest.raises(TypeError):
        verified.claims["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        verified.header["alg"] = "none"  # type: ignore[index]


@pytest.mark.parametrize(
    "duplicate", [pickle.dumps, copy.copy, copy.deepcopy], ids=["pickle", "copy", "deepcopy"]
)
def test_not_picklable_or_copyable_since_it_holds_the_token(
    verified: VerifiedToken, duplicate: Any
) -> None:
    with pytest.raises(TypeError, match="not picklable"):
        duplicate(verified)


def test_repr_shows_no_token(signer: Signer, validator: Validator) -> None:
    token = signer.issue("user-1", audience=AUDIENCE)
    verified = validator.validate(token)
    for text in (repr(verified), str(verified)):
        assert token not in text and token.split(".")[2] not in text
    assert verified.fingerprint == fingerprint(token) and len(verified.fingerprint) == 16


def test_public_constructor_builds_an_equal_read_only_token() -> None:
    one, two = VerifiedToken(**_fields()), VerifiedToken(**_fields())
    assert type(one) is VerifiedToken and one == two
    assert one != VerifiedToken(**_fields(subject="user-2"))
    assert one.__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(one)
    with pytest.raises(AttributeError):
        one.subject = "user-2"


def test_a_view_built_without_the_token_has_no_fingerprint() -> None:
    """A VerifiedToken built by hand (a test double, tokensmith.testing.verified_token) never
    saw a token: it has no fingerprint, rather than the fingerprint of an empty string."""
    from tokensmith.testing import verified_token

    assert VerifiedToken(**_fields()).fingerprint is None
    assert verified_token(jti="j").fingerprint is None
    assert VerifiedToken(**_fields(), _raw="a.b.c").fingerprint == fingerprint("a.b.c")
