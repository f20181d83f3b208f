"""A key source that cannot answer is an outage, never a token refusal (issue 13 item 16).

Only a ``TokenError`` (``UnknownKey``, ...) from a key source refuses the token; a
``BackendUnavailable`` passes as it is. Anything else, a user-written source's ``KeyError``
included, and an unreadable store (``KeyStoreCorrupt``, ``WrongPassphrase``), is
``BackendUnavailable`` (503) with the original exception chained as ``__cause__``: the same on
``validate()`` and ``avalidate()``, on the full path and on a cache hit the source must confirm.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import AUDIENCE, ISSUER
from tokensmith import (
    BackendUnavailable,
    ClaimCheckFailed,
    ConfigurationError,
    FileKeyStore,
    JWKSFetchError,
    Key,
    KeySet,
    KeyStoreCorrupt,
    MemoryKeyStore,
    RotationPolicy,
    Signer,
    UnknownKey,
    Validator,
    WrongPassphrase,
)
from tokensmith.cache import ValidatedTokenCache
from tokensmith.errors import TokensmithError
from tokensmith.observability import AuditEvent
from tokensmith.testing import FakeClock

KEY = Key.generate("ES256", kid="k1")
FAILURES: list[BaseException] = [
    KeyError("k1"),
    LookupError("no such key"),
    IndexError("list index out of range"),
    ValueError("bad"),
    RuntimeError("boom"),
    OSError("disk"),
    KeyStoreCorrupt("/srv/keys/keyset.json is not JSON"),
    WrongPassphrase("the passphrase does not open /srv/keys/keyset.json"),
]


class Source:
    """A user-written key source: answers with KEY until told to fail."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None

    def verification_key(self, kid: str | None, alg: str) -> Key:
        if self.failure is not None:
            raise self.failure
        return KEY.public_key()


class AsyncSource(Source):
    async def verification_key(self, kid: str | None, alg: str) -> Key:  # type: ignore[override]
        return super().verification_key(kid, alg)


def issue(clock: FakeClock) -> str:
    return Signer(
        MemoryKeyStore(KeySet([KEY]), clock=clock), issuer=ISSUER, ttl=600, clock=clock
    ).issue("u", audience=AUDIENCE)


def avalidating(validator: Validator, token: str) -> Callable[[], object]:
    """A call running ``validator.avalidate(token)`` in its own event loop, for :func:`raised`."""

    def call() -> object:
        return asyncio.run(validator.avalidate(token))

    return call


