"""End-to-end booking latency through the gateway, one process vs four services, and search requests/s
through the gateway.

    python bench/bench_services.py [--bookings 300] [--clients 4] [--rounds 6] [--seconds 10] [--compare REV] [--sqlite]
                                   [--reference]

Both deployments are started for real, side by side (gunicorn; one process, and four processes as the
Procfile does), each on three PostgreSQL databases of its own and seeded with the sample schedule; the
measurements alternate between them in batches. A booking is: search, book one
passenger, create the intent, pay with the test card, read the ticket back — all through /api/gateway.
Bookings are measured with one traveller at a time (latency alone) and with --clients travellers at once
(latency under load). Prints p50/p99 and each step's p50 per mode and load, the CPU ms per booking of the
serving processes (gunicorn masters and workers) and of the PostgreSQL backends (from /proc), the four/one
ratios (target <= 1.5; issue 22's: <= 1.3) and gateway search requests/s. --compare REV adds a third
deployment, one process running the code at REV (a git worktree, on PYTHONPATH), measured in the same turns;
--sqlite adds one process on SQLite, the embedded default (and REV's, with --compare).
--reference adds the measured floor of the four/one ratio: the one-process deployment reached through a bare
forwarder (Falcon and a urllib3 pool under the same gunicorn settings; no auth, logging or metrics), so each
of the journey's five requests takes one bare hop, in the journey's own rhythm. Four services make 8
sequential hops more than one process (search 1, book 1, create-intent 2, pay 3, ticket 1: the gateway's
forward, payments' parallel booking and points-hold reads, payments' confirm); with each at the bare hop's
cost, four/one could be no better than (one + 8 x bare hop) / one.

    python bench/bench_services.py --observability [--bookings 120] [--rounds 6] [--seconds 12]

instead measures what observing costs: four one-process deployments side by side (SQLite), one with
metrics and tracing off, one with metrics only, one with metrics and tracing (exporter none), one with
metrics and tracing exporting OTLP to a port where nothing listens; rounds alternate between them. Prints
gateway search req/s and booking p50 of each, and the cost against off (targets: metrics <= 5 %,
tracing with no exporter <= 10 %); then what the middleware adds to one request, timed directly.
bench/bench_observability.py times each mode per request in process (the CPU of one thread), immune to the
machine's other load.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CpuMeter, backend_pids, bare_server, machine_load, process_tree  # noqa: E402
from tests.conftest import MODULES, PG_ADMIN  # noqa: E402
from tests.e2e.deployments import Deployment  # noqa: E402

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": dt.date.today().year + 2, "cvc": "123",
        "holder_name": "Bench Mark"}
CANDIDATE_ROUTES = [("LHR", "JFK"), ("JFK", "LHR"), ("CDG", "JFK"), ("FRA", "JFK"), ("LHR", "CDG"), ("JFK", "LAX"),
                    ("LAX", "JFK"), ("CDG", "LHR"), ("DXB", "LHR"), ("SIN", "HND"), ("ATL", "ORD"), ("ORD", "ATL")]
TRIPS: list[tuple[str, str, str]] = []  # (origin, destination, date) with flights, found at start


def traveller(api: str) -> requests.Session:
    http = requests.Session()
    name = f"b{uuid.uuid4().hex[:12]}"
    http.post(api + "/users/register", json={"username": name, "email": f"{name}@example.com",
                                             "password": "bench-password", "first_name": "B",
                                             "last_name": "M"}, timeout=30).raise_for_status()
    login = http.post(api + "/users/login", json={"username": name, "password": "bench-password"}, timeout=30)
    login.raise_for_status()
    http.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return http


def find_trips(api: str) -> None:
    """The candidate routes and days the sample schedule actually flies."""
    for origin, destination in CANDIDATE_ROUTES:
        for days in (2, 3, 4):
            date = (dt.date.today() + dt.timedelta(days=days)).isoformat()
            found = requests.get(api + "/flights/search", params={"origin": origin, "destination": destination,
                                                                  "date": date}, timeout=30).json()
            if found.get("outbound"):
                TRIPS.append((origin, destination, date))


BEFORE = "before"  # the deployment of --compare's code: one process
SQLITE = "one_process_sqlite"  # --sqlite: one process on the embedded default, SQLite
REFERENCE = "one_process via bare forwarder"  # --reference: the same one-process deployment, one bare hop away
#: the sequential hops four services add to one journey (see the module's doc)
EXTRA_HOPS = {"search": 1, "book": 1, "create-intent": 2, "pay": 3, "ticket": 1}
FORWARDER = """
import os
import falcon
import urllib3

