"""The flights catalogue at scale on PostgreSQL: import of >= 1,000,000 dated flights (rows/s); flight search
in process (p50/p99 over >= 300 airports): direct flights only, as before connections, then journeys with up to
one connection over routes with and without direct flights; the 31-day fare calendar; search through gunicorn
(2 workers) in requests/s beside a bare Falcon JSON endpoint on the same gunicorn settings (ratio), direct-only
and with connections side by side on the same routes, and direct-only with metrics and tracing (exporter none) on,
metrics only, and both off (what observing costs); and the coverage of the sample schedule (data/schedule.csv):
the share of ordered airport pairs with at least one journey on each weekday, direct only and with up to one and
two connections.

The gunicorn settings are ``flightbook serve``'s defaults (2 workers, 4 threads each). Two reference endpoints
on bare Falcon and a psycopg2 connection kept per thread show where the time goes: ``round_trip`` answers after
one ``SELECT 1`` (the ceiling of the ratio for any answer that asks the database anything), ``raw_query`` runs
the search's own prepared query and puts the rows straight into JSON (no validation, no time zones, no
contract types, no middleware: the ceiling for this query).

Fare buckets against flat pricing: the same schedule imported twice (default fare rules, and flat rules: one
bucket at the base fare, no time-of-day factor, so no advance-purchase rule either), the same searches (one stop,
parties with children and infants) in process on each, rounds alternating, p50/p99 side by side
(``--pricing-flights``; ``--pricing-only`` runs this part alone).

    python bench/bench_catalogue.py [--airports 300] [--flights 1000000] [--searches 2000] [--calendars 500]
                                    [--seconds 10] [--rounds 5] [--client wrk|python] [--clients 4]
                                    [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--skip-coverage]

The HTTP load comes from wrk when it is installed (``apt-get install wrk``), else from Python client processes;
both endpoints get the same client and the same gunicorn settings.

Scratch databases (fbbench_catalogue, and fbbench_catalogue_sample for the coverage) are created and dropped
again.
"""
from __future__ import annotations

import argparse
import collections
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

from flightbook.contracts.flights import SORTS, CalendarQuery, FlightQuery  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.uow import UnitOfWork  # noqa: E402
from flightbook.modules.flights import models  # noqa: E402
from flightbook.modules.flights.catalogue import (airports, calendar, connection_times, journeys,  # noqa: E402
                                                  pricing, schedule_generator, schedule_import, schedules, search)

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


def route_samples(args, parsed, start, days) -> tuple[list, list, list]:
    """(routes with a direct flight, as the schedule weights them; ordered pairs without one that the route
    network joins through some airport; half of each, on other dates), each with a travel date, passengers and
    sort."""
    rng = random.Random(2)
    out, into = collections.defaultdict(set), collections.defaultdict(set)
    for row in parsed:
        out[row.origin].add(row.destination)
        into[row.destination].add(row.origin)
    served = sorted(out)
    with_direct = [(row.origin, row.destination) for row in (rng.choice(parsed) for _ in range(args.searches))]
    without = []
    while len(without) < args.searches:
        origin, destination = rng.choice(served), rng.choice(served)
        if origin != destination and destination not in out[origin] and out[origin] & into[destination]:
            without.append((origin, destination))

    def dated(pairs):
        return [(o, d, start + dt.timedelta(days=rng.randrange(1, days - 40)), rng.randint(1, 4), rng.choice(SORTS))
                for o, d in pairs]
    return dated(with_direct), dated(without), dated(with_direct[::2] + without[::2])


def timed(calls, run) -> tuple[list, str]:
    """What ``run`` answers for each call, and 'p50 .., p99 .., mean ..' of its times."""
    for call in calls[:50]:
        run(call)  # warm the pool, the prepared statements and the kept paths
    timings, results = [], []
    for call in calls:
        began = time.perf_counter()
        results.append(run(call))
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return results, (f"p50 {statistics.median(timings):.2f} ms, p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms, "
                     f"mean {statistics.fmean(timings):.2f} ms")