def raised(call: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the exact class is asserted by callers
        call()
    return info.value


def assert_outage(error: BaseException, cause: BaseException, token: str) -> None:
    assert type(error) is BackendUnavailable, type(error).__name__
    assert error.__cause__ is cause
    assert type(cause).__name__ in str(error)
    assert token not in str(error) and token.split(".")[2] not in str(error)


@pytest.mark.parametrize("failure", FAILURES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("cached", [False, True], ids=["no cache", "cache hit"])
def test_a_failing_key_source_is_an_outage(
    clock: FakeClock, failure: BaseException, cached: bool
) -> None:
    token = issue(clock)
    for source, face in ((Source(), "sync"), (AsyncSource(), "async")):
        events: list[AuditEvent] = []
        validator = Validator(
            source,
            issuer=ISSUER,
            audience=AUDIENCE,
            clock=clock,
            cache=ValidatedTokenCache() if cached else None,
            audit=events.append,
        )

        def run(v: Validator = validator, f: str = face) -> object:
            if f == "sync":
                return v.validate(token)
            return asyncio.run(v.avalidate(token))

        if cached:
            run()  # the entry is made; a hit asks this (custom) source to confirm its key
        source.failure = failure
        assert_outage(raised(run), failure, token)
        if face == "sync":
            assert_outage(raised(avalidating(validator, token)), failure, token)
        assert events[-1].kind == "backend.failure"
        assert events[-1].code == "backend_unavailable"


@pytest.mark.parametrize(
    "failure",
    [UnknownKey("no key 'k1'"), JWKSFetchError("down"), ConfigurationError("misused")],
    ids=lambda e: type(e).__name__,
)
def test_refusals_outages_and_programmer_errors_pass_as_they_are(
    clock: FakeClock, failure: TokensmithError
) -> None:
    token = issue(clock)
    for source in (Source(), AsyncSource()):
        source.failure = failure
        validator = Validator(source, issuer=ISSUER, audience=AUDIENCE, clock=clock)
        error = raised(avalidating(validator, token))
        assert error is failure
        if not isinstance(source, AsyncSource):
            assert raised(functools.partial(validator.validate, token)) is failure


@pytest.fixture
def keydir(tmp_path: Path, clock: FakeClock) -> Path:
    directory = tmp_path / "keys"
    policy = RotationPolicy(alg="ES256")
    FileKeyStore(directory, passphrase=b"old", policy=policy, clock=clock).signing_key()
    return directory


@pytest.mark.parametrize("cached", [False, True], ids=["no cache", "cache"])
def test_a_corrupted_key_directory_is_an_outage(
    keydir: Path, clock: FakeClock, cached: bool
) -> None:
    store = FileKeyStore(keydir, passphrase=b"old", clock=clock)
    token = Signer(store, issuer=ISSUER, ttl=600, clock=clock).issue("u", audience=AUDIENCE)
    validator = Validator(
        store,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        cache=ValidatedTokenCache() if cached else None,
    )
    validator.validate(token)
    manifest = next(keydir.glob("*.json"))
    manifest.write_text(json.dumps({"format": "something else"}))
    clock.advance(5)  # past the reload interval: the store reads the file again
    for call in (
        lambda: validator.validate(token),
        lambda: asyncio.run(validator.avalidate(token)),
    ):
        error = raised(call)
        assert type(error) is BackendUnavailable
        assert type(error.__cause__) is KeyStoreCorrupt


def test_a_passphrase_changed_elsewhere_is_an_outage(keydir: Path, clock: FakeClock) -> None:
    store = FileKeyStore(keydir, passphrase=b"old", clock=clock)
    token = Signer(store, issuer=ISSUER, ttl=600, clock=clock).issue("u", audience=AUDIENCE)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE, clock=clock)
    validator.validate(token)
    FileKeyStore(keydir, passphrase=b"old", clock=clock).change_passphrase(b"new")
    clock.advance(5)
    error = raised(lambda: validator.validate(token))
    assert type(error) is BackendUnavailable
    assert type(error.__cause__) is WrongPassphrase
    assert "new" not in str(error) and "old" not in str(error)


@pytest.mark.parametrize(
    "failure", [KeyError("x"), KeyStoreCorrupt("x")], ids=lambda e: type(e).__name__
)
def test_a_failing_revocation_list_is_an_outage_too(
    clock: FakeClock, failure: BaseException
) -> None:
    class Revocations:
        def is_revoked(self, token: object) -> bool:
            raise failure

    class AsyncRevocations:
        async def is_revoked(self, token: object) -> bool:
            raise failure

    token = issue(clock)
    for revocation in (Revocations(), AsyncRevocations()):
        validator = Validator(
            MemoryKeyStore(KeySet([KEY.public_key()]), clock=clock),
            issuer=ISSUER,
            audience=AUDIENCE,
            clock=clock,
            revocation=revocation,  # type: ignore[arg-type]  # a double: only is_revoked
        )
        error = raised(avalidating(validator, token))
        assert type(error) is BackendUnavailable and error.__cause__ is failure


def test_a_failing_custom_check_still_refuses(clock: FakeClock) -> None:
    def check(token: object) -> bool:
        raise KeyError("tenant")

    validator = Validator(
        MemoryKeyStore(KeySet([KEY.public_key()]), clock=clock),
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        checks=[check],
    )
    error = raised(lambda: validator.validate(issue(clock)))
    assert type(error) is ClaimCheckFailed and type(error.__cause__) is KeyError
