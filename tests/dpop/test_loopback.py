"""DPoP over real HTTP on 127.0.0.1: a client (stdlib ``urllib`` driven by
:func:`~tokensmith.dpop.send_with_dpop`) against an ASGI resource server on uvicorn that
requires DPoP and nonces. The first request is answered 401 ``use_dpop_nonce`` with a
``DPoP-Nonce`` header; the client retries once with the nonce and gets 200."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

from tests.support.app_servers import uvicorn_server
from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.dpop import (
    DPoPNonces,
    DPoPProofMaker,
    DPoPResponse,
    DPoPVerifier,
    asend_with_dpop,
    send_with_dpop,
)
from tokensmith.integrations.asgi import TokenMiddleware, verified_token
from tokensmith.web import Guard

ISSUER = "https://auth.example.test"
AUDIENCE = "orders-api"
CALLS: list[int] = []


async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # pragma: no cover - lifespan is off
        return
    body = json.dumps({"sub": verified_token(scope).subject}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Signer]]:
    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=ISSUER, ttl=600)
    validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
    verifier = DPoPVerifier(nonces=DPoPNonces(b"loopback nonce secret, 32+ bytes"))
    guard = Guard(validator, dpop=verifier, dpop_required=True)
    with uvicorn_server(TokenMiddleware(app, guard=guard), lifespan="off") as url:
        yield url, signer


def sender(uri: str, token: str) -> Any:
    def send(proof: str) -> DPoPResponse[bytes]:
        CALLS.append(1)
        request = urllib.request.Request(
            uri, headers={"Authorization": f"DPoP {token}", "DPoP": proof}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                return DPoPResponse(response.status, response.headers.items(), response.read())
        except urllib.error.HTTPError as refused:
            with refused:
                return DPoPResponse(refused.code, refused.headers.items(), refused.read())

    return send


def test_the_nonce_round_trip(server: tuple[str, Signer]) -> None:
    url, signer = server
    maker = DPoPProofMaker(Key.generate("ES256"))
    token = signer.issue("user-1", audience=AUDIENCE, confirmation=maker.confirmation)
    uri = f"{url}/orders?page=1"
    CALLS.clear()
    answer = send_with_dpop(sender(uri, token), maker, "GET", uri, access_token=token)
    assert (answer.status, json.loads(answer.response)) == (200, {"sub": "user-1"})
    assert len(CALLS) == 2  # 401 use_dpop_nonce, then 200 with the nonce
    CALLS.clear()
    again = send_with_dpop(sender(uri, token), maker, "GET", uri, access_token=token)
    assert again.status == 200 and len(CALLS) == 1  # the remembered nonce is still current


def test_refusals_over_http(server: tuple[str, Signer]) -> None:
    url, signer = server
    maker = DPoPProofMaker(Key.generate("ES256"))
    token = signer.issue("user-1", audience=AUDIENCE, confirmation=maker.confirmation)
    thief = DPoPProofMaker(Key.generate("ES256"))
    uri = f"{url}/orders"
    stolen = send_with_dpop(sender(uri, token), thief, "GET", uri, access_token=token)
    assert stolen.status == 401
    assert 'error="invalid_token"' in (stolen.header("www-authenticate") or "")
    bearer = urllib.request.Request(uri, headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bearer, timeout=10)  # noqa: S310 - loopback
    with info.value as refused:
        assert refused.code == 401
        assert (refused.headers["WWW-Authenticate"] or "").startswith("DPoP ")


def test_the_async_client(server: tuple[str, Signer]) -> None:
    url, signer = server
    maker = DPoPProofMaker(Key.generate("EdDSA"))
    token = signer.issue("user-2", audience=AUDIENCE, confirmation=maker.confirmation)
    uri = f"{url}/orders"
    blocking = sender(uri, token)

    async def send(proof: str) -> DPoPResponse[bytes]:
        return await asyncio.to_thread(blocking, proof)

    answer = asyncio.run(asend_with_dpop(send, maker, "GET", uri, access_token=token))
    assert answer.status == 200 and json.loads(answer.response) == {"sub": "user-2"}


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    from tokensmith.integrations.wsgi import verified_token as wsgi_token

    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"sub": wsgi_token(environ).subject}).encode()]


def test_the_nonce_round_trip_through_the_wsgi_middleware() -> None:
    from tests.support.app_servers import wsgi_server
    from tokensmith.integrations.wsgi import TokenMiddleware as WSGIMiddleware

    store = MemoryKeyStore(KeySet.generate("ES256"))
    signer = Signer(store, issuer=ISSUER, ttl=600)
    verifier = DPoPVerifier(nonces=DPoPNonces(b"another loopback nonce secret..."))
    guard = Guard(Validator(store, issuer=ISSUER, audience=AUDIENCE), dpop=verifier)
    maker = DPoPProofMaker(Key.generate("ES384"))
    token = signer.issue("user-3", audience=AUDIENCE, confirmation=maker.confirmation)
    with wsgi_server(WSGIMiddleware(wsgi_app, guard=guard)) as url:
        uri = f"{url}/orders"
        CALLS.clear()
        answer = send_with_dpop(sender(uri, token), maker, "GET", uri, access_token=token)
    assert (answer.status, json.loads(answer.response)) == (200, {"sub": "user-3"})
    assert len(CALLS) == 2
