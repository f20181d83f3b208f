"""What every test folder shares: where the repository is, and the issuer and audience the
fixtures use. The helpers live in the modules beside this one:

* :mod:`tests.support.forge` — tokens built by hand with the stdlib's ``base64`` (never
  tokensmith's own base64url), for refusals the signer would never produce;
* :mod:`tests.support.redis` — private redis-servers and a real 3-node Redis Cluster;
* :mod:`tests.support.jwks_server` — a JWKS/discovery server on 127.0.0.1;
* :mod:`tests.support.peers` — raw TCP peers on 127.0.0.1 and a throwaway TLS authority;
* :mod:`tests.support.wait` — the one polling helper (``wait_until``, ``await_until``);
* :mod:`tests.support.docs` — the Python blocks of the docs pages, and how a page runs;
* :mod:`tests.support.modules` — files of examples/ and tools/ loaded as modules.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository (docs/, examples/, tools/ are read from here, never from an installed copy)."""

DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

ISSUER = "https://auth.example.test"
AUDIENCE = "orders-api"
NOW = 1_700_000_000
"""The instant ``FakeClock()`` starts at; hand-made claims are dated from it."""
