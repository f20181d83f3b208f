"""The sync and async faces keep one public surface."""

from __future__ import annotations

from tests.support.faces import assert_twin_functions, assert_twins
from tokensmith.issuers import AsyncDiscoveredJWKS, DiscoveredJWKS, MultiIssuerValidator


def test_discovered_key_sets_are_twins() -> None:
    assert_twins(DiscoveredJWKS, AsyncDiscoveredJWKS, sync_only=["verification_key_nowait"])


def test_validate_and_avalidate_are_twins() -> None:
    assert_twin_functions(MultiIssuerValidator.validate, MultiIssuerValidator.avalidate)
