"""Real gunicorn processes for multi-service and browser tests: started on 127.0.0.1, always stopped."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
FLIGHTBOOK = str(Path(sys.executable).with_name("flightbook"))
PORTS = {"gateway": None, "flights": None, "payments": None, "loyalty": None}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One ``flightbook serve [part]`` process."""

    def __init__(self, part: str | None, env: dict, port: int | None = None, workers: int = 2, log_dir=None):
        self.part = part
        self.port = port or free_port()
        self.env = env
        self.workers = workers
        self.log_path = Path(log_dir or "/tmp") / f"server-{part or 'all'}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Server":
        args = [FLIGHTBOOK, "serve"] + ([self.part] if self.part else []) + [
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        env = {**os.environ, **self.env}
        if self.part:
            env.pop(f"FLIGHTBOOK_{self.part.upper()}_URL", None)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.part or 'all'} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.part or 'all'} did not come up:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()


def four_services(env: dict, log_dir=None, workers: int = 1) -> dict[str, Server]:
    """gateway, flights, payments and loyalty as four processes, each told the others' URLs."""
    servers = {part: Server(part, {}, log_dir=log_dir, workers=workers) for part in PORTS}
    urls = {f"FLIGHTBOOK_{p.upper()}_URL": s.url for p, s in servers.items() if p != "gateway"}
    started = []
    try:
        for part in ("flights", "loyalty", "payments", "gateway"):
            servers[part].env = {**env, **urls}
            started.append(servers[part].start())
    except Exception:
        for server in started:
            server.stop()
        raise
    return servers


def instances(env: dict, copies: int = 2, log_dir=None, workers: int = 1) -> dict[str, Server]:
    """The gateway and ``copies`` instances of each module (``flights``, ``flights-2``, ...), each told the
    URLs of every instance of the other modules (comma-separated, as FLIGHTBOOK_<M>_URL takes them)."""
    modules = [part for part in PORTS if part != "gateway"]
    servers = {name: Server(part, {}, log_dir=log_dir, workers=workers)
               for part in modules for name in [part] + [f"{part}-{n}" for n in range(2, copies + 1)]}
    servers["gateway"] = Server("gateway", {}, log_dir=log_dir, workers=workers)
    urls = {f"FLIGHTBOOK_{m.upper()}_URL": ",".join(s.url for s in servers.values() if s.part == m) for m in modules}
    started = []
    try:
        for name in sorted(servers, key=lambda n: ("flights", "loyalty", "payments", "gateway").index(servers[n].part)):
            servers[name].env = {**env, **urls}
            started.append(servers[name].start())
    except Exception:
        for server in started:
            server.stop()
        raise
    return servers
