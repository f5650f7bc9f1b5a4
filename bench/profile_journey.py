"""The journey's server side, step by step, in one process on PostgreSQL: search -> book -> create-intent -> pay ->
ticket through ``/api/gateway`` of the WSGI app itself (no HTTP, no gunicorn), one traveller at a time. For each step
it prints the CPU of the calling thread per request (waiting on the database is not counted, so the figure is
stable on a busy machine) and the statements sent to each database, BEGIN and COMMIT included; ``--show`` lists
them (one request's), ``--profile STEP`` adds cProfile's top frames of that step.

    python bench/profile_journey.py [--journeys 200] [--show] [--profile pay] [--top 25]

Scratch databases (fbbench_journey_<module>, ``--prefix`` to name them otherwise) are created and dropped again. Background jobs (relay, mail) do not
run: they belong to the jobs worker, not to the request.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import drop_scratch_system, machine_load, scratch_system  # noqa: E402
from bench.profile_booking import a_flight  # noqa: E402

STEPS = ("search", "book", "create-intent", "pay", "ticket")
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": dt.date.today().year + 2, "cvc": "123",
        "holder_name": "Bench Mark"}


class Statements:
    """Records what each module's database is sent, round trip by round trip (every ``execute`` of a cursor:
    a BEGIN sent with the statement after it is one), while ``on``."""

    def __init__(self, databases: dict):
        self.on = False
        self.sent: list[tuple[str, str]] = []
        for name, database in databases.items():
            real = getattr(database, "obj", database)
            original = real.cursor

            def recorded(*args, _original=original, _name=name, **kwargs):
                cursor = _original(*args, **kwargs)
                return _Recorded(cursor, lambda sql: self.sent.append((_name, sql)) if self.on else None)
            real.cursor = recorded


class _Recorded:
    def __init__(self, cursor, record):
        self._cursor = cursor
        self._record = record

    def execute(self, sql, params=None):
        self._record(sql)
        return self._cursor.execute(sql, params)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def call(app, method: str, path: str, token: str, body: dict | None = None, query: str = "",
         headers: dict | None = None) -> tuple[str, dict]:
    data = orjson.dumps(body) if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "localhost",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr,
               "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json"}
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = status

    answer = b"".join(app(environ, start_response))
    if not captured["status"].startswith("2"):
        raise RuntimeError(f"{method} {path}: {captured['status']} {answer[:300]!r}")
    return captured["status"], orjson.loads(answer) if answer else {}


API = "/api/gateway"  # --direct: "/api", the modules' own routes (what the gateway's dispatch costs, by difference)


def journey(app, token: str, date: str, i: int, step) -> None:
    api = API
    found = step("search", lambda: call(app, "GET", api + "/flights/search", token,
                                        query=f"origin=LHR&destination=JFK&date={date}"))
    flight = found["outbound"][0]
    booking = step("book", lambda: call(app, "POST", api + "/flights/book", token, {
        "outbound_id": flight["id"], "cabin": "economy", "contact_email": "b@example.com",
        "passengers": [{"first_name": "Bench", "last_name": "Mark", "date_of_birth": "1990-01-01"}]}))
    ref = booking["ref"]
    intent = step("create-intent", lambda: call(app, "POST", api + "/payments/create-intent", token,
                                                {"booking_ref": ref}))
    step("pay", lambda: call(app, "POST", api + "/payments/process", token, {"intent_id": intent["id"], "card": CARD},
                             headers={"Idempotency-Key": f"bench-{i}-{intent['id']}"}))
    ticket = step("ticket", lambda: call(app, "GET", api + f"/tickets/{ref}", token))
    assert ticket["status"] == "CONFIRMED", ticket


def served_like() -> None:
    """What `flightbook serve` adds around the app: JSON log lines (written to /dev/null here) and the metrics'
    multiprocess files."""
    import tempfile

    from flightbook.kernel import observability
    observability.configure_logging("json")
    import logging
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))
    observability.prepare_multiprocess(Path(tempfile.mkdtemp(prefix="fbjourney")), "all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=200)
    parser.add_argument("--show", action="store_true", help="list one journey's statements per step")
    parser.add_argument("--profile", choices=STEPS + ("background",),
                        help="cProfile this step (a second pass of --journeys/2)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--background", action="store_true",
                        help="also the jobs worker's share: after each journey, run the relays and the mail job "
                             "until idle, timed the same way (its CPU per journey)")
    parser.add_argument("--direct", action="store_true", help="call /api/... itself, not through /api/gateway/")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--served", action="store_true",
                        help="as `flightbook serve` runs the app: the request log line in JSON (to /dev/null) and "
                             "the metrics in multiprocess files")
    parser.add_argument("--prefix", default="fbbench_journey",
                        help="the scratch databases' names start with this (two runs at once need two)")
    args = parser.parse_args()
    global API
    API = "/api" if args.direct else API
    if args.served:
        served_like()
    else:
        import logging
        logging.disable(logging.INFO)  # the request log line costs the same either way; keep the terminal quiet
    system = scratch_system(args.pg, args.prefix)
    try:
        from flightbook import wiring
        app = wiring.create_app(system)
        statements = Statements(system.databases)
        a_flight(seats=args.journeys * 3 + 100)
        date = (dt.date.today() + dt.timedelta(days=15)).isoformat()
        call(app, "POST", "/api/gateway/users/register", "", {
            "username": "bench", "email": "bench@example.com", "password": "bench-password", "first_name": "B",
            "last_name": "M"})
        token = call(app, "POST", "/api/gateway/users/login", "", {"username": "bench",
                                                                   "password": "bench-password"})[1]["token"]
        cpu: dict[str, list[float]] = {s: [] for s in STEPS}
        wall: dict[str, list[float]] = {s: [] for s in STEPS}
        counted: dict[str, list] = {}

        def measured(name, work):
            statements.on, statements.sent = True, []
            started, clock = time.thread_time(), time.perf_counter()
            answer = work()[1]
            cpu[name].append(time.thread_time() - started)
            wall[name].append(time.perf_counter() - clock)
            statements.on = False
            counted[name] = statements.sent
            return answer

        for i in range(20):  # warm-up: connections, prepared statements, memos
            journey(app, token, date, -i - 1, lambda name, work: work()[1])
        background = [job for job in system.jobs() if job.name.startswith("relay-") or job.name == "send-mail"]

        def run_background() -> float:
            started = time.thread_time()
            for _ in range(3):  # an event delivered may publish another (booking.confirmed after payment.succeeded)
                for job in background:
                    job.run()
            return time.thread_time() - started

        if args.background:
            run_background()
        jobs_cpu: list[float] = []
        for i in range(args.journeys):
            journey(app, token, date, i, measured)
            if args.background:
                jobs_cpu.append(run_background())
        print(f"{args.journeys} journeys in process on PostgreSQL through {API}/; {machine_load()}")
        print(f"{'step':<14} {'CPU ms p50':>10} {'mean':>6} {'wall p50':>9} {'stmts':>6}  per database")
        for name in STEPS:
            per_db: dict[str, int] = {}
            for database, _ in counted[name]:
                per_db[database] = per_db.get(database, 0) + 1
            commits = sum(1 for _, sql in counted[name] if sql.strip().upper() == "COMMIT")
            print(f"{name:<14} {statistics.median(cpu[name]) * 1000:>10.2f} {statistics.mean(cpu[name]) * 1000:>6.2f}"
                  f" {statistics.median(wall[name]) * 1000:>9.2f} {len(counted[name]):>6}  "
                  + ", ".join(f"{d} {n}" for d, n in per_db.items()) + f"; {commits} COMMIT")
        total_cpu = sum(statistics.median(cpu[n]) for n in STEPS) * 1000
        total_wall = sum(statistics.median(wall[n]) for n in STEPS) * 1000
        print(f"{'journey':<14} {total_cpu:>10.2f} {'':>6} {total_wall:>9.2f} "
              f"{sum(len(counted[n]) for n in STEPS):>6}")
        if jobs_cpu:
            print(f"{'background':<14} {statistics.median(jobs_cpu) * 1000:>10.2f} "
                  f"{statistics.mean(jobs_cpu) * 1000:>6.2f}  (relays and mail after each journey, CPU of this thread)")
        if args.show:
            for name in STEPS:
                print(f"-- {name}")
                for database, sql in counted[name]:
                    print(f"   {database:<9} {' '.join(sql.split())[:150]}")
        if args.profile:
            profile = cProfile.Profile(time.thread_time)

            def profiled(name, work):
                if name != args.profile:
                    return work()[1]
                profile.enable()
                try:
                    return work()[1]
                finally:
                    profile.disable()
            for i in range(args.journeys // 2):
                journey(app, token, date, 100000 + i, profiled)
                if args.profile == "background":
                    profile.enable()
                    run_background()
                    profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
    finally:
        drop_scratch_system(args.pg, args.prefix, system)


if __name__ == "__main__":
    main()
