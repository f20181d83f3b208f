"""tokensmith._json: the one strict JSON reader every outside document goes through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith._json import MAX_DEPTH, StrictJSONError, loads, loads_object, too_deep


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab[]{}"\\\n')),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='k[{"\\'), children, max_size=3)
    ),
    max_leaves=60,
)


@given(json_values)
def test_too_deep_agrees_with_the_parsed_depth(value: Any) -> None:
    text = json.dumps(value)
    assert too_deep(text) is (_depth(value) > MAX_DEPTH)


@given(st.integers(min_value=1, max_value=3 * MAX_DEPTH))
def test_depth_boundary(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= MAX_DEPTH:
        assert loads(text) is not None
    else:
        with pytest.raises(StrictJSONError, match="nested deeper"):
            loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":2}',
        '{"a":NaN}',
        "Infinity",
        '{"a":1} {"b":2}',
        "",
        "   ",
        "{",
        b"\xff{}",
        '{"a":"\\ud800"',
    ],
)
def test_refused(text: str | bytes) -> None:
    with pytest.raises(StrictJSONError):
        loads(text)


def test_whitespace_around_the_value_is_json() -> None:
    assert loads(' \n{"a": [1, 2]}\t') == {"a": [1, 2]}
    assert loads(b"[1]\n") == [1]
    assert loads("3") == 3


def test_loads_object_wants_an_object() -> None:
    assert loads_object(b'{"a": 1}') == {"a": 1}
    for other in ("[]", "1", '"x"', "null"):
        with pytest.raises(StrictJSONError, match="not a JSON object"):
            loads_object(other)


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_only_strict_json_errors_come_out(data: bytes | str) -> None:
    try:
        loads(data)
    except StrictJSONError:
        pass
