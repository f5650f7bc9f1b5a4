"""Start a command that serves, wait until it answers ``/health`` on its port, then stop it (whole process group).

    python tests/cli/serve_probe.py PORT COMMAND

Exits 0 once the health check answered 200; with a reason otherwise. With FLIGHTBOOK_PROBE_NETNS=1 it runs
inside a fresh network namespace (``unshare --net``) and first brings its loopback up, so the README's fixed
ports never meet another process's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

TIMEOUT_SECONDS = 120


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def main(port: int, command: str) -> int:
    if os.environ.get("FLIGHTBOOK_PROBE_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    process = subprocess.Popen(command, shell=True, start_new_session=True)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                print(f"{command!r} exited with {process.returncode} before answering", file=sys.stderr)
                return 1
            if healthy(port):
                print(f"{command!r} answered on :{port}")
                return 0
            time.sleep(0.2)
        print(f"{command!r} did not answer on :{port} within {TIMEOUT_SECONDS}s", file=sys.stderr)
        return 1
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
