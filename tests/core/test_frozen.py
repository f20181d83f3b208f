"""The immutable value objects loaded by ``import tokensmith`` (Key, RotationPolicy, Policy,
IssuedToken): frozen, compared by value where that is their meaning, and never showing secrets."""

from __future__ import annotations

import pytest

from tests.support import AUDIENCE
from tokensmith import Key, MemoryKeyStore, RotationPolicy, Signer, Validator
from tokensmith.policy import UNCHECKED


def test_rotation_policy_is_a_frozen_value() -> None:
    one = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=900, alg="ES256")
    same = RotationPolicy(3600, 600, 900, "ES256")
    assert one == same and hash(one) == hash(same) and len({one, same}) == 1
    assert one != RotationPolicy(rotate_every=7200, publish_ahead=600, verify_for=900)
    assert one.__eq__("not a policy") is NotImplemented
    assert repr(one).startswith("RotationPolicy(rotate_every=3600, publish_ahead=600, ")
    with pytest.raises(AttributeError, match="immutable"):
        one.rotate_every = 1
    with pytest.raises(AttributeError, match="immutable"):
        del one.alg
    assert RotationPolicy().alg == "ES256"


def test_key_is_frozen_and_compared_by_identity() -> None:
    key = Key.generate("HS256")
    with pytest.raises(AttributeError, match="immutable"):
        key.alg = "none"
    with pytest.raises(AttributeError, match="immutable"):
        key.kid = "other"
    copy = key.with_lifecycle(not_before=None)
    assert copy.kid == key.kid and copy is not key and copy != key  # identity, not value
    assert len({key, copy, key}) == 2
    material = key._material
    assert material.hex() not in repr(key) and repr(material) not in repr(key)


def test_policy_is_frozen_and_replace_returns_a_copy(validator: Validator) -> None:
    policy = validator.policy
    with pytest.raises(AttributeError, match="immutable"):
        policy.leeway = 3600
    narrowed = policy.replace(issuers=frozenset({"https://other.test"}))
    assert narrowed.issuers == frozenset({"https://other.test"})
    assert policy.issuers != narrowed.issuers and narrowed.audiences == policy.audiences
    assert policy == policy.replace() and hash(policy) == hash(policy.replace())
    assert repr(policy).startswith("ValidationPolicy(issuers=")


def test_unchecked_issuer_shows_in_the_policy(store: MemoryKeyStore) -> None:
    validator = Validator(store, issuer=UNCHECKED, audience=AUDIENCE)
    assert validator.policy.issuers is None


def test_issued_token_shows_neither_token_nor_claims(signer: Signer) -> None:
    issued = signer.issue_token("user-1", audience=AUDIENCE, claims={"email": "a@b.test"})
    for text in (repr(issued), str(issued)):
        assert issued.token not in text and "a@b.test" not in text
    assert f"jti={issued.jti!r}" in repr(issued)
    with pytest.raises(AttributeError, match="immutable"):
        issued.token = "x"
    with pytest.raises(TypeError):
        hash(issued)  # its claims are a dict, as with any frozen record holding one
    assert issued == issued and issued != signer.issue_token("user-1", audience=AUDIENCE)
