"""What ``import tokensmith`` loads, and how every package exports its names.

``import tokensmith`` loads the core only; everything else arrives on first use. Every package
(the top level and each group: ``tokensmith.jwks``, ``tokensmith.web``...) exports from one
table: ``__all__`` is built from it, ``dir()`` shows exactly those names (and dunders), the
``TYPE_CHECKING`` block that type checkers read lists the same names from the same modules, and
everything works without the ``redis`` extra until a Redis class is used.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import tokensmith

# What `import tokensmith` may load: the core and the private modules it is built on.
CORE = frozenset(
    {
        "tokensmith",
        "tokensmith._algorithms",
        "tokensmith._b64",
        "tokensmith._backends",
        "tokensmith._claims",
        "tokensmith._exports",
        "tokensmith._frozen",
        "tokensmith._json",
        "tokensmith._jti",
        "tokensmith._jws",
        "tokensmith._key_types",
        "tokensmith._options",
        "tokensmith._rsa",
        "tokensmith._sentinels",
        "tokensmith._signatures",
        "tokensmith.claims",
        "tokensmith.confirmation",
        "tokensmith.errors",
        "tokensmith.keys",
        "tokensmith.keyset",
        "tokensmith.revocation",
        "tokensmith.revocation.base",
        "tokensmith.signer",
        "tokensmith.stores",
        "tokensmith.stores.base",
        "tokensmith.stores.memory",
        "tokensmith.policy",
        "tokensmith.validator",
    }
)

_DEFERRED = (
    "jwt",  # PyJWT parses JWKs and exports private ones: ~30-60 ms, on first use only
    "cryptography.hazmat.primitives.serialization",  # PEM and DER: ~15 ms, on first use only
    "cryptography.x509",
    "dataclasses",
    "sqlite3",
    "http.client",
    "ssl",
    "redis",
    "heapq",
    "secrets",
    "cryptography.hazmat.primitives.hmac",
)

# Every package that exports its names lazily (the CLI package only defines the command).
PACKAGES = (
    "tokensmith",
    "tokensmith.dpop",
    "tokensmith.issuers",
    "tokensmith.jwks",
    "tokensmith.oauth",
    "tokensmith.observability",
    "tokensmith.observability.anomaly",
    "tokensmith.refresh",
    "tokensmith.replay",
    "tokensmith.revocation",
    "tokensmith.stores",
    "tokensmith.testing",
    "tokensmith.web",
    "tokensmith.web.ratelimit",
)

_HELPERS = ("Any", "TYPE_CHECKING", "annotations", "importlib", "typing", "cast")


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def _tree(package: ModuleType) -> ast.Module:
    assert package.__file__ is not None
    return ast.parse(Path(package.__file__).read_text(encoding="utf-8"))


def _lazy_table(package: ModuleType) -> dict[str, str]:
    table: dict[str, str] = package.__dict__["_LAZY"]
    return table


def _type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """``{name: module}`` of the ``if ...TYPE_CHECKING:`` block (every import ``X as X``)."""
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Attribute | ast.Name)
        and ast.unparse(node.test).endswith("TYPE_CHECKING")
    ]
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: write `{alias.name} as {alias.name}`"
            found[alias.name] = "." * node.level + (node.module or "")
    return found


def test_import_tokensmith_loads_the_core_only() -> None:
    loaded = {name for name in _loaded_after("import tokensmith") if name.startswith("tokensmith")}
    assert loaded == CORE


def test_import_tokensmith_defers_backends_and_helpers() -> None:
    loaded = _loaded_after("import tokensmith")
    early = [name for name in _DEFERRED if name in loaded]
    assert early == []


# Issuing, validating and publishing with keys that were generated or given as secrets or PEM:
# no JWK is parsed, so PyJWT (and PEM/DER support beyond from_pem) is never imported.
_WITHOUT_PYJWT = """
import tokensmith as ts
hmac = ts.Key.from_secret(b"k" * 32, "HS256", kid="h")
ec = ts.Key.generate("ES256")
ed = ts.Key.generate("EdDSA")
for key in (hmac, ec, ed):
    store = ts.MemoryKeyStore(ts.KeySet([key]))
    token = ts.Signer(store, issuer="https://i.test").issue("u", audience="a")
    ts.Validator(store, issuer="https://i.test", audience="a").validate(token)
    assert key.thumbprint()
