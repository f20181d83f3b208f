"""RefreshManager: rotation, reuse detection, lifetimes, scopes, and what never leaks."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    ConfigurationError,
    KeySet,
    MemoryKeyStore,
    MemoryRevocationList,
    Signer,
    TokenRevoked,
    Validator,
)
from tokensmith.errors import (
    BackendUnavailable,
    InvalidGrant,
    InvalidRefreshToken,
    InvalidScope,
    NoSigningKey,
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
)
from tokensmith.observability import EVENT_KINDS, AuditEvent
from tokensmith.refresh import (
    REFRESH_TOKEN_PREFIX,
    MemoryRefreshStore,
    RefreshManager,
    RefreshStore,
    refresh_token_hash,
)
from tokensmith.refresh.redis import RedisRefreshStore
from tokensmith.refresh.sqlite import SQLiteRefreshStore
from tokensmith.testing import FakeClock

DAY = 86400


class Env:
    """A manager wired to a store, a revocation list, a validator and an audit log."""

    def __init__(self, store: RefreshStore, clock: FakeClock, **options: Any) -> None:
        self.clock = clock
        self.keys = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
        self.signer = Signer(self.keys, issuer=ISSUER, clock=clock)
        self.revocations = MemoryRevocationList(clock=clock)
        self.validator = Validator(
            self.keys,
            issuer=ISSUER,
            audience=AUDIENCE,
            clock=clock,
            revocation=self.revocations,
        )
        self.events: list[AuditEvent] = []
        self.store = store
        settings: dict[str, Any] = {
            "access_ttl": 300,
            "idle_ttl": DAY,
            "absolute_ttl": 7 * DAY,
            "revocation": self.revocations,
            "audit": self.events.append,
            "clock": clock,
        }
        settings.update(options)
        self.manager = RefreshManager(store, self.signer, **settings)


@pytest.fixture
def env(clock: FakeClock) -> Env:
    return Env(MemoryRefreshStore(clock=clock), clock)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def any_env(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Any:
    if request.param == "memory":
        store: Any = MemoryRefreshStore(clock=clock)
    elif request.param == "sqlite":
        store = SQLiteRefreshStore(tmp_path / "rt.db")
    else:
        store = RedisRefreshStore.from_url(request.getfixturevalue("redis_url"), clock=clock)
    yield Env(store, clock)
    close = getattr(store, "close", None)
    if close is not None:
        close()


# --- the happy path --------------------------------------------------------------------------


def test_start_issues_a_session(env: Env) -> None:
    pair = env.manager.start(
        "user-1", audience=AUDIENCE, scopes=["read", "write"], claims={"tenant": "acme"}
    )
    assert pair.refresh_token.startswith(REFRESH_TOKEN_PREFIX)
    assert len(pair.refresh_token) == 69  # rt_ + family id (22) + "." + secret (43)
    assert pair.refresh_token[3:25] == pair.session_id  # the family's slot is known up front
    assert pair.refresh_token[25] == "."
    token = env.validator.validate(pair.access_token)
    assert token.subject == "user-1"
    assert token.session_id == pair.session_id
    assert token.scopes == {"read", "write"}
    assert token.claims["tenant"] == "acme"
    assert "client_id" not in token.claims
    assert pair.expires_in == 300
    assert pair.scopes == ("read", "write")
    assert pair.refresh_expires_at == env.clock() + DAY


def test_refresh_rotates(any_env: Env) -> None:
    env = any_env
    first = env.manager.start("user-1", audience=AUDIENCE, scopes=["read"], client_id="app")
    env.clock.advance(60)
    second = env.manager.refresh(first.refresh_token, client_id="app")
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    token = env.validator.validate(second.access_token)
    assert token.session_id == first.session_id
    assert token.client_id == "app"
    assert token.issued_at == env.clock()
    env.clock.advance(60)
    third = env.manager.refresh(second.refresh_token, client_id="app")
    env.validator.validate(third.access_token)
    assert [e.kind for e in env.events] == ["token.issued", "refresh.rotated", "refresh.rotated"]


def test_reuse_revokes_family_and_access_tokens(any_env: Env) -> None:
    env = any_env
    first = env.manager.start("user-1", audience=AUDIENCE, scopes=["read"])
    env.clock.advance(10)
    second = env.manager.refresh(first.refresh_token)  # the legitimate client rotates
    env.validator.validate(first.access_token)
    env.validator.validate(second.access_token)
    env.clock.advance(10)
    with pytest.raises(RefreshTokenReused) as caught:  # the thief replays the stolen token
        env.manager.refresh(first.refresh_token)
    assert caught.value.code == "refresh_token_reused"
    assert caught.value.error == "invalid_grant"
    assert caught.value.session_id == first.session_id
    assert caught.value.subject == "user-1"
    for access in (first.access_token, second.access_token):
        with pytest.raises(TokenRevoked):
            env.validator.validate(access)
    with pytest.raises(RefreshTokenRevoked):  # the successor is dead too
        env.manager.refresh(second.refresh_token)
    with pytest.raises(RefreshTokenRevoked):  # and the replay stays refused
        env.manager.refresh(first.refresh_token)
    reuse = [e for e in env.events if e.kind == "refresh.reuse_detected"]
    assert len(reuse) == 1
    event = reuse[0]
    assert event.code == "refresh_token_reused"
    assert event.subject == "user-1"
    assert event.issuer == ISSUER
    assert event.detail["sid"] == first.session_id
    assert event.fingerprint == first.refresh_fingerprint
    assert event.kind in EVENT_KINDS


def test_other_families_survive_a_reuse(env: Env) -> None:
    mine = env.manager.start("user-1", audience=AUDIENCE)
    other = env.manager.start("user-1", audience=AUDIENCE)  # a second device
    env.manager.refresh(mine.refresh_token)
    with pytest.raises(RefreshTokenReused):
        env.manager.refresh(mine.refresh_token)
    env.validator.validate(other.access_token)
    env.manager.refresh(other.refresh_token)


def test_reuse_without_revocation_list_still_kills_the_family(clock: FakeClock) -> None:
    env = Env(MemoryRefreshStore(clock=clock), clock, revocation=None, audit=None)
    first = env.manager.start("user-1", audience=AUDIENCE)
    second = env.manager.refresh(first.refresh_token)
    with pytest.raises(RefreshTokenReused):
        env.manager.refresh(first.refresh_token)
    with pytest.raises(RefreshTokenRevoked):
        env.manager.refresh(second.refresh_token)
    env.validator.validate(second.access_token)  # only expiry ends it, without a list


def test_concurrent_refresh_one_wins_family_revoked(env: Env) -> None:
    first = env.manager.start("user-1", audience=AUDIENCE)
    barrier = threading.Barrier(6)
    wins: list[Any] = []
    losses: list[BaseException] = []

    def use() -> None:
        barrier.wait(timeout=10)
        try:
            wins.append(env.manager.refresh(first.refresh_token))
        except InvalidRefreshToken as exc:
            losses.append(exc)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(wins) == 1
    assert len(losses) == 5
    assert all(isinstance(e, RefreshTokenReused | RefreshTokenRevoked) for e in losses)
    assert any(isinstance(e, RefreshTokenReused) for e in losses)
    # Strict by design: the winner's new tokens die with the family.
    with pytest.raises(RefreshTokenRevoked):
        env.manager.refresh(wins[0].refresh_token)
    with pytest.raises(TokenRevoked):
        env.validator.validate(wins[0].access_token)


# --- lifetimes -------------------------------------------------------------------------------


def test_idle_expiry(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE)
    env.clock.advance(DAY - 1)
    pair = env.manager.refresh(pair.refresh_token)  # each use restarts the idle clock
    env.clock.advance(DAY - 1)
    pair = env.manager.refresh(pair.refresh_token)
    env.clock.advance(DAY)
    with pytest.raises(RefreshTokenExpired) as caught:
        env.manager.refresh(pair.refresh_token)
    assert caught.value.code == "refresh_token_expired"


def test_absolute_expiry(env: Env) -> None:
    start = env.clock()
    pair = env.manager.start("user-1", audience=AUDIENCE)
    for _ in range(7):
        env.clock.advance(DAY - 100)
        pair = env.manager.refresh(pair.refresh_token)
    # Less than a day is left: the refresh token and the access token stop at the limit.
    assert pair.refresh_expires_at == start + 7 * DAY
    env.clock.set(start + 7 * DAY - 100)
    pair = env.manager.refresh(pair.refresh_token)
    assert pair.access.expires_at <= start + 7 * DAY
    assert pair.expires_in == 100
    env.clock.set(start + 7 * DAY)
    with pytest.raises(RefreshTokenExpired):
        env.manager.refresh(pair.refresh_token)


def test_expiry_outranks_nothing_but_reuse(env: Env) -> None:
    first = env.manager.start("user-1", audience=AUDIENCE)
    env.manager.refresh(first.refresh_token)
    env.clock.advance(2 * DAY)  # first is long expired, but it was used: that is reuse
    with pytest.raises(RefreshTokenReused):
        env.manager.refresh(first.refresh_token)


# --- scopes and clients ----------------------------------------------------------------------


def test_scopes_may_only_narrow(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, scopes=["read", "write", "admin"])
    narrow = env.manager.refresh(pair.refresh_token, scopes=["write", "read"])
    assert narrow.scopes == ("read", "write")
    assert env.validator.validate(narrow.access_token).scopes == {"read", "write"}
    admin = env.manager.refresh(narrow.refresh_token, scopes="admin")
    assert admin.scopes == ("admin",)
    full = env.manager.refresh(admin.refresh_token)
    assert full.scopes == ("read", "write", "admin")  # the grant itself never narrows


def test_widening_or_bad_scopes_are_refused_without_consuming(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, scopes=["read"])
    for bad in (["read", "write"], ["write"], [], "", ["a b"], [7]):
        with pytest.raises(InvalidScope):
            env.manager.refresh(pair.refresh_token, scopes=bad)  # type: ignore[arg-type]
    env.manager.refresh(pair.refresh_token)  # still usable: not consumed by the refusals


def test_client_binding(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    for other in (None, "evil"):
        with pytest.raises(InvalidRefreshToken) as caught:
            env.manager.refresh(pair.refresh_token, client_id=other)
        assert type(caught.value) is InvalidRefreshToken
    unbound = env.manager.start("user-1", audience=AUDIENCE)
    with pytest.raises(InvalidRefreshToken):
        env.manager.refresh(unbound.refresh_token, client_id="app")
    env.manager.refresh(pair.refresh_token, client_id="app")  # still usable


# --- revocation ------------------------------------------------------------------------------


def test_revoke_family_kills_refresh_and_access(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE)
    assert env.manager.revoke_family(pair.session_id)
    assert not env.manager.revoke_family(pair.session_id)
    assert not env.manager.revoke_family("no-such-session")
    with pytest.raises(RefreshTokenRevoked):
        env.manager.refresh(pair.refresh_token)
    with pytest.raises(TokenRevoked):
        env.validator.validate(pair.access_token)
    assert env.events[-1].kind == "token.revoked"
    with pytest.raises(ConfigurationError):
        env.manager.revoke_family("")


def test_revoke_by_token_for_rfc7009(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    assert not env.manager.revoke("rt_garbage", "app")
    assert not env.manager.revoke(REFRESH_TOKEN_PREFIX + "F" * 22 + "." + "A" * 43, "app")
    assert env.manager.revoke(pair.refresh_token, "other-client")  # known, not theirs: no-op
    env.manager.refresh(pair.refresh_token, client_id="app")
    pair = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    assert env.manager.revoke(pair.refresh_token, "app")
    with pytest.raises(RefreshTokenRevoked):
        env.manager.refresh(pair.refresh_token, client_id="app")
    logout = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    assert env.manager.revoke(logout.refresh_token)  # server-side logout: no client check
    with pytest.raises(TokenRevoked):
        env.validator.validate(logout.access_token)


def test_revocation_backend_failure_on_reuse_is_loud(clock: FakeClock) -> None:
    class Broken(MemoryRevocationList):
        def revoke_session(self, *args: Any, **kwargs: Any) -> None:
            raise BackendUnavailable("down")

    env = Env(MemoryRefreshStore(clock=clock), clock, revocation=Broken(clock=clock))
    first = env.manager.start("user-1", audience=AUDIENCE)
    env.manager.refresh(first.refresh_token)
    with pytest.raises(BackendUnavailable):
        env.manager.refresh(first.refresh_token)
    assert env.events[-1].kind == "refresh.reuse_detected"  # audited before the outage


# --- refusals of malformed input -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "rt_",
        "rt_" + "a" * 43,  # the format before family ids
        "rt_" + "f" * 22 + "." + "a" * 42,
        "rt_" + "f" * 22 + "." + "a" * 44,
        "rt_" + "f" * 21 + "." + "a" * 44,
        "rt_" + "f" * 23 + "." + "a" * 42,
        "rt_" + "f" * 22 + "_" + "a" * 43,
        "rt_" + "f" * 22 + ".." + "a" * 42,
        "xx_" + "f" * 22 + "." + "a" * 43,
        "rt_" + "f" * 22 + "." + "a" * 42 + "=",
        "rt_" + "f" * 22 + "." + "a" * 42 + "\u00e9",
        "rt_" + "f" * 21 + "\u00e9." + "a" * 43,
        "rt_" + "f" * 21 + "\ud800." + "a" * 43,
        None,
        42,
        b"rt_" + b"f" * 22 + b"." + b"a" * 43,
    ],
)
def test_malformed_refresh_tokens(env: Env, bad: Any) -> None:
    with pytest.raises(InvalidRefreshToken) as caught:
        env.manager.refresh(bad)
    assert type(caught.value) is InvalidRefreshToken
    assert isinstance(caught.value, InvalidGrant)


def test_unknown_refresh_token(env: Env) -> None:
    with pytest.raises(InvalidRefreshToken) as caught:
        env.manager.refresh(REFRESH_TOKEN_PREFIX + "F" * 22 + "." + "B" * 43)
    assert type(caught.value) is InvalidRefreshToken


def test_a_token_moved_to_another_family_is_unknown_and_consumes_nothing(env: Env) -> None:
    """The family part is not trusted: the store keeps the hash of the whole token, so a
    token whose family id was swapped (for another live family, or any other) is unknown,
    and neither family is touched."""
    mine = env.manager.start("user-1", audience=AUDIENCE)
    theirs = env.manager.start("user-2", audience=AUDIENCE)
    secret = mine.refresh_token[26:]
    for family_id in (theirs.session_id, "A" * 22):
        moved = f"rt_{family_id}.{secret}"
        with pytest.raises(InvalidRefreshToken) as caught:
            env.manager.refresh(moved)
        assert type(caught.value) is InvalidRefreshToken
        assert not env.manager.revoke(moved)
    assert env.manager.refresh(mine.refresh_token).session_id == mine.session_id
    assert env.manager.refresh(theirs.refresh_token).session_id == theirs.session_id


@given(st.text(max_size=60))
def test_arbitrary_text_is_refused_precisely(text: str) -> None:  # (shorter than any token)
    clock = FakeClock()
    manager = RefreshManager(
        MemoryRefreshStore(clock=clock),
        Signer(MemoryKeyStore(KeySet.generate("HS256"), clock=clock), issuer=ISSUER, clock=clock),
        clock=clock,
    )
    with pytest.raises(InvalidRefreshToken):
        manager.refresh(text)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=_B64 + ".=\u00e9\ud800 ", min_size=20, max_size=24),
    st.sampled_from([".", "_", "", ".."]),
    st.text(alphabet=_B64 + ".=\u00e9 ", min_size=41, max_size=45),
    st.sampled_from(["rt_", "RT_", "rt-", ""]),
)
def test_near_miss_tokens_are_refused_or_unknown(
    family: str, separator: str, secret: str, prefix: str
) -> None:
    """Tokens shaped almost like ``rt_<family>.<secret>`` never reach a store with a family id
    that is not 22 base64url characters, and every refusal is ``InvalidRefreshToken``."""
    clock = FakeClock()

    class Recording(MemoryRefreshStore):
        def find(self, token_hash: str, *, family_id: str) -> Any:
            assert len(family_id) == 22 and set(family_id) <= set(_B64)
            return super().find(token_hash, family_id=family_id)

    manager = RefreshManager(
        Recording(clock=clock),
        Signer(MemoryKeyStore(KeySet.generate("HS256"), clock=clock), issuer=ISSUER, clock=clock),
        clock=clock,
    )
    with pytest.raises(InvalidRefreshToken) as caught:
        manager.refresh(prefix + family + separator + secret)
    assert type(caught.value) is InvalidRefreshToken
    assert manager.revoke(prefix + family + separator + secret) is False


def test_constructor_refusals(clock: FakeClock, signer: Signer) -> None:
    store = MemoryRefreshStore(clock=clock)
    for name in ("access_ttl", "idle_ttl", "absolute_ttl"):
        for bad in (0, -1, math.inf, math.nan, True, "60"):
            with pytest.raises(ConfigurationError):
                RefreshManager(store, signer, **{name: bad})  # type: ignore[arg-type]  # on purpose
    with pytest.raises(ConfigurationError):
        RefreshManager(store, signer, idle_ttl=10 * DAY, absolute_ttl=DAY)
    with pytest.raises(ConfigurationError):
        RefreshManager(store, object())  # type: ignore[arg-type]
    for pepper in (b"short", "a" * 40):
        with pytest.raises(ConfigurationError):
            RefreshManager(store, signer, pepper=pepper)  # type: ignore[arg-type]


def test_start_refusals(env: Env) -> None:
    calls: list[dict[str, Any]] = [
        {"subject": ""},
        {"subject": 7},
        {"audience": ""},
        {"audience": []},
        {"scopes": ["a b"]},
        {"scopes": [1]},
        {"claims": {"sid": "x"}},
        {"claims": {"client_id": "x"}},
        {"claims": {"exp": 1}},
        {"claims": {"x": math.nan}},
        {"claims": {"x": object()}},
        {"claims": {1: "x"}},
        {"claims": ["x"]},
        {"client_id": ""},
    ]
    for overrides in calls:
        kwargs: dict[str, Any] = {"subject": "user-1", "audience": AUDIENCE, **overrides}
        subject = kwargs.pop("subject")
        with pytest.raises(ConfigurationError):
            env.manager.start(subject, **kwargs)
    assert len(env.store) == 0  # type: ignore[arg-type]


def test_signing_failure_does_not_consume(clock: FakeClock) -> None:
    env = Env(MemoryRefreshStore(clock=clock), clock)
    pair = env.manager.start("user-1", audience=AUDIENCE)
    real = env.keys.signing_key
    env.keys.signing_key = lambda: (_ for _ in ()).throw(NoSigningKey())  # type: ignore[method-assign]
    with pytest.raises(NoSigningKey):
        env.manager.refresh(pair.refresh_token)
    env.keys.signing_key = real  # type: ignore[method-assign]
    env.manager.refresh(pair.refresh_token)  # the token was never consumed


# --- nothing leaks ---------------------------------------------------------------------------


def test_no_token_in_repr_str_errors_or_events(env: Env) -> None:
    first = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    second = env.manager.refresh(first.refresh_token, client_id="app")
    texts = [repr(first), str(first), repr(second), repr(env.manager), repr(env.store)]
    for call in (
        lambda: env.manager.refresh(first.refresh_token, client_id="app"),
        lambda: env.manager.refresh(second.refresh_token, client_id="app"),
        lambda: env.manager.refresh(first.refresh_token[:-1] + "!"),
    ):
        with pytest.raises(InvalidRefreshToken) as caught:
            call()
        texts += [str(caught.value), repr(caught.value), repr(vars(caught.value))]
    texts += [repr(event) for event in env.events]
    blob = "\n".join(texts)
    for pair in (first, second):
        for secret in (pair.refresh_token, pair.refresh_token[3:], pair.access_token):
            assert secret not in blob
        assert pair.refresh_fingerprint in repr(pair)
        assert refresh_token_hash(pair.refresh_token) not in blob


def test_store_sees_hashes_only(clock: FakeClock) -> None:
    seen: list[Any] = []

    class Spy(MemoryRefreshStore):
        def create_family(self, *args: Any, **kwargs: Any) -> None:
            seen.extend([*args, *kwargs.values()])
            super().create_family(*args, **kwargs)

        def rotate(self, *args: Any, **kwargs: Any) -> Any:
            seen.extend([*args, *kwargs.values()])
            return super().rotate(*args, **kwargs)

    env = Env(Spy(clock=clock), clock)
    first = env.manager.start("user-1", audience=AUDIENCE)
    second = env.manager.refresh(first.refresh_token)
    blob = repr(seen) + repr(vars(env.store)) + repr(env.store._tokens)  # type: ignore[attr-defined]
    for token in (first.refresh_token, second.refresh_token):
        assert token not in blob
        assert token[3:] not in blob
        assert refresh_token_hash(token) in blob


def test_pepper_changes_the_stored_hash(clock: FakeClock) -> None:
    pepper = b"p" * 32
    token = REFRESH_TOKEN_PREFIX + "F" * 22 + "." + "C" * 43
    assert refresh_token_hash(token) != refresh_token_hash(token, pepper=pepper)
    env = Env(MemoryRefreshStore(clock=clock), clock, pepper=pepper)
    pair = env.manager.start("user-1", audience=AUDIENCE)
    sid = pair.session_id
    peppered = refresh_token_hash(pair.refresh_token, pepper=pepper)
    assert env.store.find(peppered, family_id=sid) is not None
    assert env.store.find(refresh_token_hash(pair.refresh_token), family_id=sid) is None
    other = RefreshManager(env.store, env.signer, clock=clock)  # a replica without the pepper
    with pytest.raises(InvalidRefreshToken):
        other.refresh(pair.refresh_token)


def test_access_token_type(clock: FakeClock) -> None:
    env = Env(MemoryRefreshStore(clock=clock), clock, token_type="at+jwt")
    pair = env.manager.start("user-1", audience=AUDIENCE, client_id="app")
    validator = Validator(
        env.keys, issuer=ISSUER, audience=AUDIENCE, clock=clock, token_types=["at+jwt"]
    )
    assert validator.validate(pair.access_token).token_type == "at+jwt"


def test_store_changes_between_find_and_rotate(clock: FakeClock) -> None:
    """The read is only advisory: the store's atomic answer decides."""

    class Racy(MemoryRefreshStore):
        mode = "revoke"

        def rotate(self, token_hash: str, new_hash: str, **kwargs: Any) -> Any:
            record = self.find(token_hash, family_id=kwargs["family_id"])
            assert record is not None
            if self.mode == "revoke":  # another request revoked the family meanwhile
                self.revoke_family(record.family.family_id)
            else:  # the family was purged meanwhile
                self.purge(record.family.expires_at)
            return super().rotate(token_hash, new_hash, **kwargs)

    store = Racy(clock=clock)
    env = Env(store, clock)
    pair = env.manager.start("user-1", audience=AUDIENCE)
    with pytest.raises(RefreshTokenRevoked):
        env.manager.refresh(pair.refresh_token)
    store.mode = "purge"
    pair = env.manager.start("user-1", audience=AUDIENCE)
    with pytest.raises(InvalidRefreshToken) as caught:
        env.manager.refresh(pair.refresh_token)
    assert type(caught.value) is InvalidRefreshToken
    assert [e.kind for e in env.events].count("refresh.rotated") == 0


def test_duplicate_scopes_collapse(env: Env) -> None:
    pair = env.manager.start("user-1", audience=AUDIENCE, scopes=["read", "read", "write"])
    assert pair.scopes == ("read", "write")
    assert env.manager.refresh(pair.refresh_token, scopes="write write").scopes == ("write",)
