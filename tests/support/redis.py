"""Private Redis servers on free loopback ports, for tests that need real Redis.

:class:`RedisServer` is one plain server; :class:`RedisClusterServers` is a real 3-node Redis
Cluster (three ``redis-server --cluster-enabled yes`` processes joined by
``redis-cli --cluster create``). Neither writes anything outside its temporary directory.
:class:`RedisTarget` is what the ``any_redis`` fixture (tests/conftest.py) hands a test: one of
the two topologies, flushed. The fixtures themselves are in tests/conftest.py.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.wait import wait_until


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (python3 tools/run.py test installs it)")
    return found


def _ask(port: int, command: bytes, timeout: float = 0.5) -> bytes:
    """One inline command to 127.0.0.1:port; the first reply bytes (b"" on any failure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(command + b"\r\n")
            return sock.recv(4096)
    except OSError:
        return b""


class RedisServer:
    """Starts and stops one redis-server (no persistence) bound to 127.0.0.1."""

    def __init__(self, *extra: str) -> None:
        self.binary = _binary("redis-server")
        self.port = free_port()
        self.extra = extra
        self.dir = tempfile.mkdtemp(prefix="tokensmith-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--protected-mode", "yes",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(
            lambda: _ask(self.port, b"PING").startswith(b"+PONG"),
            timeout=10,
            interval=0.02,
            what="redis-server answering PING",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(Path(self.dir), ignore_errors=True)


class RedisClusterServers:
    """A real Redis Cluster of three primaries (no replicas) on loopback, started once.

    Each node gets its own free client port and cluster-bus port (``--cluster-port``), so
    nothing assumes ``port + 10000`` is free.
    """

    size = 3

    def __init__(self) -> None:
        self.cli = _binary("redis-cli")
        self.nodes = [
            RedisServer(
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                str(free_port()),
                "--cluster-node-timeout",
                "5000",
            )  # fmt: skip
            for _ in range(self.size)
        ]

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """A startup node for ``RedisCluster.from_url`` (it discovers the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                self.cli, "--cluster", "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas", "0", "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )  # fmt: skip
        wait_until(self._ok, timeout=30, interval=0.02, what="the Redis Cluster reaching state ok")

    def _ok(self) -> bool:
        return all(b"cluster_state:ok" in _ask(port, b"CLUSTER INFO") for port in self.ports)

    def flush(self) -> None:
        """Empty every node (FLUSHALL is per node on a cluster)."""
        for port in self.ports:
            if not _ask(port, b"FLUSHALL").startswith(b"+OK"):
                raise RuntimeError(f"FLUSHALL failed on cluster node {port}")

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()


class RedisTarget:
    """One Redis topology a backend runs on: a single server or a cluster, flushed for the
    test. ``client()`` / ``async_client()`` have tokensmith's client options."""

    def __init__(self, url: str, cluster: bool) -> None:
        self.url = url
        self.cluster = cluster

    def client(self, **options: Any) -> Any:
        import redis
        import redis.cluster

        from tokensmith._redis import client_options

        kind = redis.cluster.RedisCluster if self.cluster else redis.Redis
        return kind.from_url(self.url, **{**client_options(), **options})

    def async_client(self) -> Any:
        from tokensmith._redis import connect_async

        return connect_async(self.url, cluster=self.cluster)

    def __repr__(self) -> str:
        return "cluster" if self.cluster else "single"
