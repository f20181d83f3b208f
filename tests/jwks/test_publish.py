"""Publishing a JWKS: body, caching headers, ETag, and never a private member."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.forge import b64
from tokensmith import (
    SUPPORTED_ALGORITHMS,
    ConfigurationError,
    Key,
    KeyMaterialError,
    KeySet,
    MemoryKeyStore,
    RotationPolicy,
)
from tokensmith.jwks import (
    DEFAULT_JWKS_MAX_AGE,
    JWKS_CONTENT_TYPE,
    authorization_server_metadata,
    jwks_response,
)
from tokensmith.testing import FakeClock

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_every_algorithm_published_without_private_members_and_hmac_never(
    clock: FakeClock,
) -> None:
    keys = [Key.generate(alg, kid=f"kid-{alg}") for alg in sorted(SUPPORTED_ALGORITHMS)]
    keys.append(Key.generate("EdDSA", kid="kid-ed448", curve="Ed448"))
    store = MemoryKeyStore(KeySet(keys), clock=clock)
    response = jwks_response(store)
    document = json.loads(response.body)
    assert document == dict(response.document)
    published = {jwk["kid"]: jwk for jwk in document["keys"]}
    assert set(published) == {k.kid for k in keys if not k.is_symmetric}
    for jwk in published.values():
        assert PRIVATE_MEMBERS.isdisjoint(jwk), jwk["kid"]
        assert jwk["kty"] != "oct"
        assert jwk["use"] == "sig" and jwk["alg"] in SUPPORTED_ALGORITHMS
        assert not Key.from_jwk(jwk).is_private


def test_headers_etag_and_conditional_requests(clock: FakeClock) -> None:
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    response = jwks_response(store)
    assert response.headers["Content-Type"] == JWKS_CONTENT_TYPE
    assert response.headers["Cache-Control"] == f"public, max-age={DEFAULT_JWKS_MAX_AGE}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    expected = '"' + b64(hashlib.sha256(response.body).digest()[:18]) + '"'
    assert response.etag == expected == response.headers["ETag"]
    assert jwks_response(store).etag == response.etag  # deterministic body
    assert response.not_modified(response.etag)
    assert response.not_modified(f'"other", {response.etag}')
    assert response.not_modified(f"W/{response.etag}")
    assert response.not_modified("*")
    assert not response.not_modified(None)
    assert not response.not_modified('"other"')
    store.add(Key.generate("ES256"))
    assert jwks_response(store).etag != response.etag
    with pytest.raises(TypeError):
        response.headers["ETag"] = "x"  # type: ignore[index]


def test_max_age_is_capped_by_half_the_publish_ahead(clock: FakeClock) -> None:
    policy = RotationPolicy(rotate_every=86400, publish_ahead=3600, verify_for=3600)
    store = MemoryKeyStore(policy=policy, clock=clock)
    assert jwks_response(store).max_age == 1800
    assert jwks_response(store, max_age=600).max_age == 600
    assert jwks_response(store, max_age=99999).max_age == 1800
    assert jwks_response(store, max_age=0).headers["Cache-Control"] == "public, max-age=0"
    plain = MemoryKeyStore(KeySet.generate(), clock=clock)
    assert jwks_response(plain, max_age=10).max_age == 10
    assert jwks_response(plain, max_age=10_000).max_age == DEFAULT_JWKS_MAX_AGE
    json_type = jwks_response(plain, content_type="application/json")
    assert json_type.headers["Content-Type"] == "application/json"


def test_file_key_store_publishes_pending_keys(tmp_path: Path, clock: FakeClock) -> None:
    from tokensmith.stores.file import FileKeyStore

    policy = RotationPolicy(rotate_every=3600, publish_ahead=600, verify_for=600)
    store = FileKeyStore(tmp_path / "keys", policy=policy, clock=clock)
    first = store.signing_key().kid
    store.rotate()
    response = jwks_response(store)
    kids = [jwk["kid"] for jwk in response.document["keys"]]
    assert first in kids and len(kids) == 2  # the successor is published ahead
    assert response.max_age == 300


class _Leaky:
    def __init__(self, document: Any, policy: Any = None) -> None:
        self._document = document
        self.policy = policy

    def jwks(self) -> Any:
        return self._document


@pytest.mark.parametrize(
    "document",
    [
        {"keys": [Key.generate("ES256").to_jwk(private=True)]},
        {"keys": [Key.generate("RS256").to_jwk(private=True)]},
        {"keys": [Key.generate("HS256").to_jwk(private=True)]},
        {"keys": [{**Key.generate("EdDSA").to_jwk(), "d": "AAAA"}]},
        {"keys": ["not a jwk"]},
        {"keys": {}},
        [],
    ],
)
def test_a_store_leaking_private_material_is_refused(document: Any) -> None:
    with pytest.raises(KeyMaterialError) as info:
        jwks_response(_Leaky(document))  # type: ignore[arg-type]  # a double: jwks() only
    for jwk in document.get("keys", []) if isinstance(document, dict) else []:
        for member in PRIVATE_MEMBERS & set(jwk if isinstance(jwk, dict) else ()):
            assert str(jwk[member]) not in str(info.value)


@pytest.mark.parametrize(
    ("store", "options"),
    [
        (object(), {}),
        (_Leaky({"keys": []}), {"max_age": -1}),
        (_Leaky({"keys": []}), {"max_age": 1.5}),
        (_Leaky({"keys": []}), {"max_age": True}),
        (_Leaky({"keys": []}), {"content_type": "text/html"}),
        (_Leaky({"keys": []}, policy=type("P", (), {"publish_ahead": -1})()), {}),
        (_Leaky({"keys": []}, policy=type("P", (), {"publish_ahead": "x"})()), {}),
    ],
)
def test_bad_arguments_are_configuration_errors(store: Any, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        jwks_response(store, **options)


def test_policy_without_publish_ahead_uses_the_default() -> None:
    response = jwks_response(_Leaky({"keys": []}, policy=object()))  # type: ignore[arg-type]
    assert response.max_age == DEFAULT_JWKS_MAX_AGE


def test_authorization_server_metadata() -> None:
    metadata = authorization_server_metadata(
        "https://auth.example.com",
        "https://auth.example.com/jwks.json",
        token_endpoint="https://auth.example.com/token",
    )
    assert metadata == {
        "issuer": "https://auth.example.com",
        "jwks_uri": "https://auth.example.com/jwks.json",
        "token_endpoint": "https://auth.example.com/token",
    }
    local = authorization_server_metadata("http://127.0.0.1:8000", "http://127.0.0.1:8000/jwks")
    assert local["issuer"] == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("issuer", "jwks_uri", "extra"),
    [
        ("http://auth.example.com", "https://auth.example.com/jwks", {}),
        ("https://auth.example.com", "http://auth.example.com/jwks", {}),
        ("https://auth.example.com?x=1", "https://auth.example.com/jwks", {}),
        ("https://auth.example.com#f", "https://auth.example.com/jwks", {}),
        ("https://auth.example.com", "https://auth.example.com/jwks", {"issuer": "x"}),
        ("https://auth.example.com", "https://auth.example.com/jwks", {"jwks_uri": "x"}),
    ],
)
def test_bad_metadata_is_refused(issuer: str, jwks_uri: str, extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        authorization_server_metadata(issuer, jwks_uri, **extra)
