from __future__ import annotations

import threading

import pytest

from tokensmith import ConfigurationError
from tokensmith.errors import AuthorizationCodeReused, InvalidGrant, InvalidRequest
from tokensmith.oauth import (
    AuthorizationCodes,
    AuthorizationCodeStore,
    MemoryAuthorizationCodeStore,
    code_challenge,
    code_hash,
    generate_code_verifier,
)
from tokensmith.testing import FakeClock

REDIRECT = "https://app.example.test/callback"


def issue(codes: AuthorizationCodes, verifier: str, **kw: object) -> str:
    args: dict[str, object] = {
        "client_id": "spa",
        "redirect_uri": REDIRECT,
        "subject": "alice",
        "scopes": ["openid", "orders:read", "openid"],
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        "nonce": "n-1",
        "auth_time": 1.0,
    }
    args.update(kw)
    return codes.issue(**args)  # type: ignore[arg-type]


@pytest.fixture
def codes(clock: FakeClock) -> AuthorizationCodes:
    return AuthorizationCodes(clock=clock)


def test_redeem_once(codes: AuthorizationCodes) -> None:
    verifier = generate_code_verifier()
    code = issue(codes, verifier)
    grant = codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert grant.subject == "alice"
    assert grant.scopes == ("openid", "orders:read")
    assert grant.nonce == "n-1"
    assert "n-1" not in repr(grant) and code not in repr(grant)
    with pytest.raises(AuthorizationCodeReused) as info:
        codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert info.value.grant_id == grant.grant_id
    assert (info.value.client_id, info.value.subject) == ("spa", "alice")
    assert info.value.error == "invalid_grant"


@pytest.mark.parametrize(
    ("client_id", "redirect_uri", "use_verifier"),
    [
        ("other", REDIRECT, True),
        ("spa", REDIRECT + "/", True),
        ("spa", REDIRECT.upper(), True),
        ("spa", None, True),
        ("spa", REDIRECT, False),
    ],
)
def test_binding_failures_burn_the_code(
    codes: AuthorizationCodes, client_id: str, redirect_uri: str | None, use_verifier: bool
) -> None:
    verifier = generate_code_verifier()
    code = issue(codes, verifier)
    with pytest.raises(InvalidGrant) as info:
        codes.redeem(
            code,
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_verifier=verifier if use_verifier else generate_code_verifier(),
        )
    assert type(info.value) is InvalidGrant
    with pytest.raises(AuthorizationCodeReused):
        codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)


def test_pkce_failures(codes: AuthorizationCodes) -> None:
    verifier = generate_code_verifier()
    for bad in (None, "short"):
        with pytest.raises(InvalidGrant) as info:
            codes.redeem(
                issue(codes, verifier), client_id="spa", redirect_uri=REDIRECT, code_verifier=bad
            )
        assert type(info.value) is InvalidGrant


def test_expired_and_unknown_codes(codes: AuthorizationCodes, clock: FakeClock) -> None:
    verifier = generate_code_verifier()
    code = issue(codes, verifier)
    clock.advance(60)
    with pytest.raises(InvalidGrant) as info:
        codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert type(info.value) is InvalidGrant
    with pytest.raises(InvalidGrant) as info:
        codes.redeem("nope", client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert type(info.value) is InvalidGrant
    for missing in (None, ""):
        with pytest.raises(InvalidRequest):
            codes.redeem(missing, client_id="spa", redirect_uri=REDIRECT)


def test_consumed_codes_are_forgotten_after_the_reuse_window(clock: FakeClock) -> None:
    store = MemoryAuthorizationCodeStore(clock=clock)
    codes = AuthorizationCodes(store, ttl=30, reuse_window=100, clock=clock)
    verifier = generate_code_verifier()
    code = issue(codes, verifier)
    codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert len(store) == 1
    clock.advance(130)
    assert len(store) == 0
    with pytest.raises(InvalidGrant) as info:
        codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    assert type(info.value) is InvalidGrant
    assert code not in repr(store) and code_hash(code) not in repr(store)


def test_pkce_is_required_and_plain_refused(clock: FakeClock, codes: AuthorizationCodes) -> None:
    verifier = generate_code_verifier()
    with pytest.raises(InvalidRequest):
        issue(codes, verifier, code_challenge=None, code_challenge_method=None)
    with pytest.raises(InvalidRequest):
        issue(codes, verifier, code_challenge=verifier, code_challenge_method="plain")
    with pytest.raises(InvalidRequest):
        issue(codes, verifier, code_challenge_method=None)  # missing method = plain
    lax = AuthorizationCodes(require_pkce=False, allow_plain=True, clock=clock)
    code = issue(lax, verifier, code_challenge=verifier, code_challenge_method="plain")
    assert lax.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    code = issue(lax, verifier, code_challenge=None, code_challenge_method=None)
    with pytest.raises(InvalidGrant):  # PKCE downgrade: a verifier for a code without PKCE
        lax.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    code = issue(lax, verifier, code_challenge=None, code_challenge_method=None)
    assert lax.redeem(code, client_id="spa", redirect_uri=REDIRECT).challenge is None


def test_concurrent_redemption_has_one_winner(codes: AuthorizationCodes) -> None:
    verifier = generate_code_verifier()
    code = issue(codes, verifier)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        try:
            codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
            outcomes.append("ok")
        except AuthorizationCodeReused:
            outcomes.append("reused")

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["reused"] * 5


def test_configuration_errors(clock: FakeClock, codes: AuthorizationCodes) -> None:
    for kw in ({"ttl": 0}, {"ttl": 601}, {"ttl": True}, {"reuse_window": -1}, {"store": object()}):
        with pytest.raises(ConfigurationError):
            AuthorizationCodes(clock=clock, **kw)
    verifier = generate_code_verifier()
    for field in ("client_id", "redirect_uri", "subject"):
        with pytest.raises(ConfigurationError):
            issue(codes, verifier, **{field: ""})
    store = MemoryAuthorizationCodeStore(clock=clock)
    assert isinstance(store, AuthorizationCodeStore)
    codes = AuthorizationCodes(store, clock=clock)
    code = issue(codes, verifier)
    grant = codes.redeem(code, client_id="spa", redirect_uri=REDIRECT, code_verifier=verifier)
    with pytest.raises(ConfigurationError):
        store.put(code_hash(code), grant, retain_until=clock() + 10)
    assert "ttl" in repr(codes)
