"""Every Python block of docs/redis.md runs, in order, in one namespace, against the test
redis-server (the page's ``127.0.0.1:6379`` is replaced by the fixture's port)."""

from __future__ import annotations

import re

import pytest

from tests.support import DOCS
from tests.support.redis import RedisServer

PAGE = DOCS / "redis.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

pytestmark = pytest.mark.redis


def test_redis_page_code_runs(redis_server: RedisServer, redis_url: str) -> None:
    namespace: dict[str, object] = {"__name__": "docs_redis"}
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    for block in blocks:
        code = block.replace("6379", str(redis_server.port))
        exec(compile(code, str(PAGE), "exec"), namespace)
