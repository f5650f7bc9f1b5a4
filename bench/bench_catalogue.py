"""The flights catalogue at scale on PostgreSQL: import of >= 1,000,000 dated flights (rows/s), flight search
in process (p50/p99 over >= 300 airports), and search through gunicorn (2 workers) in requests/s beside a
bare Falcon JSON endpoint on the same gunicorn settings (ratio).

The gunicorn settings are ``flightbook serve``'s defaults (2 workers, 4 threads each). Two reference endpoints
on bare Falcon and a psycopg2 connection kept per thread show where the time goes: ``round_trip`` answers after
one ``SELECT 1`` (the ceiling of the ratio for any answer that asks the database anything), ``raw_query`` runs
the search's own prepared query and puts the rows straight into JSON (no validation, no time zones, no
contract types, no middleware: the ceiling for this query).

    python bench/bench_catalogue.py [--airports 300] [--flights 1000000] [--searches 2000] [--seconds 10] [--rounds 5]
                                    [--client wrk|python] [--clients 4] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

The HTTP load comes from wrk when it is installed (``apt-get install wrk``), else from Python client processes;
both endpoints get the same client and the same gunicorn settings.

A scratch database (fbbench_catalogue) is created and dropped again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import math
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flightbook.contracts.flights import FlightQuery  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.uow import UnitOfWork  # noqa: E402
from flightbook.modules.flights import models  # noqa: E402
from flightbook.modules.flights.catalogue import (airports, schedule_generator, schedule_import,  # noqa: E402
                                                  schedules, search)

UOW = UnitOfWork(models.database, "flights")

SCRATCH = "fbbench_catalogue"
OUT = ROOT / "bench" / "out"


def admin(pg: str, sql: str) -> None:
    conn = psycopg2.connect(pg)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def bench_import(args, url: str):
    models.database.initialize(open_database(url))
    migrate("flights", models.database)
    airports.import_airports(UOW, airports.DEFAULT_CSV)
    rows = schedule_generator.generate_schedule(airports.read_airports(airports.DEFAULT_CSV), args.airports, seed=1)
    path = OUT / f"schedule-{args.airports}.csv"
    schedule_generator.write_schedule(rows, path)
    zones = dict(models.Airport.select(models.Airport.iata, models.Airport.tz).tuples())
    parsed = schedules.read_schedule(path, zones)
    start = dt.date.today() + dt.timedelta(days=1)
    per_week = schedules.count_dated(parsed, start, 7)
    days = math.ceil(args.flights / per_week * 7)
    began = time.perf_counter()
    result = schedule_import.import_flights(UOW, path, start, days)
    seconds = time.perf_counter() - began
    print(f"import: {result.added:,} dated flights ({result.inventory_rows:,} inventory rows) from "
          f"{result.schedules:,} weekly schedules between {args.airports} airports over {days} days "
          f"in {seconds:.1f} s = {result.added / seconds:,.0f} flights/s "
          f"({(result.added + result.inventory_rows) / seconds:,.0f} rows/s incl. inventory)")
    began = time.perf_counter()
    again = schedule_import.import_flights(UOW, path, start, days)
    print(f"re-import: {again.added} added, {again.existing:,} already there, {time.perf_counter() - began:.1f} s")
    models.database.execute_sql("ANALYZE")
    return parsed, start, days


def bench_search_in_process(args, parsed, start, days) -> list:
    rng = random.Random(2)
    queries = []
    for _ in range(args.searches):
        row = rng.choice(parsed)
        queries.append(FlightQuery(origin=row.origin, destination=row.destination,
                                   date=start + dt.timedelta(days=rng.randrange(1, days - 1)),
                                   passengers=rng.randint(1, 4), sort=rng.choice(search.SORTS)))
    for q in queries[:50]:
        search.search_flights(UOW, q)  # warm the pool and caches
    timings, found = [], 0
    for q in queries:
        began = time.perf_counter()
        found += len(search.search_flights(UOW, q).outbound)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(f"search in process: {len(queries)} searches, {found / len(queries):.1f} options each, "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {statistics.fmean(timings):.2f} ms")
    return queries


class BareJson:
    def __init__(self, url: str):
        pass

    def on_get(self, req, resp):
        resp.media = {"outbound": [], "return": []}


class OneRoundTrip:
    """The bare answer after ``SELECT 1`` on a psycopg2 connection kept per thread (no pool, no ORM)."""

    def __init__(self, url: str):
        import threading
        self._url, self._local = url, threading.local()

    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = psycopg2.connect(self._url)
            conn.autocommit = True
            with conn.cursor() as cur:
                for sort in search.SORTS:
                    cur.execute(f"PREPARE flight_options_{sort} AS {search._options_sql(sort, '$')}")
        return conn

    def on_get(self, req, resp):
        with self.connection().cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
        resp.media = {"outbound": [], "return": []}


class RawQuery(OneRoundTrip):
    """The search's prepared query for the day in UTC, its rows straight into JSON: what this query costs
    served with nothing around it (the real endpoint's answer has more fields and checks its input)."""

    def on_get(self, req, resp):
        p = req.params
        start = dt.datetime.combine(dt.date.fromisoformat(p["date"]), dt.time(0))
        with self.connection().cursor() as cur:
            cur.execute(f"EXECUTE flight_options_{p['sort']} (%s, %s, %s, %s, %s, %s)",
                        ("economy", p["origin"], p["destination"], start, start + dt.timedelta(days=1),
                         int(p["passengers"])))
            rows = cur.fetchall()
        resp.media = {"outbound": [{"id": r[0], "flight_number": r[1], "airline": r[2], "departs_at": r[3].isoformat(),
                                    "arrives_at": r[4].isoformat(), "duration_minutes": r[5], "seats_left": r[6],
                                    "fare": {"amount": r[7], "currency": r[8]}} for r in rows], "return": []}


REFERENCES = {"bare": BareJson, "round_trip": OneRoundTrip, "raw_query": RawQuery}


def serve(kind: str, port: int, url: str) -> None:
    """Runs in a child process: gunicorn with ``flightbook serve``'s defaults (2 workers, 4 threads) serving
    flight search, the bare endpoint or the bare endpoint plus one round trip."""
    import falcon

    from flightbook import wiring
    from flightbook.kernel.server import GunicornServer
    from flightbook.kernel.settings import Settings

    def factory():
        if kind in REFERENCES:
            app = falcon.App()
            app.add_route("/api/flights/search", REFERENCES[kind](url))
            return app
        env = dict(os.environ, FLIGHTBOOK_FLIGHTS_DATABASE=url, FLIGHTBOOK_HOME=str(OUT / "home"))
        return wiring.create_app(wiring.build_system(Settings.from_env(env), serve="flights"))

    GunicornServer(factory, {"bind": f"127.0.0.1:{port}", "workers": 2, "threads": 4, "preload_app": False,
                             "accesslog": None, "loglevel": "warning"}).run()


def _load(port: int, paths: list, seconds: float, counter) -> None:
    deadline, done, i = time.perf_counter() + seconds, 0, 0
    while time.perf_counter() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", paths[i % len(paths)])
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status == 200:
            done += 1
        i += 1
    with counter.get_lock():
        counter.value += done


_WRK_SCRIPT = """
local paths, i = {}, 0
function init(args)
    for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
"""


def requests_per_second(port: int, paths: list, seconds: float, clients: int, client: str) -> float:
    if client == "wrk":
        return _wrk_requests_per_second(port, paths, seconds, clients)
    counter = multiprocessing.Value("i", 0)
    procs = [multiprocessing.Process(target=_load, args=(port, paths[k::clients], seconds, counter))
             for k in range(clients)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return counter.value / seconds


def _wrk_requests_per_second(port: int, paths: list, seconds: float, connections: int) -> float:
    """wrk (one thread, ``connections`` connections) cycling through ``paths``; any non-2xx answer is an error."""
    script, listing = OUT / "paths.lua", OUT / "paths.txt"
    script.write_text(_WRK_SCRIPT)
    listing.write_text("\n".join(paths) + "\n")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script),
                          f"http://127.0.0.1:{port}", "--", str(listing)],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def bench_http(args, url: str, queries) -> None:
    """Both servers up side by side; load phases alternate between them (--rounds each) so a change in the
    machine's other load hits both alike; the medians are compared."""
    paths = [f"/api/flights/search?origin={q.origin}&destination={q.destination}&date={q.date}"
             f"&passengers={q.passengers}&sort={q.sort}" for q in queries]
    servers, ports, figures = [], {}, {"bare": [], "round_trip": [], "raw_query": [], "search": []}
    try:
        for kind in figures:
            ports[kind] = _free_port()
            servers.append(subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(ports[kind]),
                                             "--url", url]))
        for kind in figures:
            _wait(ports[kind])
            requests_per_second(ports[kind], paths, 1, args.clients, args.client)  # warm-up
        for _ in range(args.rounds):
            for kind in figures:
                figures[kind].append(requests_per_second(ports[kind], paths, args.seconds / args.rounds, args.clients,
                                                         args.client))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    bare, trip, raw, found = (statistics.median(figures[k]) for k in ("bare", "round_trip", "raw_query", "search"))
    clients = f"wrk with {args.clients} connections" if args.client == "wrk" else f"{args.clients} client processes"
    rounds = "; ".join(f"{k} {', '.join(f'{v:,.0f}' for v in figures[k])}" for k in figures)
    print(f"gunicorn 2 workers x 4 threads, {clients}, {args.rounds} alternating rounds of "
          f"{args.seconds / args.rounds:.1f} s each (medians; rounds: {rounds}):\n"
          f"  bare Falcon JSON {bare:,.0f} req/s; bare + one SELECT 1 {trip:,.0f} req/s (ratio {trip / bare:.2f}, "
          f"the ceiling for an answer from the database);\n  the search query alone {raw:,.0f} req/s "
          f"(ratio {raw / bare:.2f}); flight search {found:,.0f} req/s, ratio {found / bare:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airports", type=int, default=300)
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4, help="client processes, or wrk's connections")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="load generator (default: wrk when installed)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating load phases per server")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--serve", choices=("bare", "round_trip", "raw_query", "search"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    url = f"{args.pg.rsplit('/', 1)[0]}/{SCRATCH}"
    admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin(args.pg, f"CREATE DATABASE {SCRATCH}")
    try:
        parsed, start, days = bench_import(args, url)
        queries = bench_search_in_process(args, parsed, start, days)
        models.database.close_all() if hasattr(models.database, "close_all") else models.database.close()
        bench_http(args, url, queries)
    finally:
        models.database.obj and getattr(models.database.obj, "close_all", models.database.close)()
        admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