ts.KeySet([ec, ed]).jwks(0.0)
"""


def test_issuing_validating_and_publishing_never_load_pyjwt() -> None:
    loaded = _loaded_after(_WITHOUT_PYJWT)
    assert "jwt" not in loaded
    serialization = "cryptography.hazmat.primitives.serialization"
    # cryptography before 43 loads its serialization module itself when it makes an Ed25519
    # key (its OpenSSL backend imports x509): then it is not tokensmith's to avoid.
    by_cryptography = _loaded_after(
        "from cryptography.hazmat.primitives.asymmetric import ed25519; "
        "ed25519.Ed25519PrivateKey.generate()"
    )
    if serialization not in by_cryptography:
        assert serialization not in loaded


def test_pyjwt_is_loaded_where_a_jwk_is_parsed_or_a_private_one_exported() -> None:
    pem = "ts.Key.from_pem(ts.Key.generate('ES256').to_pem(), 'ES256')"
    assert "jwt" not in _loaded_after(f"import tokensmith as ts; {pem}")
    parse = "ts.Key.from_jwk(ts.Key.generate('ES256').to_jwk())"
    assert "jwt" in _loaded_after(f"import tokensmith as ts; {parse}")
    export = "ts.Key.generate('ES256').to_jwk(private=True)"
    assert "jwt" in _loaded_after(f"import tokensmith as ts; {export}")


@pytest.mark.parametrize("name", PACKAGES)
def test_importing_a_group_package_loads_none_of_its_modules(name: str) -> None:
    loaded = {m for m in _loaded_after(f"import {name}") if m.startswith("tokensmith")}
    parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    assert loaded - CORE <= parents | {"tokensmith._exports"}


def test_every_public_name_resolves() -> None:
    for name in tokensmith.__all__:
        assert getattr(tokensmith, name) is not None
    from tokensmith import revocation

    assert revocation.MemoryRevocationList is tokensmith.MemoryRevocationList
    with pytest.raises(AttributeError, match="nothing_here"):
        revocation.nothing_here  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize("name", PACKAGES)
def test_one_table_of_exports_per_package(name: str) -> None:
    package = importlib.import_module(name)
    table = _lazy_table(package)
    assert _type_checking_imports(_tree(package)) == table
    assert set(table) <= set(package.__all__)
    assert len(package.__all__) == len(set(package.__all__))
    for exported in package.__all__:
        value = getattr(package, exported)
        assert value is not None, exported
        if exported in table:
            module = importlib.import_module(table[exported], name)
            assert getattr(module, exported) is value


@pytest.mark.parametrize("name", PACKAGES)
def test_dir_lists_the_public_names_and_nothing_else(name: str) -> None:
    package = importlib.import_module(name)
    listed = dir(package)
    assert set(package.__all__) <= set(listed)
    extra = [n for n in listed if n not in package.__all__]
    assert all(n.startswith("__") and n.endswith("__") for n in extra), extra
    assert not set(_HELPERS) & set(listed)
    with pytest.raises(AttributeError, match=rf"module {name!r} has no attribute 'nothing_here'"):
        getattr(package, "nothing_here")


def test_the_top_level_core_names_are_the_eager_imports() -> None:
    """``__all__`` = the names imported eagerly + every error class + the lazy table."""
    from tokensmith import errors

    tree = _tree(tokensmith)
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names
        if alias.name != "*" and not (alias.asname or alias.name).startswith("_")
    }
    core = set(tokensmith.__all__) - set(errors.__all__) - set(_lazy_table(tokensmith))
    assert core == imported | {"__version__"}
    assert set(errors.__all__) <= set(tokensmith.__all__)


# --- without the redis extra ----------------------------------------------------------------

_WITHOUT_REDIS = r"""
import json, sys
sys.modules["redis"] = None  # `import redis` now raises ImportError, as without the extra
import importlib
report = {}
for name in json.loads(sys.argv[1]):
    namespace = {}
    exec(f"from {name} import *", namespace)
    package = importlib.import_module(name)
    redis_names = [n for n in package.__all__ if "Redis" in n and n != "LocalCache"]
    report[name] = {
        "star": sorted(n for n in namespace if not n.startswith("__")),
        "all": sorted(package.__all__),
        "hasattr": all(hasattr(package, n) for n in redis_names),
        "dir": all(n in dir(package) for n in redis_names),
    }
