"""Nested claim and header values are read-only (issue 13 item 15).

A cache hit hands out the very ``VerifiedToken`` a miss produced, and a header segment's checked
header is shared by every token that carries it: a nested list or dict that an application could
mutate would leak from one request into the next. Nested arrays and objects are read-only
``list``/``dict`` subclasses, so they still compare, serialise and ``isinstance`` like JSON.
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tests.support.forge import forge
from tokensmith import Key, KeySet, MemoryKeyStore, Validator
from tokensmith.cache import ValidatedTokenCache
from tokensmith.testing import FakeClock

NESTED: dict[str, Any] = {
    "roles": ["reader", "writer"],
    "address": {"country": "CH", "lines": ["1 Main St", {"floor": 2}]},
    "matrix": [[1, 2], [3, [4]]],
    "empty": [],
    "nothing": {},
}


@pytest.fixture
def key(store: MemoryKeyStore) -> Key:
    return store.signing_key()


def token(key: Key, clock: FakeClock, header: dict[str, Any] | None = None, **extra: Any) -> str:
    now = int(clock())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": now, "exp": now + 600, **extra}
    return forge({"alg": key.alg, "kid": key.kid, **(header or {})}, body, key)


MUTATIONS: list[tuple[str, Callable[[Any], object]]] = [
    ("list append", lambda c: c["roles"].append("admin")),
    ("list extend", lambda c: c["roles"].extend(["admin"])),
    ("list insert", lambda c: c["roles"].insert(0, "admin")),
    ("list setitem", lambda c: c["roles"].__setitem__(0, "admin")),
    ("list slice", lambda c: c["roles"].__setitem__(slice(0, 1), ["admin"])),
    ("list delitem", lambda c: c["roles"].__delitem__(0)),
    ("list pop", lambda c: c["roles"].pop()),
    ("list remove", lambda c: c["roles"].remove("reader")),
    ("list clear", lambda c: c["roles"].clear()),
    ("list sort", lambda c: c["roles"].sort(reverse=True)),
    ("list reverse", lambda c: c["roles"].reverse()),
    ("list iadd", lambda c: c["roles"].__iadd__(["admin"])),
    ("list imul", lambda c: c["roles"].__imul__(2)),
    ("dict setitem", lambda c: c["address"].__setitem__("country", "XX")),
    ("dict delitem", lambda c: c["address"].__delitem__("country")),
    ("dict update", lambda c: c["address"].update(country="XX")),
    ("dict ior", lambda c: c["address"].__ior__({"country": "XX"})),
    ("dict setdefault", lambda c: c["nothing"].setdefault("x", 1)),
    ("dict pop", lambda c: c["address"].pop("country")),
    ("dict popitem", lambda c: c["address"].popitem()),
    ("dict clear", lambda c: c["address"].clear()),
    ("deep list", lambda c: c["address"]["lines"].append("x")),
    ("deep dict", lambda c: c["address"]["lines"][1].__setitem__("floor", 9)),
    ("deeper list", lambda c: c["matrix"][1][1].append(5)),
]


@pytest.mark.parametrize("mutate", [m[1] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_nested_claims_refuse_mutation_and_hits_look_like_misses(
    store: MemoryKeyStore, key: Key, clock: FakeClock, mutate: Callable[[Any], object]
) -> None:
    t = token(key, clock, **NESTED)
    plain = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    cached = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    for validator in (plain, cached):
        first = validator.validate(t)
        with pytest.raises(TypeError):
            mutate(first.claims)
        again = validator.validate(t)  # a hit for the cached validator
        assert again.claims == {**first.claims}
        for name, value in NESTED.items():
            assert again.claims[name] == value
            assert json.loads(json.dumps(again.claims[name])) == value


def test_nested_values_still_behave_like_json(
    store: MemoryKeyStore, key: Key, clock: FakeClock
) -> None:
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    claims = validator.validate(token(key, clock, **NESTED)).claims
    assert isinstance(claims["roles"], list) and isinstance(claims["address"], dict)
    assert json.loads(json.dumps(dict(claims)))["address"] == NESTED["address"]
    assert claims["roles"] + ["admin"] == ["reader", "writer", "admin"]
    assert {**claims["address"], "country": "XX"}["country"] == "XX"
    mine = copy.deepcopy(dict(claims))  # a copy is the caller's own, and mutable
    mine["roles"].append("admin")
    mine["address"]["lines"][1]["floor"] = 9
    assert claims["roles"] == ["reader", "writer"]
    assert claims["address"]["lines"][1] == {"floor": 2}
    assert type(copy.copy(claims["roles"])) is list
    assert type(copy.copy(claims["address"])) is dict
    assert type(pickle.loads(pickle.dumps(claims["address"]))) is dict
    assert pickle.loads(pickle.dumps(claims["matrix"])) == NESTED["matrix"]
    assert repr(claims["roles"]) == "['reader', 'writer']"


def test_nested_header_values_are_read_only_too(
    store: MemoryKeyStore, key: Key, clock: FakeClock
) -> None:
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    header = {"typ": "JWT", "x-ext": {"tags": ["a"]}}
    first = validator.validate(token(key, clock, header=header, jti="1"))
    with pytest.raises(TypeError):
        first.header["x-ext"]["tags"].append("b")
    with pytest.raises(TypeError):
        first.header["x-ext"]["tags2"] = []
    second = validator.validate(token(key, clock, header=header, jti="2"))  # same header segment
    assert second.header["x-ext"] == {"tags": ["a"]}


def test_the_async_face_hands_out_read_only_claims_too(
    store: MemoryKeyStore, key: Key, clock: FakeClock
) -> None:
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    t = token(key, clock, **NESTED)
    for _ in range(2):
        claims = asyncio.run(validator.avalidate(t)).claims
        with pytest.raises(TypeError):
            claims["roles"].append("admin")
        assert claims["roles"] == ["reader", "writer"]


def test_flat_claims_are_untouched(store: MemoryKeyStore, key: Key, clock: FakeClock) -> None:
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    tok = validator.validate(token(key, clock, scope="a b", tenant="acme", note="[not an array]"))
    assert tok.claims["note"] == "[not an array]" and tok.scopes == {"a", "b"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["x", "y", "roles", "act"]), json_values, max_size=4))
def test_any_json_claims_come_back_equal_and_frozen(extra: dict[str, Any]) -> None:
    clock = FakeClock(1_700_000_000.0)
    store = MemoryKeyStore(KeySet.generate("HS256"), clock=clock)
    key = store.signing_key()
    validator = Validator(
        store, issuer=ISSUER, audience=AUDIENCE, clock=clock, cache=ValidatedTokenCache()
    )
    t = token(key, clock, **extra)
    for _ in range(2):
        claims = validator.validate(t).claims
        for name, value in extra.items():
            assert claims[name] == value
            assert json.dumps(claims[name], sort_keys=True) == json.dumps(value, sort_keys=True)
            assert_frozen(claims[name])


def assert_frozen(value: object) -> None:
    if isinstance(value, list):
        with pytest.raises(TypeError):
            value.append(None)
        for item in value:
            assert_frozen(item)
    elif isinstance(value, dict):
        with pytest.raises(TypeError):
            value["new"] = None
        for item in value.values():
            assert_frozen(item)
