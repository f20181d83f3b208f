"""The sync and async remote key sets (and discovery) keep one public surface."""

from __future__ import annotations

from tests.support.faces import assert_twin_functions, assert_twins
from tokensmith.jwks import AsyncRemoteJWKS, RemoteJWKS, adiscover, discover


def test_remote_jwks_faces_are_twins() -> None:
    assert_twins(RemoteJWKS, AsyncRemoteJWKS, sync_only=["verification_key_nowait"])


def test_discovery_faces_are_twins() -> None:
    assert_twin_functions(discover, adiscover)
