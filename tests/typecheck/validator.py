"""Typed usage of the validator's backends: mypy --strict checks this file, nothing runs it.

Every ``# type: ignore[code]`` marks an error mypy must report on that line (see options.py):
the key source, the revocation list and the JWKS publisher take their protocols, not ``Any``.
"""

from __future__ import annotations

from tokensmith import MemoryKeyStore, MemoryRevocationList, Validator
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS, jwks_response
from tokensmith.revocation import AsyncRedisRevocationList

ISSUER = "https://issuer.example"


def key_sources(store: MemoryKeyStore, remote: RemoteJWKS, aremote: AsyncRemoteJWKS) -> None:
    Validator(store, issuer=ISSUER, audience="api")
    Validator(remote, issuer=ISSUER, audience="api")
    Validator(aremote, issuer=ISSUER, audience="api")
    Validator({"kid": "key"}, issuer=ISSUER, audience="api")  # type: ignore[arg-type]
    Validator(store, issuer=ISSUER, audience="api", algorithms="ES256")
    Validator(store, issuer=ISSUER, audience="api", leeway="30")  # type: ignore[arg-type]


def revocation_lists(store: MemoryKeyStore, redis: AsyncRedisRevocationList) -> None:
    Validator(store, issuer=ISSUER, audience="api", revocation=MemoryRevocationList())
    Validator(store, issuer=ISSUER, audience="api", revocation=redis)
    Validator(store, issuer=ISSUER, audience="api", revocation=set())  # type: ignore[arg-type]


def publishing(store: MemoryKeyStore, remote: RemoteJWKS) -> None:
    jwks_response(store)
    jwks_response(remote)  # type: ignore[arg-type]