import tokensmith
from tokensmith.observability import RedisWindows
from tokensmith.web.ratelimit import RefusalThrottle
clock = tokensmith.RotationPolicy()
uses = {
    "RedisRevocationList(client)": lambda: tokensmith.RedisRevocationList(object()),
    "AsyncRedisRevocationList(client)": lambda: tokensmith.AsyncRedisRevocationList(object()),
    "RedisKeyStore(client)": lambda: tokensmith.RedisKeyStore(object(), policy=clock, kek=bytes(32)),
    "RedisRefreshStore(client)": lambda: tokensmith.RedisRefreshStore(object()),
    "RedisJtiReplayStore(client)": lambda: tokensmith.RedisJtiReplayStore(object()),
    "RedisRateLimiter(client)": lambda: tokensmith.RedisRateLimiter(object(), 1, 1),
    "RedisWindows(client)": lambda: RedisWindows(object()),
    "RefusalThrottle.redis(client)": lambda: RefusalThrottle.redis(object()),
    "RedisRevocationList.from_url": lambda: tokensmith.RedisRevocationList.from_url("redis://127.0.0.1:1/0"),
    "AsyncRedisRateLimiter.from_url": lambda: tokensmith.AsyncRedisRateLimiter.from_url("redis://127.0.0.1:1/0", 1, 1),
}
errors = {}
for what, use in uses.items():
    try:
        use()
    except ImportError as exc:
        errors[what] = str(exc)
    else:
        errors[what] = None
print(json.dumps({"packages": report, "errors": errors, "redis": sys.modules["redis"] is None}))
"""


def test_everything_imports_without_redis_until_a_redis_class_is_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_REDIS, json.dumps(PACKAGES)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["redis"] is True  # nothing imported redis behind the blocker's back
    for name, seen in result["packages"].items():
        assert seen["star"] == [n for n in seen["all"] if not n.startswith("__")], name
        assert seen["hasattr"] and seen["dir"], name
    for what, message in result["errors"].items():
        assert message is not None, f"{what} worked without redis-py"
        assert "pip install 'tokensmith[redis]'" in message, what


# --- the framework adapters -------------------------------------------------------------------

FRAMEWORKS = ("starlette", "fastapi", "aiohttp", "uvicorn", "flask", "django", "rest_framework",
              "werkzeug", "pydantic", "anyio")  # fmt: skip


def _frameworks_loaded(code: str) -> list[str]:
    loaded = _loaded_after(code)
    return sorted(m for m in loaded if m.split(".")[0] in FRAMEWORKS)


@pytest.mark.parametrize(
    "code",
    [
        "import tokensmith",
        "import tokensmith.web",
        "import tokensmith.integrations",
        "from tokensmith.integrations import asgi, wsgi",
        "from tokensmith.integrations.asgi import TokenMiddleware",
    ],
)
def test_no_framework_is_imported_unless_its_adapter_is(code: str) -> None:
    assert _frameworks_loaded(code) == []


@pytest.mark.parametrize(
    ("adapter", "framework"),
    [("starlette", "starlette"), ("fastapi", "fastapi"), ("aiohttp", "aiohttp")],
)
def test_an_adapter_imports_its_own_framework_only(adapter: str, framework: str) -> None:
    loaded = {
        m.split(".")[0] for m in _frameworks_loaded(f"import tokensmith.integrations.{adapter}")
    }
    others = {"starlette", "fastapi", "aiohttp", "flask", "django", "rest_framework"} - {framework}
    if adapter == "fastapi":
        others -= {"starlette"}  # FastAPI is built on Starlette
    assert framework in loaded and not loaded & others