def search_queries(samples, max_stops: int) -> list:
    return [FlightQuery(origin=o, destination=d, date=day, passengers=n, sort=sort, max_stops=max_stops)
            for o, d, day, n, sort in samples]


def bench_search_in_process(args, samples) -> None:
    with_direct, without, mixed = samples
    queries = search_queries(with_direct, 0)
    found, times = timed(queries, lambda q: len(search.search_flights(UOW, q).outbound))
    print(f"search in process, direct flights only (max_stops=0, the search before connections): {len(queries)} "
          f"searches on routes with direct flights, {sum(found) / len(queries):.1f} options each, {times}")
    for label, routes in (("with", with_direct), ("without", without)):
        queries = search_queries(routes, 1)
        options, times = timed(queries, lambda q: search.search_flights(UOW, q).outbound)
        connecting = sum(1 for found in options for o in found if o.stops)
        answered = sum(1 for found in options if found)
        print(f"one-stop search in process (max_stops=1), {len(queries)} routes {label} direct flights: "
              f"{sum(map(len, options)) / len(queries):.1f} options each ({connecting / len(queries):.1f} "
              f"connecting; {100 * answered / len(queries):.0f} % of routes with one), {times}")
    queries = search_queries(mixed, 1)
    _, times = timed(queries, lambda q: search.search_flights(UOW, q))
    print(f"one-stop search in process, {len(queries)} routes half with and half without direct flights: {times}")


def bench_pricing(args) -> None:
    """Search p50/p99 with fare buckets and with flat pricing, the same schedule and searches, rounds alternating."""
    urls = {kind: f"{args.pg.rsplit('/', 1)[0]}/{SCRATCH}_{kind}" for kind in ("buckets", "flat")}
    rows = schedule_generator.generate_schedule(airports.read_airports(airports.DEFAULT_CSV), args.airports, seed=1)
    path = OUT / f"schedule-{args.airports}.csv"
    schedule_generator.write_schedule(rows, path)
    databases, parsed, start, days = {}, None, dt.date.today() + dt.timedelta(days=1), 0
    try:
        for kind, url in urls.items():
            admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH}_{kind} WITH (FORCE)")
            admin(args.pg, f"CREATE DATABASE {SCRATCH}_{kind}")
            databases[kind] = open_database(url)
            models.database.initialize(databases[kind])
            migrate("flights", models.database)
            airports.import_airports(UOW, airports.DEFAULT_CSV)
            zones = dict(models.Airport.select(models.Airport.iata, models.Airport.tz).tuples())
            parsed = schedules.read_schedule(path, zones)
            days = max(45, math.ceil(args.pricing_flights / schedules.count_dated(parsed, start, 7) * 7))
            schedule_import.import_flights(UOW, path, start, days,
                                           fare_rules=pricing.FLAT_RULES if kind == "flat" else None)
            models.database.execute_sql("ANALYZE")
        rng = random.Random(3)
        with_direct, without, _ = route_samples(argparse.Namespace(searches=args.searches), parsed, start, days)
        queries = [FlightQuery(origin=o, destination=d, date=day, passengers=n, children=rng.choice((0, 0, 1, 2)),
                               infants=rng.choice((0, 0, 1)) if n else 0, sort=sort, max_stops=1)
                   for o, d, day, n, sort in with_direct[::2] + without[::2]]
        timings: dict[str, list[float]] = {"buckets": [], "flat": []}
        per_round = math.ceil(len(queries) / args.rounds)
        for kind in timings:  # warm each: pool, prepared statements, kept paths
            models.database.initialize(databases[kind])
            for q in queries[:50]:
                search.search_flights(UOW, q)
        for n in range(args.rounds):
            chunk = queries[n * per_round:(n + 1) * per_round]
            for kind in (("buckets", "flat") if n % 2 == 0 else ("flat", "buckets")):
                models.database.initialize(databases[kind])
                for q in chunk:
                    began = time.perf_counter()
                    search.search_flights(UOW, q)
                    timings[kind].append((time.perf_counter() - began) * 1000)
        p99 = {}
        for kind, values in timings.items():
            values.sort()
            p99[kind] = values[int(len(values) * 0.99) - 1]
            print(f"search in process with {kind} pricing ({len(values)} one-stop searches over {days} days of "
                  f"{args.airports} airports, parties with children and infants, {args.rounds} alternating rounds): "
                  f"p50 {statistics.median(values):.2f} ms, p99 {p99[kind]:.2f} ms, mean {statistics.fmean(values):.2f} ms")
        print(f"search p99 with fare buckets vs flat: {p99['buckets'] / p99['flat'] * 100:.1f} %")
    finally:
        for db in databases.values():
            getattr(db, "close_all", db.close)()
        for kind in urls:
            admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH}_{kind} WITH (FORCE)")