UPSTREAM = urllib3.HTTPConnectionPool("127.0.0.1", int(os.environ["BARE_UPSTREAM_PORT"]), maxsize=32, retries=False)
PASSED_ON = ("Authorization", "Content-Type", "Idempotency-Key")


class Forward:
    def __call__(self, req, resp, **params):
        answer = UPSTREAM.urlopen(req.method, req.relative_uri, body=req.bounded_stream.read() or None,
                                  headers={h: req.get_header(h) for h in PASSED_ON if req.get_header(h)},
                                  timeout=urllib3.Timeout(connect=2, read=30))
        resp.status = answer.status
        resp.data = answer.data
        resp.content_type = answer.headers.get("Content-Type")


app = falcon.App()
app.add_sink(Forward(), "/")
"""
STEPS = ("search", "book", "create-intent", "pay", "ticket")


def one_booking(http: requests.Session, api: str, i: int, steps: dict | None = None) -> float:
    """One whole booking; the time of each step is added to ``steps`` (step -> list of seconds)."""
    origin, destination, date = TRIPS[i % len(TRIPS)]
    started = last = time.perf_counter()

    def step(name, response):
        nonlocal last
        response.raise_for_status()
        now = time.perf_counter()
        if steps is not None:
            steps.setdefault(name, []).append(now - last)
        last = now
        return response.json()

    found = step("search", http.get(api + "/flights/search", params={"origin": origin, "destination": destination,
                                                                     "date": date}, timeout=30))
    flight = found["outbound"][0]
    booking = step("book", http.post(api + "/flights/book", json={
        "outbound_id": flight["id"], "cabin": "economy", "contact_email": "b@example.com",
        "passengers": [{"first_name": "Bench", "last_name": "Mark", "date_of_birth": "1990-01-01"}]}, timeout=30))
    ref = booking["ref"]
    intent = step("create-intent", http.post(api + "/payments/create-intent", json={"booking_ref": ref}, timeout=30))
    step("pay", http.post(api + "/payments/process", json={"intent_id": intent["id"], "card": CARD},
                          headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=30))
    ticket = step("ticket", http.get(api + f"/tickets/{ref}", timeout=30))
    assert ticket["status"] == "CONFIRMED", ticket
    return time.perf_counter() - started


def measure_bookings(api: str, bookings: int, clients: int, steps: dict | None = None) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(bookings))

    def client():
        http = traveller(api)
        for i in counter:
            mine: dict = {}
            took = one_booking(http, api, i, mine)
            with lock:
                latencies.append(took)
                for name, values in mine.items():
                    (steps if steps is not None else {}).setdefault(name, []).extend(values)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def measure_search(api: str, seconds: float, clients: int) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(k):
        http = requests.Session()
        while time.monotonic() < stop:
            origin, destination, date = TRIPS[(k + done[k]) % len(TRIPS)]
            http.get(api + "/flights/search", params={"origin": origin, "destination": destination, "date": date},
                     timeout=30).raise_for_status()
            done[k] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def serving_meters(deployment: Deployment, also: list[int] = ()) -> tuple[CpuMeter, CpuMeter]:
    """Meters of the deployment's gunicorn processes (masters and workers; ``also``: more masters) and of the
    PostgreSQL backends on its databases, started now."""
    masters = [server.process.pid for server in deployment.servers.values() if server.process is not None] + [*also]
    databases = [f"fb{deployment.label}_{module}" for module in MODULES]
    return (CpuMeter(lambda: [pid for master in masters for pid in process_tree(master)]).start(),
            CpuMeter(lambda: backend_pids(PG_ADMIN, databases)).start())


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def label(mode: str, rev: str | None) -> str:
    """'one_process', 'four_services', 'one_process at REV', 'one_process sqlite', 'one_process sqlite at REV'."""
    name = "one_process sqlite" if mode.startswith(SQLITE) else "one_process" if mode == BEFORE else mode
    return f"{name} at {rev}" if mode.endswith(BEFORE) else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300, help="bookings per mode and load")
    parser.add_argument("--clients", type=int, default=4, help="concurrent travellers of the loaded run")
    parser.add_argument("--rounds", type=int, default=6, help="alternating batches per mode and load")
    parser.add_argument("--seconds", type=float, default=10, help="length of the search runs per mode")
    parser.add_argument("--observability", action="store_true",
                        help="measure metrics and tracing on against off instead (see the module's doc)")
    parser.add_argument("--compare", metavar="REV", help="also one process running the code at REV (a git worktree)")
    parser.add_argument("--reference", action="store_true",
                        help="also the one-process deployment through a bare forwarder: the four/one ratio's floor")
    parser.add_argument("--sqlite", action="store_true",
                        help="also one process on SQLite, the embedded default (with --compare, REV's too)")
    args = parser.parse_args()
    if args.observability:
        return observability_main(args)
    loads = (1, args.clients) if args.clients != 1 else (1,)
    modes: tuple[str, ...] = ("one_process", "four_services")
    baseline = None
    if args.compare:
        baseline = Path(tempfile.mkdtemp(prefix="fbbaseline")) / "checkout"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline), args.compare],
                       check=True)
        modes += (BEFORE,)
    if args.reference:
        modes += (REFERENCE,)
    if args.sqlite:
        modes += (SQLITE,) + ((SQLITE + "_" + BEFORE,) if args.compare else ())
    latencies = {(m, c): [] for m in modes for c in loads}
    cpu = {(m, c): [0.0, 0.0] for m in modes for c in loads}  # CPU seconds: serving processes, PostgreSQL backends
    steps = {(m, c): {} for m in modes for c in loads}
    searches = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as folder:
        deployments = {}
        forwarder = None
        try:
            for mode in modes:
                if mode == REFERENCE:
                    continue  # the one-process deployment, reached through the bare forwarder started below
                # all on PostgreSQL, so the ratio measures the deployment, not the database
                (Path(folder) / mode).mkdir()
                kind = mode if mode in ("one_process", "four_services") else "one_process"
                deployments[mode] = Deployment(kind, Path(folder) / mode, f"bench_{mode}",
                                               backend="sqlite" if mode.startswith(SQLITE) else "postgres")
                if mode.endswith(BEFORE):  # its servers (and its migrate and demo data) import the code at REV
                    deployments[mode].env["PYTHONPATH"] = str(baseline)
                deployments[mode].start()
            apis = {mode: d.url + "/api/gateway" for mode, d in deployments.items()}
            meters_of = {mode: (lambda d=d: serving_meters(d)) for mode, d in deployments.items()}
            if REFERENCE in modes:
                forwarder, forwarder_url = bare_server(Path(folder), "bare_forwarder", FORWARDER, "/health", {
                    "BARE_UPSTREAM_PORT": deployments["one_process"].url.rsplit(":", 1)[1]})
                apis[REFERENCE] = forwarder_url + "/api/gateway"
                meters_of[REFERENCE] = lambda: serving_meters(deployments["one_process"], also=[forwarder.pid])
            find_trips(apis["one_process"])
            for mode in modes:
                measure_bookings(apis[mode], 10, 1)  # warm-up
            # Both run side by side and take turns, batch by batch, so a change in the machine's load
            # falls on both alike.
            for clients in loads:
                for r in range(args.rounds):
                    for mode in (modes if r % 2 == 0 else modes[::-1]):
                        meters = meters_of[mode]()
                        latencies[mode, clients] += measure_bookings(apis[mode], args.bookings // args.rounds,
                                                                     clients, steps[mode, clients])
                        for k, meter in enumerate(meters):
                            cpu[mode, clients][k] += meter.stop()
            for r in range(args.rounds):
                for mode in modes:
                    searches[mode].append(measure_search(apis[mode], args.seconds / args.rounds, args.clients))
        finally:
            if forwarder is not None:
                forwarder.terminate()
                forwarder.wait(10)
            for deployment in deployments.values():
                deployment.stop()
            if baseline is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)
    for mode in modes:
        for clients in loads:
            values = latencies[mode, clients]
            p50 = {k: statistics.median(v) * 1000 for k, v in steps[mode, clients].items()}
            name = label(mode, args.compare)
            print(f"{name:14s} {clients} client(s): booking p50 {statistics.median(values) * 1000:6.1f} ms  "
                  f"p99 {pct(values, 0.99):6.1f} ms  (steps p50: {', '.join(f'{k} {p50[k]:.1f}' for k in STEPS)} ms; "
                  f"{len(values)} bookings); CPU ms per booking: serving processes "
                  f"{cpu[mode, clients][0] / len(values) * 1000:.1f}, PostgreSQL "
                  f"{cpu[mode, clients][1] / len(values) * 1000:.1f}")
        print(f"{label(mode, args.compare):14s} gateway search {statistics.median(searches[mode]):6.1f} req/s ({args.clients} clients)")
    print(machine_load())
    for clients in loads:
        one, four = latencies["one_process", clients], latencies["four_services", clients]
        print(f"ratio four/one, {clients} client(s): p50 {statistics.median(four) / statistics.median(one):.2f}  "
              f"p99 {pct(four, 0.99) / pct(one, 0.99):.2f}  (targets: p50 <= 1.5, issue 22: <= 1.3 with 1 client)")
        if REFERENCE in modes:
            print_floor(latencies["one_process", clients], latencies[REFERENCE, clients], four, clients)


def print_floor(one: list[float], forwarded: list[float], four: list[float], clients: int) -> None:
    """What a bare hop costs in the journey's rhythm, and the four/one ratio that 8 of them alone allow."""
    one_p50, four_p50 = statistics.median(one) * 1000, statistics.median(four) * 1000
    hop = (statistics.median(forwarded) * 1000 - one_p50) / len(STEPS)  # one hop per request
    floor = one_p50 + sum(EXTRA_HOPS.values()) * hop
    print(f"floor, {clients} client(s): a bare hop in the journey costs {hop:.2f} ms (via the bare forwarder minus "
          f"direct, per request); four services add {sum(EXTRA_HOPS.values())} sequential hops, so four/one >= "
          f"{floor / one_p50:.2f} with bare hops (four services' own hops cost "
          f"{(four_p50 - one_p50) / sum(EXTRA_HOPS.values()):.2f} ms each)")


