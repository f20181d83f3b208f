"""Typed usage of the multi-issuer options: mypy --strict checks this file, nothing runs it.

Every ``# type: ignore[code]`` marks an error mypy must report on that line (see options.py).
"""

from __future__ import annotations

from tokensmith import KeySet, MemoryKeyStore
from tokensmith.issuers import (
    AsyncDiscoveredJWKS,
    DiscoveredJWKS,
    IssuerTemplate,
    MultiIssuerValidator,
)
from tokensmith.testing import FakeClock

ISSUER = "https://issuer.example"
STORE = MemoryKeyStore(KeySet.generate("ES256"))


def multi_issuer_options() -> None:
    MultiIssuerValidator({ISSUER: STORE}, audience="api", leeway=5, clock=FakeClock())
    MultiIssuerValidator({ISSUER: STORE}, audiense="api")  # type: ignore[call-arg]
    MultiIssuerValidator({ISSUER: STORE}, audience="api", leeway="5")  # type: ignore[arg-type]
    MultiIssuerValidator(
        templates=IssuerTemplate("https://login.example/{tid}"),
        keys_for=DiscoveredJWKS,
        audience="api",
        max_issuers=10,
    )
    MultiIssuerValidator(allow=ISSUER, keys_for=DiscoveredJWKS, max_issuer=10)  # type: ignore[call-arg]


def discovered_options() -> None:
    DiscoveredJWKS(ISSUER, min_ttl=30, retry_interval=5)
    DiscoveredJWKS(ISSUER, min_tll=30)  # type: ignore[call-arg]
    AsyncDiscoveredJWKS(ISSUER, background_refresh="yes")  # type: ignore[arg-type]
