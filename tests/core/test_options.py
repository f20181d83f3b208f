"""tokensmith._options: every option check has one message style and refuses the same things."""

from __future__ import annotations

import math

import pytest

from tokensmith._options import flag, integer, number, seconds
from tokensmith.errors import ConfigurationError


def _refused(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert type(info.value) is ConfigurationError
    return info.value.message


@pytest.mark.parametrize("value", [True, False, "1", None, math.nan, math.inf, -math.inf, [1]])
def test_a_finite_number_is_an_int_or_float_and_never_a_bool(value: object) -> None:
    message = _refused(seconds, "ttl", value)
    assert message == "ttl must be a finite number of seconds"


def test_the_message_states_the_whole_rule() -> None:
    assert (
        _refused(seconds, "ttl", 0, positive=True) == "ttl must be a finite number of seconds > 0"
    )
    assert (
        _refused(seconds, "leeway", 301, minimum=0, maximum=300)
        == "leeway must be a finite number of seconds >= 0 and <= 300"
    )
    assert (
        _refused(seconds, "min_ttl", 0, minimum=0.001)
        == "min_ttl must be a finite number of seconds >= 0.001"
    )
    assert (
        _refused(number, "rate", -1, unit="requests per second", positive=True)
        == "rate must be a finite number of requests per second > 0"
    )
    assert _refused(integer, "burst", 0, minimum=1) == "burst must be an int >= 1"
    assert (
        _refused(integer, "max_bytes", 1 << 30, minimum=64, maximum=16 << 20)
        == "max_bytes must be an int >= 64 and <= 16777216"
    )
    assert _refused(integer, "n", 1.0) == "n must be an int"
    assert _refused(flag, "fail_open", 1) == "fail_open must be True or False"


def test_accepted_values_come_back_in_their_type() -> None:
    assert seconds("ttl", 3, positive=True) == 3.0
    assert type(seconds("ttl", 3)) is float
    assert seconds("leeway", 0, minimum=0, maximum=300) == 0.0
    assert integer("burst", 5, minimum=1, maximum=5) == 5
    assert flag("strict", False) is False


def test_an_infinity_passes_only_where_it_means_never() -> None:
    assert seconds("before", math.inf, finite=False) == math.inf
    assert seconds("before", -math.inf, finite=False) == -math.inf
    message = _refused(seconds, "before", math.nan, finite=False)
    assert message == "before must be a number (or an infinity) of seconds"
    assert _refused(seconds, "max_age", -1, minimum=0, finite=False).endswith(">= 0")
