"""The options of the remote key sets: one set of names, checked the same way everywhere.

``RemoteJWKS``, ``AsyncRemoteJWKS``, ``discover`` and ``adiscover`` all take
:class:`~tokensmith.jwks.RemoteJWKSOptions`. A misspelled or unknown option is a
``ConfigurationError`` naming it (never a bare ``TypeError``), and discovery checks every option
before it makes a single request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.support.jwks_server import JWKSServer
from tokensmith import ConfigurationError, KeySet, MemoryKeyStore
from tokensmith.jwks import (
    AsyncRemoteJWKS,
    HTTPResponse,
    RemoteJWKS,
    RemoteJWKSOptions,
    adiscover,
    discover,
)
from tokensmith.testing import FakeClock

OIDC = "/.well-known/openid-configuration"


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with JWKSServer() as s:
        yield s


def _published(server: JWKSServer, clock: FakeClock) -> str:
    issuer = server.url("")
    server.serve_store(MemoryKeyStore(KeySet.generate("ES256"), clock=clock))
    server.serve_json(OIDC, {"issuer": issuer, "jwks_uri": server.url()})
    return issuer


def _refused(call: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call()
    assert type(info.value) is ConfigurationError
    return info.value


@pytest.mark.parametrize("face", [RemoteJWKS, AsyncRemoteJWKS])
def test_an_unknown_option_is_a_configuration_error_naming_it(face: Any) -> None:
    options: dict[str, Any] = {"min_tll": 5}
    error = _refused(lambda: face("https://issuer.example/jwks", **options))
    assert "min_tll" in error.message and "min_ttl" in error.message  # the likely intent


@pytest.mark.parametrize("face", [RemoteJWKS, AsyncRemoteJWKS])
def test_both_faces_check_the_same_options_the_same_way(face: Any) -> None:
    error = _refused(lambda: face("https://issuer.example/jwks", max_ttl=1, min_ttl=5))
    assert error.message.startswith("max_ttl must be")
    _refused(lambda: face("https://issuer.example/jwks", clock="not callable"))
    _refused(lambda: face("https://issuer.example/jwks", background_refresh=1))


def test_discover_checks_its_options_before_any_request(
    server: JWKSServer, clock: FakeClock
) -> None:
    issuer = _published(server, clock)
    misspelled: dict[str, Any] = {"max_stael": 10}
    _refused(lambda: discover(issuer, clock=clock, **misspelled))
    _refused(lambda: discover(issuer, clock=clock, max_ttl=-1))
    assert server.paths == []


def test_adiscover_checks_its_options_before_any_request(
    server: JWKSServer, clock: FakeClock
) -> None:
    issuer = _published(server, clock)
    misspelled: dict[str, Any] = {"max_stael": 10}
    _refused(lambda: asyncio.run(adiscover(issuer, clock=clock, **misspelled)))
    _refused(lambda: asyncio.run(adiscover(issuer, clock=clock, timeout=0)))
    assert server.paths == []


def test_discover_forwards_every_option(server: JWKSServer, clock: FakeClock) -> None:
    issuer = _published(server, clock)
    options: RemoteJWKSOptions = {"clock": clock, "timeout": 1.5, "max_keys": 3}
    remote = discover(issuer, **options)
    remote.refresh()
    assert remote.kids and remote.issuer == issuer


class _AsyncOnly:
    async def fetch(
        self, url: str, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> HTTPResponse:
        raise AssertionError("never called")


def test_discover_refuses_an_async_transport_like_remote_jwks(
    server: JWKSServer, clock: FakeClock
) -> None:
    issuer = _published(server, clock)
    _refused(lambda: RemoteJWKS(server.url(), transport=_AsyncOnly()))  # type: ignore[arg-type]
    _refused(lambda: discover(issuer, transport=_AsyncOnly(), clock=clock))  # type: ignore[arg-type]
    assert server.paths == []


@pytest.mark.parametrize("transport", [object(), "https://proxy.example"])
def test_a_transport_without_fetch_is_refused_by_every_face(
    transport: object, server: JWKSServer, clock: FakeClock
) -> None:
    issuer = _published(server, clock)
    _refused(lambda: RemoteJWKS(server.url(), transport=transport))  # type: ignore[arg-type]
    _refused(lambda: AsyncRemoteJWKS(server.url(), transport=transport))  # type: ignore[arg-type]
    _refused(lambda: discover(issuer, transport=transport))  # type: ignore[arg-type]
    _refused(lambda: asyncio.run(adiscover(issuer, transport=transport)))  # type: ignore[arg-type]
    assert server.paths == []
