"""Keys and validators shared by the attack suite (keys are generated once per session), and
the ``face`` every attack runs through: each one runs on ``validate()`` and on ``avalidate()``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.attacks._assert import FACES, Face
from tests.support.forge import AUDIENCE, ISSUER, NOW
from tokensmith import Key, KeySet, MemoryKeyStore, Validator
from tokensmith.testing import FakeClock


@pytest.fixture(scope="session", params=FACES, autouse=True)
def face(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every attack, through ``validate()`` and again through ``avalidate()``."""
    Face.name = request.param
    with asyncio.Runner() as runner:
        Face.runner = runner
        yield request.param
    Face.name, Face.runner = "validate", None


@pytest.fixture(scope="session")
def rsa_key() -> Key:
    return Key.generate("RS256", kid="rsa-1")


@pytest.fixture(scope="session")
def ec_keys() -> dict[str, Key]:
    return {alg: Key.generate(alg, kid=f"ec-{alg}") for alg in ("ES256", "ES384", "ES512")}


@pytest.fixture(scope="session")
def ed_key() -> Key:
    return Key.generate("EdDSA", kid="ed-1")


@pytest.fixture(scope="session")
def hs_key() -> Key:
    return Key.from_secret(bytes(range(32)), "HS256", kid="hs-1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(float(NOW))


def validator_for(*keys: Key, clock: FakeClock, **options: object) -> Validator:
    """A strict validator over public halves (HMAC keys as they are)."""
    public = [k if k.is_symmetric else k.public_key() for k in keys]
    store = MemoryKeyStore(KeySet(public), clock=clock)
    settings: dict[str, object] = {"issuer": ISSUER, "audience": AUDIENCE, "clock": clock}
    settings.update(options)
    return Validator(store, **settings)  # type: ignore[arg-type]


@pytest.fixture
def rsa_validator(rsa_key: Key, clock: FakeClock) -> Validator:
    return validator_for(rsa_key, clock=clock)


@pytest.fixture
def ec_validator(ec_keys: dict[str, Key], clock: FakeClock) -> Validator:
    return validator_for(*ec_keys.values(), clock=clock)


@pytest.fixture
def hs_validator(hs_key: Key, clock: FakeClock) -> Validator:
    return validator_for(hs_key, clock=clock)
