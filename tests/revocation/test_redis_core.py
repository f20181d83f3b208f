"""The sans-I/O core of the Redis revocation lists, without a Redis: decisions, the
subscription's state machine, the key-name cache.

Both faces (sync and asyncio) run exactly this code; the Redis tests prove the round trips.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith.revocation._redis_core import Answers, Core, LocalCache, Subscriber, outages
from tokensmith.testing import verified_token

NOW = 1_700_000_000.0
STORED = (
    st.none()
    | st.binary(max_size=24)
    | st.text(max_size=24)
    | st.integers()
    | st.floats()
    | st.sampled_from([b"inf|inf", b"nan|1", "1|nan", b"\xff|1", "1|2|3", f"{NOW}|{NOW + 60}"])
)


@given(values=st.lists(STORED, max_size=4))
def test_any_stored_values_give_an_answer_or_an_outage(values: list[object]) -> None:
    """Whatever Redis hands back (another program's values, a short reply), the decision is
    True, False, or an outage (which the faces turn into fail closed / fail open)."""
    core = Core(prefix="p:")
    token = verified_token(jti="j", subject="s", session_id="x", issued_at=NOW - 10)
    plan = core.lookup(token)
    answer: object = None
    error: Exception | None = None
    try:
        answer = core.decide(token, plan, values, NOW)
    except outages() as exc:
        error = exc
    if error is None:
        assert isinstance(answer, bool)
    else:
        assert type(error).__name__ == "_Malformed"


def test_a_short_or_long_reply_is_an_outage_not_a_guess() -> None:
    core = Core()
    token = verified_token(jti="j", subject="s", issued_at=NOW - 10)
    plan = core.lookup(token)
    for values in ([None], [None, None, None]):
        with pytest.raises(outages()):
            core.decide(token, plan, values, NOW)


def test_nan_in_a_stored_value_is_an_outage() -> None:
    core = Core()
    token = verified_token(jti=None, subject="s", issued_at=NOW - 10)
    with pytest.raises(outages()):
        core.decide(token, core.lookup(token), [b"nan|" + repr(NOW + 60).encode()], NOW)


def test_the_decision_reads_watermarks_and_expiries() -> None:
    core = Core()
    token = verified_token(jti="j", subject="s", session_id="x", issued_at=NOW - 10)
    plan = core.lookup(token)
    later = repr(NOW + 60)
    assert core.decide(token, plan, [f"inf|{later}", None, None], NOW) is True
    assert core.decide(token, plan, [f"inf|{NOW - 1!r}", None, None], NOW) is False  # expired
    assert core.decide(token, plan, [None, f"{NOW - 5!r}|{later}", None], NOW) is True
    assert core.decide(token, plan, [None, None, f"{NOW - 20!r}|{later}"], NOW) is False
    assert core.decide(token, plan, [None, None, None], NOW) is False


def test_issuer_tags_are_cached_up_to_a_bound() -> None:
    core = Core(prefix="p:")
    keys = {core.key("j", f"https://issuer-{n}.example", "id") for n in range(1100)}
    assert len(keys) == 1100  # every issuer its own tag, cached or not
    assert len(core._tags) == 1024
    assert core.key("j", "https://issuer-1099.example", "id") in keys


def _subscriber() -> tuple[Subscriber, Answers]:
    answers = Answers(LocalCache())
    return Subscriber(answers), answers


def test_the_subscription_trusts_the_cache_only_while_confirmed() -> None:
    machine, answers = _subscriber()
    machine.attempt()
    assert answers.entries is None
    machine.received(None)  # a quiet poll
    machine.received({"type": "psubscribe"})  # not ours
    assert answers.entries is None and not machine.confirmed
    machine.received({"type": b"subscribe"})
    assert answers.entries == {} and machine.confirmed
    answers.entries[("i", "j", None, None, 1.0)] = NOW
    machine.received({"type": "message", "data": b"p:{i.x}:j:y"})
    assert answers.entries == {}
    machine.failed()
    assert answers.entries is None


def test_resubscribing_backs_off_and_starts_over_after_a_confirmed_subscription() -> None:
    machine, answers = _subscriber()
    waits = []
    for _ in range(7):
        machine.attempt()  # never confirmed: Redis is down
        waits.append(machine.ended())
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    machine.attempt()
    machine.received({"type": "subscribe"})
    assert answers.entries == {}
    assert machine.ended() == 0.05  # the subscription had worked: retry at once
    assert answers.entries is None  # and nothing learnt before is trusted