def bench_calendar_in_process(args, samples) -> None:
    half = args.calendars // 2
    for label, chosen in (("with", samples[0][:args.calendars]), ("without", samples[1][:args.calendars]),
                          ("half with and half without", samples[2][:half] + samples[2][-half:])):
        queries = [CalendarQuery(origin=o, destination=d, first=day, last=day + dt.timedelta(days=30), passengers=n)
                   for o, d, day, n, _ in chosen]
        months, times = timed(queries, lambda q: calendar.flight_calendar(UOW, q).days)
        priced = sum(1 for month in months for d in month if d.total) / max(1, sum(map(len, months)))
        print(f"31-day fare calendar in process (max_stops=1), {len(queries)} routes {label} direct flights "
              f"({100 * priced:.0f} % of days priced): {times}")


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
                cur.execute(f"PREPARE journeys_direct AS {journeys.DIRECT.postgres[0]}")
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
        values = {"cabin": "economy", "origin": p["origin"], "destination": p["destination"], "start": start,
                  "end": start + dt.timedelta(days=1), "passengers": int(p["passengers"])}
        with self.connection().cursor() as cur:
            names = journeys.DIRECT.postgres[1]
            cur.execute(f"EXECUTE journeys_direct ({', '.join(['%s'] * len(names))})", [values[n] for n in names])
            rows = cur.fetchall()
        resp.media = {"outbound": [{"id": str(r[0]), "flight_number": r[1], "airline": r[2],
                                    "departs_at": r[5].isoformat(), "arrives_at": r[6].isoformat(),
                                    "duration_minutes": r[7], "seats_left": r[8],
                                    "fare": {"amount": r[9], "currency": r[10]}} for r in rows], "return": []}


REFERENCES = {"bare": BareJson, "round_trip": OneRoundTrip, "raw_query": RawQuery}


def serve(kind: str, port: int, url: str) -> None:
    """Runs in a child process: gunicorn with ``flightbook serve``'s defaults (2 workers, 4 threads) serving
    flight search, the bare endpoint or the bare endpoint plus one round trip."""
    import falcon

    from flightbook import wiring
    from flightbook.kernel import observability, tracing
    from flightbook.kernel.server import GunicornServer
    from flightbook.kernel.settings import Settings

    # search: as `flightbook serve` runs it (metrics on, multiprocess; tracing with exporter none);
    # search_metrics: tracing off; search_off: metrics and tracing off
    if kind.startswith("search"):
        observability.prepare_multiprocess(OUT / "home", f"bench-{kind}-{port}")

    def factory():
        if kind in REFERENCES:
            app = falcon.App()
            app.add_route("/api/flights/search", REFERENCES[kind](url))
            return app
        env = dict(os.environ, FLIGHTBOOK_FLIGHTS_DATABASE=url, FLIGHTBOOK_HOME=str(OUT / "home"),
                   FLIGHTBOOK_METRICS="off" if kind == "search_off" else "on")
        tracing.configure("flights", {"OTEL_SDK_DISABLED": "true" if kind != "search" else "false",
                                      "OTEL_TRACES_EXPORTER": "none"})
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


