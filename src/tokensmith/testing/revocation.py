"""The contract every revocation list must meet, as a test suite (sync and async), and the
verified tokens its scenarios revoke.

Subclass :class:`RevocationListContract` (sync lists) or :class:`AsyncRevocationListContract`
(async ones) in a test module and implement the factory method; pytest runs every ``test_*``
method against your backend (see docs/testing-backends.md).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any

from ..claims import VerifiedToken
from ..errors import ConfigurationError
from ..policy import DEFAULT_LEEWAY, MAX_LEEWAY
from ..revocation.base import AsyncRevocationList, RevocationList
from .clock import FakeClock

__all__ = ["AsyncRevocationListContract", "RevocationListContract", "verified_token"]


def verified_token(
    *,
    jti: str | None = "jti-1",
    subject: str | None = "user-1",
    issuer: str | None = "https://issuer.test",
    issued_at: float | None = None,
    expires_at: float | None = None,
    session_id: str | None = None,
    audience: tuple[str, ...] = ("api",),
) -> VerifiedToken:
    """A :class:`~tokensmith.VerifiedToken` built directly, for testing revocation backends."""
    claims: dict[str, Any] = {}
    for name, value in (
        ("jti", jti),
        ("sub", subject),
        ("iss", issuer),
        ("iat", issued_at),
        ("exp", expires_at),
        ("sid", session_id),
    ):
        if value is not None:
            claims[name] = value
    return VerifiedToken(
        header=MappingProxyType({"alg": "HS256", "kid": "test"}),
        claims=MappingProxyType(claims),
        subject=subject,
        issuer=issuer,
        audience=audience,
        scopes=frozenset(),
        expires_at=expires_at,
        issued_at=issued_at,
        not_before=None,
        jti=jti,
        key_id="test",
        algorithm="HS256",
        _raw="",
    )


class _AsyncFacade:
    """Presents a sync revocation list through the async interface, so one scenario serves both."""

    def __init__(self, inner: RevocationList) -> None:
        self._inner = inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()

    async def is_revoked(self, token: VerifiedToken) -> bool:
        return self._inner.is_revoked(token)

    async def revoke(self, jti: str, *, issuer: str, expires_at: float) -> None:
        self._inner.revoke(jti, issuer=issuer, expires_at=expires_at)

    async def revoke_subject(
        self,
        subject: str,
        *,
        issuer: str,
        before: float,
        expires_at: float,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        self._inner.revoke_subject(
            subject, issuer=issuer, before=before, expires_at=expires_at, skew=skew
        )

    async def revoke_session(
        self,
        session_id: str,
        *,
        issuer: str,
        expires_at: float,
        before: float = math.inf,
        skew: float = DEFAULT_LEEWAY,
    ) -> None:
        self._inner.revoke_session(
            session_id, issuer=issuer, expires_at=expires_at, before=before, skew=skew
        )


_ISS = "https://issuer.test"


class AsyncRevocationListContract:
    """The behaviour every async revocation backend must have.

    Subclass it in a test module and implement :meth:`make_revocation_list`; pytest then runs
    every ``test_*`` method against your backend. Each test runs in its own event loop.
    """

    def make_revocation_list(self, clock: FakeClock) -> Awaitable[AsyncRevocationList]:
        """Return (a coroutine producing) a fresh, empty list that reads time from ``clock``."""
        raise NotImplementedError

    def _run(self, scenario: Callable[[AsyncRevocationList, FakeClock], Awaitable[None]]) -> None:
        async def main() -> None:
            clock = FakeClock()
            revocations = await self.make_revocation_list(clock)
            try:
                await scenario(revocations, clock)
            finally:
                close: Any = getattr(revocations, "aclose", None) or getattr(
                    revocations, "close", None
                )
                if callable(close):
                    result = close()
                    if inspect.isawaitable(result):
                        await result

        asyncio.run(main())

    def test_new_list_revokes_nothing(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            assert not await rl.is_revoked(verified_token(issued_at=now, expires_at=now + 60))

        self._run(scenario)

    def test_revoke_by_jti(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            token = verified_token(jti="a", issued_at=now, expires_at=now + 60)
            await rl.revoke("a", issuer=_ISS, expires_at=now + 60)
            assert await rl.is_revoked(token)
            other = verified_token(jti="b", issued_at=now, expires_at=now + 60)
            assert not await rl.is_revoked(other)

        self._run(scenario)

    def test_jti_is_scoped_to_issuer(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke("a", issuer="https://other.test", expires_at=now + 60)
            token = verified_token(jti="a", issued_at=now, expires_at=now + 60)
            assert not await rl.is_revoked(token)

        self._run(scenario)

    def test_jti_entry_expires_with_the_token(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            token = verified_token(jti="a", issued_at=now, expires_at=now + 60)
            await rl.revoke("a", issuer=_ISS, expires_at=now + 60)
            clock.advance(59)
            assert await rl.is_revoked(token)
            clock.advance(3600)  # far past exp + any grace: the entry may be gone
            assert not await rl.is_revoked(token)

        self._run(scenario)

    def test_already_expired_entry_is_not_needed(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke("old", issuer=_ISS, expires_at=now - 7200)
            token = verified_token(jti="old", issued_at=now - 7300, expires_at=now - 7200)
            assert not await rl.is_revoked(token)

        self._run(scenario)

    def test_subject_watermark(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            cutoff = now + 0.5
            await rl.revoke_subject(
                "alice", issuer=_ISS, before=cutoff, expires_at=now + 3600, skew=0
            )
            before = verified_token(subject="alice", issued_at=now - 10, expires_at=now + 50)
            same_second = verified_token(subject="alice", issued_at=now + 1, expires_at=now + 60)
            after = verified_token(subject="alice", issued_at=now + 2, expires_at=now + 60)
            bob = verified_token(subject="bob", issued_at=now - 10, expires_at=now + 50)
            assert await rl.is_revoked(before)
            assert await rl.is_revoked(same_second)  # iat <= ceil(cutoff)
            assert not await rl.is_revoked(after)
            assert not await rl.is_revoked(bob)

        self._run(scenario)

    def test_subject_watermark_covers_an_issuer_clock_ahead(self) -> None:
        """``revoke_subject(before=now)`` also revokes a token minted just before by an issuer
        whose clock runs ``DEFAULT_LEEWAY`` ahead (a validator still accepts its ``iat``), and
        refuses fresh tokens until that skew has passed; the boundary is to the second."""

        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()  # a whole second
            await rl.revoke_subject("alice", issuer=_ISS, before=now, expires_at=now + 3600)
            for iat, revoked in (
                (now - 10, True),
                (now + 1, True),  # minted before the call on a clock 1 s ahead
                (now + DEFAULT_LEEWAY - 0.5, True),
                (now + DEFAULT_LEEWAY, True),  # the validator's leeway, to the second
                (now + DEFAULT_LEEWAY + 0.001, False),
                (now + DEFAULT_LEEWAY + 1, False),  # a fresh login once the skew has passed
            ):
                token = verified_token(subject="alice", issued_at=iat, expires_at=iat + 60)
                assert await rl.is_revoked(token) is revoked, (iat - now, revoked)

        self._run(scenario)

    def test_fractional_cutoff_with_skew_covers_its_whole_second(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            before = now + 0.25  # cutoff now + 30.25: every iat up to now + 31 is covered
            await rl.revoke_subject("alice", issuer=_ISS, before=before, expires_at=now + 3600)
            for iat, revoked in (
                (now + 30.25, True),
                (now + 30.9, True),
                (now + 31, True),
                (now + 31.5, False),
                (now + 32, False),
            ):
                token = verified_token(subject="alice", issued_at=iat, expires_at=iat + 60)
                assert await rl.is_revoked(token) is revoked, (iat - now, revoked)

        self._run(scenario)

    def test_explicit_skew(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject(
                "alice", issuer=_ISS, before=now, expires_at=now + 3600, skew=MAX_LEEWAY
            )
            await rl.revoke_subject("bob", issuer=_ISS, before=now, expires_at=now + 3600, skew=0)
            for subject, iat, revoked in (
                ("alice", now + MAX_LEEWAY, True),
                ("alice", now + MAX_LEEWAY + 1, False),
                ("bob", now, True),
                ("bob", now + 0.5, False),
                ("bob", now + 1, False),
            ):
                token = verified_token(subject=subject, issued_at=iat, expires_at=iat + 60)
                assert await rl.is_revoked(token) is revoked, (subject, iat - now, revoked)

        self._run(scenario)

    def test_subject_watermark_without_iat_fails_closed(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject("alice", issuer=_ISS, before=now, expires_at=now + 3600)
            assert await rl.is_revoked(verified_token(subject="alice", expires_at=now + 60))

        self._run(scenario)

    def test_subject_watermark_is_scoped_to_issuer(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject(
                "alice", issuer="https://other.test", before=now, expires_at=now + 3600
            )
            token = verified_token(subject="alice", issued_at=now - 5, expires_at=now + 60)
            assert not await rl.is_revoked(token)

        self._run(scenario)

    def test_watermark_only_moves_forward(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject("alice", issuer=_ISS, before=now, expires_at=now + 3600)
            await rl.revoke_subject("alice", issuer=_ISS, before=now - 100, expires_at=now + 10)
            token = verified_token(subject="alice", issued_at=now - 50, expires_at=now + 60)
            assert await rl.is_revoked(token)
            clock.advance(600)  # the first call's expiry still holds
            assert await rl.is_revoked(token)

        self._run(scenario)

    def test_session_revocation(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_session("s1", issuer=_ISS, expires_at=now + 3600)
            in_session = verified_token(session_id="s1", issued_at=now + 5, expires_at=now + 60)
            other = verified_token(session_id="s2", issued_at=now, expires_at=now + 60)
            no_session = verified_token(issued_at=now, expires_at=now + 60)
            assert await rl.is_revoked(in_session)
            assert not await rl.is_revoked(other)
            assert not await rl.is_revoked(no_session)

        self._run(scenario)

    def test_session_revocation_with_cutoff(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_session("s1", issuer=_ISS, expires_at=now + 3600, before=now, skew=0)
            old = verified_token(session_id="s1", issued_at=now - 5, expires_at=now + 60)
            new = verified_token(session_id="s1", issued_at=now + 5, expires_at=now + 60)
            assert await rl.is_revoked(old)
            assert not await rl.is_revoked(new)

        self._run(scenario)

    def test_session_cutoff_covers_an_issuer_clock_ahead(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_session("s1", issuer=_ISS, expires_at=now + 3600, before=now)
            for iat, revoked in (
                (now + DEFAULT_LEEWAY, True),
                (now + DEFAULT_LEEWAY + 0.5, False),
                (now + DEFAULT_LEEWAY + 1, False),
            ):
                token = verified_token(session_id="s1", issued_at=iat, expires_at=iat + 60)
                assert await rl.is_revoked(token) is revoked, (iat - now, revoked)

        self._run(scenario)

    def test_latest_watermark_applies(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject("alice", issuer=_ISS, before=now - 100, expires_at=now + 3600)
            await rl.revoke_session("s1", issuer=_ISS, before=now + 100, expires_at=now + 3600)
            token = verified_token(
                subject="alice", session_id="s1", issued_at=now, expires_at=now + 60
            )
            assert await rl.is_revoked(token)

        self._run(scenario)

    def test_watermark_expires(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            await rl.revoke_subject("alice", issuer=_ISS, before=now, expires_at=now + 60)
            token = verified_token(subject="alice", issued_at=now - 5, expires_at=now + 60)
            clock.advance(7200)
            assert not await rl.is_revoked(token)

        self._run(scenario)

    def test_bad_arguments_are_configuration_errors(self) -> None:
        async def scenario(rl: AsyncRevocationList, clock: FakeClock) -> None:
            now = clock()
            calls: list[Callable[[], Awaitable[None]]] = [
                lambda: rl.revoke("", issuer=_ISS, expires_at=now + 1),
                lambda: rl.revoke_subject("", issuer=_ISS, before=now, expires_at=now + 1),
                lambda: rl.revoke_session("", issuer=_ISS, expires_at=now + 1),
                lambda: rl.revoke("x", issuer=_ISS, expires_at=math.nan),
                lambda: rl.revoke_subject("a", issuer=_ISS, before=math.nan, expires_at=now + 1),
                lambda: rl.revoke_session("a", issuer=_ISS, before=math.nan, expires_at=now + 1),
            ]
            bad_skews: tuple[Any, ...] = (-1, MAX_LEEWAY + 1, math.nan, math.inf, True, "30")
            for skew in bad_skews:
                for method in (rl.revoke_subject, rl.revoke_session):
                    calls.append(
                        functools.partial(
                            method, "a", issuer=_ISS, before=now, expires_at=now + 60, skew=skew
                        )
                    )
            for call in calls:
                try:
                    await call()
                except ConfigurationError:
                    continue
                raise AssertionError("a bad argument was accepted")

        self._run(scenario)


class RevocationListContract(AsyncRevocationListContract):
    """The behaviour every (sync) revocation backend must have.

    Subclass it and implement :meth:`make_sync_revocation_list`; the scenarios are the same as
    :class:`AsyncRevocationListContract`'s.
    """

    def make_sync_revocation_list(self, clock: FakeClock) -> RevocationList:
        """Return a fresh, empty list that reads time from ``clock``."""
        raise NotImplementedError

    async def make_revocation_list(self, clock: FakeClock) -> AsyncRevocationList:
        return _AsyncFacade(self.make_sync_revocation_list(clock))
