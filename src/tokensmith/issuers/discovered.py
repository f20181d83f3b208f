"""An issuer's remote key set found through discovery on first use, not when it is built.

:func:`~tokensmith.jwks.discover` fetches the issuer's metadata before it returns, so calling
it to build a key source is I/O: in a :class:`~tokensmith.issuers.MultiIssuerValidator`'s
``keys_for`` it would run while new issuers wait, and in an ``async`` service it would block
the event loop. :class:`DiscoveredJWKS` (and :class:`AsyncDiscoveredJWKS`) are built without
I/O and discover at the first key lookup, where the validator already expects I/O (awaited on
the async face). Both are pinned to their issuer, like the remote key set discovery returns.

A failed discovery is not retried before ``retry_interval`` seconds (the remote key set
option of the same name): meanwhile each lookup is refused at once with the same
:class:`~tokensmith.errors.DiscoveryError` (503), so an outage of the issuer's metadata costs
one fetch per interval, not one per token.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from ..errors import DiscoveryError
from ..jwks._remote_config import Config
from ..jwks.discovery import adiscover, discover, metadata_urls

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._http import AsyncTransport, Transport
    from ..jwks._remote_config import RemoteJWKSOptions
    from ..jwks.remote import AsyncRemoteJWKS, RemoteJWKS
    from ..keys import Key

__all__ = ["AsyncDiscoveredJWKS", "DiscoveredJWKS"]


class _Discovery:
    """What both faces share: the issuer, the checked options, and the last failure."""

    __slots__ = ("_config", "_failed", "_options", "_retry_at", "issuer")

    def __init__(self, issuer: str, options: RemoteJWKSOptions) -> None:
        # every option, and the issuer's URL, is checked now, before any request
        self._config = Config(metadata_urls(issuer)[0], issuer, **options)
        self._options = options
        self.issuer = issuer
        """The issuer this key source is pinned to."""
        self._failed: DiscoveryError | None = None
        self._retry_at = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(issuer={self.issuer!r})"

    def _check_retry(self) -> None:
        """Refuse at once while the last failure is recent (lock held)."""
        failed = self._failed
        if failed is not None and self._config.clock() < self._retry_at:
            raise DiscoveryError(failed.message, reason=failed.reason)

    def _remember(self, exc: DiscoveryError) -> None:
        self._failed = exc
        self._retry_at = self._config.clock() + self._config.retry_interval


class DiscoveredJWKS(_Discovery):
    """A :class:`~tokensmith.KeySource` that runs :func:`~tokensmith.jwks.discover` at its
    first lookup and then answers from the :class:`~tokensmith.jwks.RemoteJWKS` it found.

    :param issuer: the issuer whose metadata names the JWKS (and whose ``iss`` it must carry).
    :param transport: a :class:`~tokensmith.jwks.Transport` (default: the standard library).
    :param options: :class:`~tokensmith.jwks.RemoteJWKSOptions` for the remote key set; its
        ``retry_interval`` also spaces discovery attempts after a failure.
    """

    __slots__ = ("_lock", "_remote", "_transport")

    def __init__(
        self,
        issuer: str,
        *,
        transport: Transport | None = None,
        **options: Unpack[RemoteJWKSOptions],
    ) -> None:
        super().__init__(issuer, options)
        self._transport = transport
        self._remote: RemoteJWKS | None = None
        self._lock = threading.Lock()

    @property
    def remote(self) -> RemoteJWKS | None:
        """The remote key set, once discovery found it."""
        return self._remote

    def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (:class:`~tokensmith.KeySource`)."""
        remote = self._remote or self._discover()
        return remote.verification_key(kid, alg)

    def verification_key_nowait(self, kid: str | None, alg: str) -> Key | None:
        """Once discovery is done, the remote key set's non-blocking answer; before, ``None``
        (discovery does I/O): see :class:`~tokensmith.stores.NonBlockingKeySource`."""
        remote = self._remote
        return None if remote is None else remote.verification_key_nowait(kid, alg)

    def _discover(self) -> RemoteJWKS:
        with self._lock:  # one discovery at a time; the others wait for its answer
            if self._remote is not None:
                return self._remote
            self._check_retry()
            try:
                remote = discover(self.issuer, transport=self._transport, **self._options)
            except DiscoveryError as exc:
                self._remember(exc)
                raise
            self._remote = remote
            return remote


class AsyncDiscoveredJWKS(_Discovery):
    """The async twin of :class:`DiscoveredJWKS` (:func:`~tokensmith.jwks.adiscover`, then an
    :class:`~tokensmith.jwks.AsyncRemoteJWKS`); an :class:`~tokensmith.AsyncKeySource`."""

    __slots__ = ("_lock", "_remote", "_transport")

    def __init__(
        self,
        issuer: str,
        *,
        transport: AsyncTransport | Transport | None = None,
        **options: Unpack[RemoteJWKSOptions],
    ) -> None:
        super().__init__(issuer, options)
        self._transport = transport
        self._remote: AsyncRemoteJWKS | None = None
        self._lock = asyncio.Lock()

    @property
    def remote(self) -> AsyncRemoteJWKS | None:
        """The remote key set, once discovery found it."""
        return self._remote

    async def verification_key(self, kid: str | None, alg: str) -> Key:
        """The key for a header's ``kid`` and ``alg`` (:class:`~tokensmith.AsyncKeySource`)."""
        remote = self._remote or await self._discover()
        return await remote.verification_key(kid, alg)

    async def _discover(self) -> AsyncRemoteJWKS:
        async with self._lock:
            if self._remote is not None:
                return self._remote
            self._check_retry()
            try:
                remote = await adiscover(self.issuer, transport=self._transport, **self._options)
            except DiscoveryError as exc:
                self._remember(exc)
                raise
            self._remote = remote
            return remote