def bench_http(args, url: str, samples) -> None:
    """The servers up side by side; load phases alternate between them (--rounds each) so a change in the
    machine's other load hits all alike; the medians are compared. Flight search is asked the same routes (half
    with direct flights, half without) twice over: for direct flights only (max_stops=0, the search before
    connections) and with connections (max_stops=1, the default), on the same server."""
    routes = samples[2]
    paths = {stops: [f"/api/flights/search?origin={o}&destination={d}&date={day}&passengers={n}&sort={sort}"
                     f"&max_stops={stops}" for o, d, day, n, sort in routes] for stops in (0, 1)}
    served = ("bare", "round_trip", "raw_query", "search", "search_metrics", "search_off")
    asked = {"bare": paths[0], "round_trip": paths[0], "raw_query": paths[0], "search": paths[0],
             "connections": paths[1], "search_metrics": paths[0], "search_off": paths[0]}
    servers, ports, figures = [], {}, {kind: [] for kind in asked}
    try:
        for kind in served:
            ports[kind] = _free_port()
            servers.append(subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(ports[kind]),
                                             "--url", url]))
        ports["connections"] = ports["search"]
        for kind in asked:
            _wait(ports[kind])
            requests_per_second(ports[kind], asked[kind], 1, args.clients, args.client)  # warm-up
        for r in range(args.rounds):
            for kind in (list(asked) if r % 2 == 0 else list(asked)[::-1]):  # no kind always last
                figures[kind].append(requests_per_second(ports[kind], asked[kind], args.seconds / args.rounds,
                                                         args.clients, args.client))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    bare, trip, raw, found, joined, metered, off = (statistics.median(figures[k]) for k in asked)
    clients = f"wrk with {args.clients} connections" if args.client == "wrk" else f"{args.clients} client processes"
    rounds = "; ".join(f"{k} {', '.join(f'{v:,.0f}' for v in figures[k])}" for k in figures)
    print(f"gunicorn 2 workers x 4 threads, {clients}, {args.rounds} alternating rounds of "
          f"{args.seconds / args.rounds:.1f} s each, {len(routes)} routes half with and half without direct flights "
          f"(medians; rounds: {rounds}):\n"
          f"  bare Falcon JSON {bare:,.0f} req/s; bare + one SELECT 1 {trip:,.0f} req/s (ratio {trip / bare:.2f}, "
          f"the ceiling for an answer from the database);\n  the search query alone {raw:,.0f} req/s "
          f"(ratio {raw / bare:.2f}); flight search {found:,.0f} req/s, ratio {found / bare:.2f}\n"
          f"  direct-only search (max_stops=0) {found:,.0f} req/s; search with connections (max_stops=1) "
          f"{joined:,.0f} req/s = {joined / found:.2f} of direct-only\n"
          f"  observing it: metrics and tracing off {off:,.0f} req/s; metrics on {metered:,.0f} req/s "
          f"(cost {100 * (1 - metered / off):+.1f} %, target <= 5 %); metrics and tracing with no exporter "
          f"{found:,.0f} req/s (cost {100 * (1 - found / off):+.1f} %, target <= 10 %)")


SAMPLE_SCRATCH = f"{SCRATCH}_sample"


