"""Private Redis servers on free loopback ports, for tests that need real Redis.

:class:`RedisServer` is one plain server; :class:`RedisClusterServers` is a real 3-node Redis
Cluster (three ``redis-server --cluster-enabled yes`` processes joined by
``redis-cli --cluster create``). Neither writes anything outside its temporary directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


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


def _wait_for(condition: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise RuntimeError(f"{what} before the deadline")


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
        _wait_for(lambda: _ask(self.port, b"PING").startswith(b"+PONG"), "redis-server started")

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
        _wait_for(self._ok, "the Redis Cluster did not reach cluster_state:ok", timeout=30)

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
