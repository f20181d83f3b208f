"""The options of the remote key sets: their names and types, defaults and checks, once.

:class:`RemoteJWKSOptions` is what :class:`~tokensmith.jwks.RemoteJWKS`,
:class:`~tokensmith.jwks.AsyncRemoteJWKS`, :func:`~tokensmith.jwks.discover` and
:func:`~tokensmith.jwks.adiscover` take as ``**options`` (typed with ``Unpack``, so a type
checker refuses a misspelled option at the call site); :data:`DEFAULTS` and :class:`Config` are
the one place where they get their default values and their checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final, TypedDict

from .._http import check_url
from .._options import flag, integer, known, number, seconds
from ..errors import ConfigurationError
from ..observability.audit import AuditSink
from .document import JWKSRules

if TYPE_CHECKING:  # annotations only
    from typing_extensions import Unpack

__all__ = ["DEFAULTS", "Config", "RemoteJWKSOptions"]


class RemoteJWKSOptions(TypedDict, total=False):
    """The options of :class:`~tokensmith.jwks.RemoteJWKS`, :class:`AsyncRemoteJWKS`,
    :func:`~tokensmith.jwks.discover` and :func:`~tokensmith.jwks.adiscover`; all optional.

    One definition for every way a remote key set is built, so a type checker refuses a
    misspelled option at the call site, and your own wrapper can forward them typed:
    ``def keys(**options: Unpack[RemoteJWKSOptions]) -> RemoteJWKS``. At run time an unknown
    name is a :class:`~tokensmith.errors.ConfigurationError`. The defaults are in
    ``docs/remote-jwks.md``.
    """

    min_ttl: float
    """Lower bound (seconds) of the cache lifetime taken from ``max-age``; default 60."""
    max_ttl: float
    """Upper bound (seconds) of the cache lifetime taken from ``max-age``; default 3600."""
    default_ttl: float
    """Cache lifetime when the response has no ``Cache-Control``; default 300."""
    cooldown: float
    """Window (seconds) of the unknown-kid refetch budget; default 30."""
    cooldown_burst: int
    """Fruitless unknown-kid refetches allowed per ``cooldown`` (1 to 10); default 2."""
    max_stale: float
    """Seconds past expiry the last good set keeps serving during an outage; default 3600."""
    retry_interval: float
    """Seconds between attempts after a failed fetch; default 2."""
    timeout: float
    """Seconds for the whole HTTP exchange (and discovery's metadata fetch); default 5."""
    max_bytes: int
    """Body size cap in bytes, enforced while reading; default 256 KiB."""
    max_keys: int
    """Documents with more keys are refused; default 100."""
    algorithms: Iterable[str] | None
    """Accept only keys bound to these algorithms; default any public-key algorithm."""
    default_algorithms: Mapping[str, str] | None
    """``{kty: alg}`` for JWKs without ``alg`` (else they are skipped; never guessed)."""
    clock: Callable[[], float]
    """Seconds since the epoch; default :func:`time.time` (inject a FakeClock in tests)."""
    background_refresh: bool
    """Refresh before expiry in a daemon thread (sync) or a task (async); default False."""
    audit: AuditSink | None
    """Receives ``backend.failure``, ``key.rotated`` and skipped-key ``anomaly`` events."""


DEFAULTS: Final[RemoteJWKSOptions] = {
    "min_ttl": 60.0,
    "max_ttl": 3600.0,
    "default_ttl": 300.0,
    "cooldown": 30.0,
    "cooldown_burst": 2,
    "max_stale": 3600.0,
    "retry_interval": 2.0,
    "timeout": 5.0,
    "max_bytes": 256 * 1024,
    "max_keys": 100,
    "algorithms": None,
    "default_algorithms": None,
    "clock": time.time,
    "background_refresh": False,
    "audit": None,
}
"""The value of every option not given."""


class Config:
    """The checked options of one remote key source; immutable after construction.

    The one place where the options get their defaults (:data:`DEFAULTS`) and their checks:
    every refusal is a :class:`~tokensmith.errors.ConfigurationError` naming the option (for an
    unknown name, with the closest known one).
    """

    __slots__ = (
        "audit",
        "background_refresh",
        "burst",
        "clock",
        "cooldown",
        "default_ttl",
        "host",
        "issuer",
        "max_bytes",
        "max_stale",
        "max_ttl",
        "min_ttl",
        "retry_interval",
        "rules",
        "timeout",
        "url",
    )

    def __init__(
        self, url: str, issuer: str | None = None, **options: Unpack[RemoteJWKSOptions]
    ) -> None:
        parts = check_url(url)
        self.url = url
        self.host = parts.hostname or ""
        if issuer is not None and (not isinstance(issuer, str) or not issuer):
            raise ConfigurationError("issuer must be a non-empty string (or None)")
        self.issuer = issuer
        known("remote JWKS", options, DEFAULTS.keys())
        given: RemoteJWKSOptions = {**DEFAULTS, **options}
        self.min_ttl = seconds("min_ttl", given["min_ttl"], minimum=0.001)
        self.max_ttl = seconds("max_ttl", given["max_ttl"], minimum=self.min_ttl)
        default_ttl = seconds("default_ttl", given["default_ttl"], minimum=0)
        self.default_ttl = min(max(default_ttl, self.min_ttl), self.max_ttl)
        self.cooldown = seconds("cooldown", given["cooldown"], minimum=0.001)
        self.burst = integer("cooldown_burst", given["cooldown_burst"], minimum=1, maximum=10)
        self.max_stale = seconds("max_stale", given["max_stale"], minimum=0)
        self.retry_interval = seconds("retry_interval", given["retry_interval"], minimum=0.001)
        self.timeout = seconds("timeout", given["timeout"], minimum=0.001, maximum=120)
        self.max_bytes = int(
            number("max_bytes", given["max_bytes"], unit="bytes", minimum=64, maximum=16 << 20)
        )
        max_keys = number("max_keys", given["max_keys"], unit="keys", minimum=1, maximum=10_000)
        self.rules = JWKSRules(
            algorithms=given["algorithms"],
            default_algorithms=given["default_algorithms"],
            max_keys=int(max_keys),
        )
        self.clock = given["clock"]
        if not callable(self.clock):
            raise ConfigurationError("clock must be callable")
        self.background_refresh = flag("background_refresh", given["background_refresh"])
        self.audit = given["audit"]
        if self.audit is not None and not callable(self.audit):
            raise ConfigurationError("audit must be callable")