def bench_coverage(args) -> None:
    """The sample schedule for a week from tomorrow: for every ordered pair of its airports, whether the fare
    calendar (the search's journeys) prices each of the 7 days (each weekday once), direct only and with up to
    one and two connections under the default connection rules."""
    url = f"{args.pg.rsplit('/', 1)[0]}/{SAMPLE_SCRATCH}"
    admin(args.pg, f"DROP DATABASE IF EXISTS {SAMPLE_SCRATCH} WITH (FORCE)")
    admin(args.pg, f"CREATE DATABASE {SAMPLE_SCRATCH}")
    models.database.initialize(open_database(url))
    try:
        migrate("flights", models.database)
        airports.import_airports(UOW, airports.DEFAULT_CSV)
        connection_times.import_connection_times(UOW)
        first = dt.date.today() + dt.timedelta(days=1)
        schedule = ROOT / "data" / "schedule.csv"
        schedule_import.import_flights(UOW, schedule, first, 9)  # 9 days: a late flight's next leg is there too
        models.database.execute_sql("ANALYZE")
        rows = schedules.read_schedule(schedule, dict(models.Airport.select(models.Airport.iata, models.Airport.tz)
                                                      .tuples()))
        served = sorted({code for r in rows for code in (r.origin, r.destination)})
        pairs = [(o, d) for o in served for d in served if o != d]
        began = time.perf_counter()
        covered: dict[int, list] = {}
        for stops in (0, 1, 2):
            covered[stops] = []
            for o, d in pairs:
                before = covered[stops - 1][len(covered[stops])] if stops else None
                if before is not None and all(before):
                    covered[stops].append(before)  # every day covered with fewer stops already
                    continue
                days = calendar.flight_calendar(UOW, CalendarQuery(origin=o, destination=d, first=first,
                                                                   last=first + dt.timedelta(days=6),
                                                                   max_stops=stops)).days
                covered[stops].append([d.total is not None for d in days])
        seconds = time.perf_counter() - began
        weekdays = [(first + dt.timedelta(days=n)) for n in range(7)]
        print(f"coverage of the sample schedule ({len(served)} airports, {len(pairs):,} ordered pairs, the week "
              f"from {first}; {seconds:.0f} s of fare calendars):")
        for stops, label in ((0, "direct only"), (1, "up to 1 connection (the default)"), (2, "up to 2 connections")):
            shares = [100 * sum(days[n] for days in covered[stops]) / len(pairs) for n in range(7)]
            by_day = ", ".join(f"{day:%a} {share:.1f} %" for day, share in zip(weekdays, shares))
            print(f"  {label}: lowest weekday {min(shares):.1f} % ({by_day})")
    finally:
        models.database.close_all() if hasattr(models.database, "close_all") else models.database.close()
        admin(args.pg, f"DROP DATABASE IF EXISTS {SAMPLE_SCRATCH} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airports", type=int, default=300)
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=2000, help="searches of each kind in process")
    parser.add_argument("--calendars", type=int, default=500, help="31-day fare calendars of each kind")
    parser.add_argument("--skip-coverage", action="store_true", help="leave out the sample schedule's coverage")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4, help="client processes, or wrk's connections")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="load generator (default: wrk when installed)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating load phases per server")
    parser.add_argument("--pricing-flights", type=int, default=200_000,
                        help="dated flights in each of the fare buckets / flat pricing databases")
    parser.add_argument("--pricing-only", action="store_true", help="only fare buckets vs flat pricing")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--serve", choices=("bare", "round_trip", "raw_query", "search", "search_metrics", "search_off"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    if args.pricing_only:
        bench_pricing(args)
        return 0
    url = f"{args.pg.rsplit('/', 1)[0]}/{SCRATCH}"
    admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin(args.pg, f"CREATE DATABASE {SCRATCH}")
    try:
        parsed, start, days = bench_import(args, url)
        samples = route_samples(args, parsed, start, days)
        bench_search_in_process(args, samples)
        bench_calendar_in_process(args, samples)
        models.database.close_all() if hasattr(models.database, "close_all") else models.database.close()
        bench_http(args, url, samples)
        bench_pricing(args)
    finally:
        models.database.obj and getattr(models.database.obj, "close_all", models.database.close)()
        admin(args.pg, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    if not args.skip_coverage:
        bench_coverage(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