#: the observability configurations compared, each a one-process deployment of its own
OBSERVED = {
    "off": {"FLIGHTBOOK_METRICS": "off", "OTEL_SDK_DISABLED": "true"},
    "metrics": {"FLIGHTBOOK_METRICS": "on", "OTEL_SDK_DISABLED": "true"},
    "metrics+tracing": {"FLIGHTBOOK_METRICS": "on", "OTEL_TRACES_EXPORTER": "none"},
    "metrics+tracing otlp-nowhere": {"FLIGHTBOOK_METRICS": "on", "OTEL_TRACES_EXPORTER": "otlp",
                                     "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
}


def observability_main(args) -> None:
    modes = tuple(OBSERVED)
    latencies: dict = {m: [] for m in modes}
    searches: dict = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as folder:
        deployments = {}
        try:
            for i, (mode, env) in enumerate(OBSERVED.items()):
                (Path(folder) / str(i)).mkdir()
                # on SQLite: four deployments at once would take too many of a shared PostgreSQL's connections
                deployments[mode] = Deployment("one_process", Path(folder) / str(i), f"bench_obs{i}",
                                               backend="sqlite", **env)
                deployments[mode].start()
            apis = {mode: d.url + "/api/gateway" for mode, d in deployments.items()}
            find_trips(apis["off"])
            for mode in modes:
                measure_bookings(apis[mode], 10, 1)  # warm-up
                measure_search(apis[mode], 1, args.clients)
            for r in range(args.rounds):
                order = modes if r % 2 == 0 else modes[::-1]
                for mode in order:
                    latencies[mode] += measure_bookings(apis[mode], max(1, args.bookings // args.rounds), 1)
                for mode in order:
                    searches[mode].append(measure_search(apis[mode], args.seconds / args.rounds, args.clients))
        finally:
            for deployment in deployments.values():
                deployment.stop()
    base_search = statistics.median(searches["off"])
    base_booking = statistics.median(latencies["off"])
    for mode in modes:
        search = statistics.median(searches[mode])
        booking = statistics.median(latencies[mode])
        print(f"{mode:30s} gateway search {search:7.1f} req/s ({args.clients} clients; cost {100 * (1 - search / base_search):+5.1f} %)  "
              f"booking p50 {booking * 1000:6.1f} ms (cost {100 * (booking / base_booking - 1):+5.1f} %; "
              f"{len(latencies[mode])} bookings)")
    print("targets: metrics <= 5 %, metrics+tracing (no exporter) <= 10 %")
    per_request_cost()


def per_request_cost(n: int = 20000) -> None:
    """What the middleware adds to one request, timed directly (immune to the machine's other load, unlike the
    req/s above): the request counter and latency histogram in multiprocess mode, and a request span."""
    import os

    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        from prometheus_client import values

        from flightbook.kernel import observability, tracing
        values.ValueClass = values.get_value_class()
        metrics = observability.metrics()
        started = time.perf_counter()
        for _ in range(n):
            metrics.requests.labels("all", "/api/flights/search", "GET", "200").inc()
            metrics.latency.labels("all", "/api/flights/search", "GET").observe(0.004)
        counted = (time.perf_counter() - started) / n
        tracing.configure("bench", {"OTEL_TRACES_EXPORTER": "none"})
        started = time.perf_counter()
        for _ in range(n):
            handle = tracing.start_request_span("GET", "/api/flights/search", lambda name: None)
            tracing.end_request_span(handle, "GET", "/api/flights/search", 200, "r", 1)
        traced = (time.perf_counter() - started) / n
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    print(f"per request, timed directly: metrics {counted * 1e6:.1f} us, request span (exporter none) "
          f"{traced * 1e6:.1f} us")


if __name__ == "__main__":
    main()
