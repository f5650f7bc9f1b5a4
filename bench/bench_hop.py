"""What one call between parts costs: flightbook's gateway -> part hop beside a bare reference hop.

    python bench/bench_hop.py [--requests 2000] [--rounds 3] [--compare REV]

Starts, side by side, four services on PostgreSQL (as the Procfile runs them) and a bare reference: one
Falcon app with a single JSON endpoint and one Falcon app that forwards to it with urllib3 (both under
gunicorn with the same workers and threads as flightbook serve; no auth, no logging, no metrics). Then,
in alternating rounds, one client at a time: the bare endpoint called directly and through the bare
forwarder; flightbook's loyalty tiers (``/api/loyalty/tiers``, public, one small read) called
directly and through the gateway (``/api/gateway/loyalty/tiers``). Prints each path's p50 latency and the
CPU ms per request of each server's processes (from /proc), and what a hop adds: latency and CPU of the
forwarding path minus the direct one. The bare hop is the floor any gateway written on this stack
(gunicorn, Falcon, a pooled Python HTTP client) pays on this machine. --compare REV adds four services
running the code at REV (a git worktree, on PYTHONPATH), measured in the same rounds.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CpuMeter, bare_server, machine_load, process_tree  # noqa: E402
from tests.e2e.deployments import Deployment  # noqa: E402

UPSTREAM = """
import falcon

class Tiers:
    def on_get(self, req, resp):
        resp.data = b'{"tiers": [{"name": "Blue", "min_points": 0}, {"name": "Silver", "min_points": 25000}]}'
        resp.content_type = "application/json"

app = falcon.App()
app.add_route("/tiers", Tiers())
"""

FORWARDER = """
import os
import falcon
import urllib3

pool = urllib3.HTTPConnectionPool("127.0.0.1", int(os.environ["BARE_UPSTREAM_PORT"]), maxsize=32, retries=False)

class Forward:
    def on_get(self, req, resp):
        answer = pool.request("GET", "/tiers", headers={"X-Request-ID": "r"},
                              timeout=urllib3.Timeout(connect=2, read=10))
        resp.status = answer.status
        resp.data = answer.data
        resp.content_type = answer.headers.get("Content-Type")

app = falcon.App()
app.add_route("/tiers", Forward())
"""


def measure(url: str, count: int, servers: dict, pause: float = 0.0) -> tuple[list[float], dict[str, float]]:
    """Latencies of ``count`` GETs of ``url`` one at a time, ``pause`` seconds apart, and the CPU ms per request
    of each server (``servers``: name -> a function naming its processes)."""
    http = requests.Session()
    for _ in range(20):
        http.get(url, timeout=10).raise_for_status()
    meters = {name: CpuMeter(pids).start() for name, pids in servers.items()}
    took = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        started = time.perf_counter()
        http.get(url, timeout=10).raise_for_status()
        took.append(time.perf_counter() - started)
    return took, {name: meter.stop() / count * 1000 for name, meter in meters.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--compare", metavar="REV", help="also four services running the code at REV")
    parser.add_argument("--pause", type=float, default=0.0, metavar="MS",
                        help="idle time before each request, as between a journey's visits to a part (default 0: "
                             "back to back, every process kept hot)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-hop-"))
    upstream, upstream_url = bare_server(folder, "bare_upstream", UPSTREAM, "/tiers")
    forwarder, forwarder_url = bare_server(folder, "bare_forwarder", FORWARDER, "/tiers",
                                           {"BARE_UPSTREAM_PORT": upstream_url.rsplit(":", 1)[1]})
    deployments: dict[str, Deployment] = {}
    baseline = None
    try:
        (folder / "now").mkdir()
        deployments["flightbook"] = Deployment("four_services", folder / "now", "benchhop").start()
        if args.compare:
            baseline = folder / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline), args.compare],
                           check=True)
            (folder / "before").mkdir()
            before = Deployment("four_services", folder / "before", "benchhopbefore")
            before.env["PYTHONPATH"] = str(baseline)  # its servers, migrate and demo data import the code at REV
            deployments[f"flightbook at {args.compare}"] = before.start()

        def tree(process):
            return lambda: process_tree(process.pid)

        paths = {
            "bare direct": (upstream_url + "/tiers", {"upstream": tree(upstream)}),
            "bare via forwarder": (forwarder_url + "/tiers", {"forwarder": tree(forwarder), "upstream": tree(upstream)}),
        }
        for name, deployment in deployments.items():
            gateway, loyalty = deployment.servers["gateway"], deployment.servers["loyalty"]
            paths[f"{name} direct"] = (loyalty.url + "/api/loyalty/tiers", {"loyalty": tree(loyalty.process)})
            paths[f"{name} via gateway"] = (gateway.url + "/api/gateway/loyalty/tiers",
                                            {"gateway": tree(gateway.process), "loyalty": tree(loyalty.process)})
        latencies: dict[str, list[float]] = {name: [] for name in paths}
        cpu: dict[str, dict[str, list[float]]] = {name: {} for name in paths}
        print(f"load before: {machine_load()}")
        for r in range(args.rounds):
            for name, (url, servers) in (list(paths.items()) if r % 2 == 0 else list(paths.items())[::-1]):
                took, per_server = measure(url, args.requests, servers, args.pause / 1000)
                latencies[name] += took
                for server, per_request in per_server.items():
                    cpu[name].setdefault(server, []).append(per_request)
        print(f"load after: {machine_load()}")
        print(f"{'path':34s} {'p50 ms':>7s} {'p90 ms':>7s}  CPU ms per request (median of rounds)")
        summary = {}
        for name in paths:
            ordered = sorted(latencies[name])
            p50, p90 = ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.9)] * 1000
            per_server = {server: statistics.median(values) for server, values in cpu[name].items()}
            summary[name] = (p50, sum(per_server.values()))
            print(f"{name:34s} {p50:7.3f} {p90:7.3f}  " +
                  ", ".join(f"{server} {ms:.3f}" for server, ms in per_server.items()))
        for kind in ("bare", *deployments):
            direct, hop = summary[f"{kind} direct"], summary[next(n for n in paths if n.startswith(kind + " via"))]
            print(f"a {kind} hop adds: {hop[0] - direct[0]:.3f} ms latency, {hop[1] - direct[1]:.3f} ms CPU")
    finally:
        for deployment in deployments.values():
            deployment.stop()
        if baseline is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)
        for process in (forwarder, upstream):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
