"""What observing costs per request, in process: the Falcon app of one-process flightbook (SQLite, the sample
schedule) called as gunicorn calls it (a WSGI call loop), alternating between observability off and on in one
run, so the machine's other load falls on every mode alike.

    python bench/bench_observability.py [--requests 2000] [--rounds 8] [--path /api/gateway/flights/search]
                                        [--log-format json|text] [--profile MODE]

Modes: ``off`` (metrics off, tracing off), ``metrics`` (multiprocess files, as under gunicorn), ``tracing``
(exporter none), ``metrics+tracing``; each writes its request log line (to /dev/null) as ``serve`` does, and
``quiet`` is ``off`` without the log line, to show what the line costs. Prints µs per request of each mode
(CPU time of the calling thread, median of the rounds, and each round) and its cost over ``off`` in µs and %
(targets: metrics <= 5 %, tracing with no exporter <= 10 % of a search through gunicorn), also as the median
of each round's difference from ``off``'s in the same round. ``/health`` shows the cost alone; a search's own
time varies from round to round by more than the cost on a busy machine. ``--profile MODE`` prints where
that mode's time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("quiet", "off", "metrics", "tracing", "metrics+tracing")


def prepared_env(folder: Path) -> dict:
    """A migrated one-process home with airports, a few days of the sample schedule and the demo traveller."""
    env = {"FLIGHTBOOK_HOME": str(folder / "home"), "FLIGHTBOOK_SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "FLIGHTBOOK_SERVICE_SECRET": "bench-service-secret-0123456789abcdef"}
    for module in ("flights", "payments", "loyalty"):
        env[f"FLIGHTBOOK_{module.upper()}_DATABASE"] = f"sqlite:///{folder / (module + '.db')}"
    flightbook = str(Path(sys.executable).with_name("flightbook"))
    for args in (["migrate"], ["demo", "--prepare-only", "--days", "4"]):
        subprocess.run([flightbook, *args], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True)
    return env


class Modes:
    """The app twice (metrics on, metrics off) and the switches for tracing and the log line."""

    def __init__(self, env: dict, log_format: str):
        from flightbook import wiring
        from flightbook.kernel import observability
        from flightbook.kernel.settings import Settings

        self._systems = {on: wiring.build_system(Settings.from_env({**env, "FLIGHTBOOK_METRICS": on}))
                         for on in ("on", "off")}
        self._apps = {on: wiring.create_app(system) for on, system in self._systems.items()}
        stderr, sys.stderr = sys.stderr, open(os.devnull, "w")
        try:  # the lines as serve writes them, to /dev/null
            observability.configure_logging(log_format, "INFO")
        finally:
            sys.stderr = stderr

    def app(self, mode: str):
        from flightbook.kernel import tracing

        tracing.configure("bench", {"OTEL_TRACES_EXPORTER": "none"} if "tracing" in mode
                          else {"OTEL_SDK_DISABLED": "true"})
        logging.getLogger("flightbook.requests").setLevel(logging.WARNING if mode == "quiet" else logging.NOTSET)
        return self._apps["on" if mode.startswith("metrics") else "off"]

    def close(self) -> None:
        for system in self._systems.values():
            system.close()


def call_loop(app, path: str, query: str, n: int) -> float:
    """CPU seconds (this thread's: other processes' load does not count) per request of ``n`` GETs of ``path?query`` through the WSGI app; each answer must be a 200."""
    from falcon.testing import create_environ

    template = create_environ(path=path, query_string=query, headers={"Accept": "application/json"})
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    started = time.thread_time()
    for _ in range(n):
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        b"".join(app(environ, start_response))
    elapsed = time.thread_time() - started
    bad = [s for s in statuses if not s.startswith("200")]
    if bad:
        raise SystemExit(f"{path}?{query} answered {bad[0]}")
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per mode and round")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    parser.add_argument("--path", default="/api/gateway/flights/search")
    parser.add_argument("--log-format", choices=("json", "text"), default="json")
    parser.add_argument("--profile", choices=MODES, help="print where this mode's time goes, then stop")
    args = parser.parse_args()
    date = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    query = f"origin=LHR&destination=JFK&date={date}"
    with tempfile.TemporaryDirectory() as folder:
        env = prepared_env(Path(folder))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Path(folder) / "prometheus")  # as serve's workers count
        (Path(folder) / "prometheus").mkdir()
        modes = Modes(env, args.log_format)
        try:
            if args.profile:
                return profile(modes.app(args.profile), args.path, query, args.requests)
            run(modes, args, query)
        finally:
            modes.close()


def run(modes: Modes, args, query: str) -> None:
    per_mode: dict = {m: [] for m in MODES}
    for mode in MODES:
        call_loop(modes.app(mode), args.path, query, max(50, args.requests // 10))  # warm-up
    for r in range(args.rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            per_mode[mode].append(call_loop(modes.app(mode), args.path, query, args.requests))
    base = statistics.median(per_mode["off"])
    print(f"GET {args.path}?{query}, {args.requests} requests x {args.rounds} rounds per mode, "
          f"log lines {args.log_format}; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for mode in MODES:
        median = statistics.median(per_mode[mode])
        # each round's cost against off's in the same round: the machine's drift between rounds cancels out
        paired = statistics.median(m - o for m, o in zip(per_mode[mode], per_mode["off"]))
        rounds = " ".join(f"{s * 1e6:.0f}" for s in per_mode[mode])
        print(f"{mode:16s} {median * 1e6:7.1f} us/request  cost {(median - base) * 1e6:+6.1f} us "
              f"({100 * (median / base - 1):+5.1f} %), paired by round {paired * 1e6:+6.1f} us "
              f"({100 * paired / base:+5.1f} %)   rounds: {rounds}")
    print("targets through gunicorn: metrics <= 5 %, metrics+tracing (exporter none) <= 10 %")


def profile(app, path: str, query: str, n: int) -> None:
    call_loop(app, path, query, 100)
    profiler = cProfile.Profile()
    profiler.enable()
    call_loop(app, path, query, n)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(35)


if __name__ == "__main__":
    main()
