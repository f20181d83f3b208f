"""Test helpers for applications and backend authors: a controllable clock, contract suites.

:class:`FakeClock` replaces ``time.time`` wherever tokensmith takes a ``clock=`` argument, so
expiry, rotation and TTL rules can be tested to the second without sleeping. The contract
suites run tokensmith's own scenarios against your backend: subclass one in a test module and
implement its factory method (see docs/testing-backends.md):

* :class:`KeyStoreContract` — key stores;
* :class:`RevocationListContract` / :class:`AsyncRevocationListContract` — revocation lists
  (with :func:`verified_token` to build the tokens they revoke);
* :class:`RefreshStoreContract` — refresh-token stores;
* :class:`JtiReplayStoreContract` — replay stores.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .clock import FakeClock as FakeClock
    from .keystores import KeyStoreContract as KeyStoreContract
    from .refresh import RefreshStoreContract as RefreshStoreContract
    from .replay import JtiReplayStoreContract as JtiReplayStoreContract
    from .revocation import AsyncRevocationListContract as AsyncRevocationListContract
    from .revocation import RevocationListContract as RevocationListContract
    from .revocation import verified_token as verified_token

_LAZY = {
    "FakeClock": ".clock",
    "KeyStoreContract": ".keystores",
    "RefreshStoreContract": ".refresh",
    "JtiReplayStoreContract": ".replay",
    "AsyncRevocationListContract": ".revocation",
    "RevocationListContract": ".revocation",
    "verified_token": ".revocation",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
