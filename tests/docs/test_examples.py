"""The examples in examples/ work, and the custom backends pass tokensmith's contract suites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import DOCS
from tests.support.modules import load_example
from tokensmith import (
    BackendUnavailable,
    ConfigurationError,
    InvalidKey,
    KeySet,
    MemoryKeyStore,
    NoSigningKey,
    RotationPolicy,
    Signer,
    Validator,
)
from tokensmith.testing import FakeClock, KeyStoreContract, RevocationListContract

wsgi_api = load_example("wsgi_api")
env_keystore = load_example("env_keystore")
custom_revocation = load_example("custom_revocation")


# --- quickstart --------------------------------------------------------------------------------


def test_quickstart_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_example("quickstart").main() == 0
    out = capsys.readouterr().out
    assert "valid: subject=user-123" in out and "refused: insufficient_scope" in out


# --- wsgi_api ----------------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[tuple[int, Signer, dict[str, Any]]]:
    clock = FakeClock()
    store = MemoryKeyStore(KeySet.generate("ES256"), clock=clock)
    signer = Signer(store, issuer=wsgi_api.ISSUER, ttl=900, clock=clock)
    validator = Validator(store, issuer=wsgi_api.ISSUER, audience=wsgi_api.AUDIENCE, clock=clock)
    state: dict[str, Any] = {"clock": clock, "store": store}
    server, thread = wsgi_api.start(wsgi_api.make_app(validator))
    try:
        yield server.server_port, signer, state
    finally:
        wsgi_api.stop(server, thread)


def test_wsgi_api_answers_per_rfc_6750(api: tuple[int, Signer, dict[str, Any]]) -> None:
    port, signer, state = api
    aud = wsgi_api.AUDIENCE
    reader = signer.issue("user-1", audience=aud, scopes=["orders:read"])
    writer = signer.issue("user-1", audience=aud, scopes=["orders:read", "orders:write"])
    other = signer.issue("user-1", audience="billing-api", scopes=["orders:read"])
    assert wsgi_api.request(port, "GET", "/orders") == (401, 'Bearer realm="orders-api"')
    assert wsgi_api.request(port, "GET", "/orders", reader) == (200, "")
    assert wsgi_api.request(port, "POST", "/orders", writer) == (200, "")
    status, challenge = wsgi_api.request(port, "POST", "/orders", reader)
    assert status == 403 and challenge.startswith(
        'Bearer realm="orders-api", error="insufficient_scope"'
    )
    assert challenge.endswith('scope="orders:write"')
    invalid = 'Bearer realm="orders-api", error="invalid_token", error_description='
    for refused in (other, "garbage"):
        status, challenge = wsgi_api.request(port, "GET", "/orders", refused)
        assert status == 401 and challenge.startswith(invalid)
    status, challenge = wsgi_api.request(port, "GET", "/orders", "two words")
    assert status == 400 and challenge.startswith(
        'Bearer realm="orders-api", error="invalid_request"'
    )
    assert wsgi_api.request(port, "GET", "/nowhere", reader)[0] == 404
    state["clock"].advance(900 + 31)
    status, challenge = wsgi_api.request(port, "GET", "/orders", reader)
    assert status == 401 and challenge.startswith(invalid)


def test_wsgi_api_answers_503_when_a_backend_is_down() -> None:
    class Down:
        def verification_key(self, kid: str | None, alg: str) -> Any:
            raise BackendUnavailable("key source down")

    store = MemoryKeyStore(KeySet.generate("ES256"))
    token = Signer(store, issuer=wsgi_api.ISSUER).issue("u", audience=wsgi_api.AUDIENCE)
    validator = Validator(Down(), issuer=wsgi_api.ISSUER, audience=wsgi_api.AUDIENCE)
    server, thread = wsgi_api.start(wsgi_api.make_app(validator))
    try:
        assert wsgi_api.request(server.server_port, "GET", "/orders", token) == (503, "")
    finally:
        wsgi_api.stop(server, thread)


def test_wsgi_api_self_test(capsys: pytest.CaptureFixture[str]) -> None:
    assert wsgi_api.main(["--self-test"]) == 0
    out = capsys.readouterr().out
    assert "self-test passed" in out
    page = (DOCS / "howto-errors.md").read_text(encoding="utf-8")
    assert f"```text\n{out}```" in page  # the page shows what the self-test prints


# --- env_keystore ------------------------------------------------------------------------------


class TestEnvKeyStoreContract(KeyStoreContract):
    def make_key_store(self, clock: FakeClock, policy: RotationPolicy) -> Any:
        value = env_keystore.provision(policy, start=clock(), periods=8)
        return env_keystore.EnvKeyStore(environ={"TOKENSMITH_KEYS": value}, clock=clock)


def test_env_keystore_refusals() -> None:
    make = env_keystore.EnvKeyStore
    with pytest.raises(ConfigurationError):
        make(environ={})
    for bad in ("{", "[]", '{"keys": []}', '{"keys": [1]}'):
        with pytest.raises(InvalidKey):
            make(environ={"TOKENSMITH_KEYS": bad})
    jwk = json.loads(env_keystore.provision(RotationPolicy(), start=0, periods=1))["keys"][0]
    for member in ("not_before", "retire_at"):
        with pytest.raises(InvalidKey):
            make(environ={"TOKENSMITH_KEYS": json.dumps({"keys": [{**jwk, member: "soon"}]})})
    public = {k: v for k, v in jwk.items() if k != "d"}
    with pytest.raises(InvalidKey):
        make(environ={"TOKENSMITH_KEYS": json.dumps({"keys": [public]})})


def test_env_keystore_without_a_current_key_refuses_to_sign() -> None:
    clock = FakeClock()
    value = env_keystore.provision(RotationPolicy(rotate_every=60, publish_ahead=10), start=clock())
    store = env_keystore.EnvKeyStore(environ={"TOKENSMITH_KEYS": value}, clock=clock)
    assert repr(store).startswith("EnvKeyStore([")
    for jwk in json.loads(value)["keys"]:
        assert jwk["d"] not in repr(store)
    clock.advance(365 * 86400)
    with pytest.raises(NoSigningKey):
        store.signing_key()


def test_env_keystore_main(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENSMITH_KEYS", raising=False)
    assert env_keystore.main() == 0


# --- custom_revocation -------------------------------------------------------------------------


class TestShelveRevocationContract(RevocationListContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def make_sync_revocation_list(self, clock: FakeClock) -> Any:
        self.count += 1
        path = self.tmp_path / f"revocations-{self.count}"
        return custom_revocation.ShelveRevocationList(path, clock=clock)


def test_shelve_revocation_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "rl"
    first = custom_revocation.ShelveRevocationList(path, clock=clock)
    first.revoke("a", issuer="i", expires_at=clock() + 60)
    first.close()
    second = custom_revocation.ShelveRevocationList(path, clock=clock)
    try:
        from tokensmith.testing import verified_token

        token = verified_token(jti="a", issuer="i", issued_at=clock(), expires_at=clock() + 60)
        assert second.is_revoked(token)
        with pytest.raises(ConfigurationError):
            second.revoke_subject("s", issuer="i", before=float("nan"), expires_at=clock() + 1)
    finally:
        second.close()


def test_custom_revocation_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert custom_revocation.main() == 0
    assert "still refused: revoked" in capsys.readouterr().out
