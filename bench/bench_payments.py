"""Payments on PostgreSQL with mockbank.

    python bench/bench_payments.py [--payments 400] [--clients 8] [--rounds 3] [--baseline aea88c8]
                                   [--chaos-seconds 20] [--chaos-clients 40] [--only throughput|chaos]
                                   [--pg postgresql://postgres@127.0.0.1:5432/postgres]

1. Throughput: payments processed per second and p50/p99 latency with --clients client threads calling
   the in-process contracts (as gunicorn worker threads would; create-intent excluded), the CPU ms per
   payment of this process (all of flights, payments and loyalty in process) and of the PostgreSQL backends
   (from /proc), the same per create-intent (one client), and the cost of an idempotent replay. The same
   measurement of the code at --baseline (a git worktree of that commit, measured by this script) runs in
   the same session, rounds alternating, so both see the same machine. 2b2fd88 is the payments of before
   every charge was recorded ahead of the provider call; aea88c8 the booking path before issue 22.
2. Chaos: four services on PostgreSQL (payments with 4 workers); --chaos-clients travellers each book,
   open an intent and pay through the gateway, over and over, retrying a payment with its own key until
   it has a final answer, while a random payments worker is killed (SIGKILL) every second for
   --chaos-seconds. Then `flightbook reconcile-payments --older-than 0`. Prints bank charges, payments
   recorded, double charges, charges with no payment record after reconciliation (targets 0 and 0),
   bookings paid but not confirmed, and the time to reconcile.

Scratch databases are created and dropped again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CpuMeter, admin, backend_pids, machine_load, scratch_system  # noqa: E402

# BENCH_CODE: the checkout whose flightbook a throughput round measures (--baseline's worktree), this one's default
sys.path.insert(0, os.environ.get("BENCH_CODE", str(ROOT)))

from flightbook import MODULES  # noqa: E402
from flightbook.contracts.flights import BookingRequest, PassengerInput  # noqa: E402
from flightbook.contracts.payments import CardInput  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.auth import Principal  # noqa: E402

CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=dt.date.today().year + 2, cvc="123")
RESULT = re.compile(r"-> (\d+) payments/s; latency p50 ([\d.]+) ms, p99 ([\d.]+) ms; CPU ms per payment: "
                    r"app ([\d.]+), PostgreSQL ([\d.]+); per create-intent: app ([\d.]+), PostgreSQL ([\d.]+)")


def held_bookings(system, count: int) -> list[tuple[Principal, str]]:
    """``count`` bookings held, each with its intent: (traveller, intent id)."""
    payments = system.contracts["payments"]
    return [(caller, payments.create_intent(caller, ref).id) for caller, ref in booked(system, count)]


def booked(system, count: int) -> list[tuple[Principal, str]]:
    from flightbook.modules.flights.models import Airport, Flight, SeatInventory
    for code in ("LHR", "JFK"):
        Airport.insert(iata=code, name=code, city=code, country="GB", lat=0, lon=0, tz="UTC",
                       search_text=code.lower()).on_conflict_ignore().execute()
    departs = clock.now().replace(microsecond=0) + dt.timedelta(days=10)
    flight = Flight.create(flight_number="PB1", airline="Bench Air", origin="LHR", destination="JFK",
                           service_date=departs.date(), departs_at=clock.to_db(departs),
                           arrives_at=clock.to_db(departs + dt.timedelta(hours=8)), duration_minutes=480)
    SeatInventory.insert(flight=flight.id, cabin="economy", capacity=count, seats_left=count, fare_amount=19900,
                         currency="USD").execute()
    flights = system.contracts["flights"]
    made = []
    for i in range(count):
        caller = Principal(kind="user", user_id=1000 + i % 50)
        booking = flights.book(caller, BookingRequest(outbound_flight_id=flight.id, cabin="economy",
                                                      passengers=[PassengerInput("Pax", "Bench", dt.date(1990, 1, 1))],
                                                      contact_email="bench@example.com"))
        made.append((caller, booking.ref))
    return made


def pg_meter(pg: str) -> CpuMeter:
    """A meter of the PostgreSQL backends on the scratch databases."""
    names = [f"fbbench_payments_{module}" for module in MODULES]
    return CpuMeter(lambda: backend_pids(pg, names)).start()


def run(payments, work: list, clients: int) -> tuple[float, list[float], float]:
    """(seconds, each payment's latency, CPU seconds the paying threads used: the request path alone)."""
    latencies: list[float] = []
    request_cpu = [0.0]
    lock = threading.Lock()
    chunks = [work[i::clients] for i in range(clients)]

    def client(chunk):
        for caller, intent_id in chunk:
            started, cpu = time.perf_counter(), time.thread_time()
            result = payments.process_payment(caller, intent_id, CARD, f"bench-{intent_id}")
            assert result.status == "succeeded", result
            with lock:
                latencies.append(time.perf_counter() - started)
                request_cpu[0] += time.thread_time() - cpu

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    started = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    return time.perf_counter() - started, latencies, request_cpu[0]


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def close(system, pg: str) -> None:
    system.close()
    for database in system.databases.values():
        getattr(getattr(database, "obj", database), "close_all", lambda: None)()
    for module in MODULES:
        admin(pg, f"DROP DATABASE IF EXISTS fbbench_payments_{module} WITH (FORCE)")


def throughput_round(payments_count: int, clients: int, pg: str, replays: bool) -> None:
    """One measurement of this checkout's code; prints the line the side-by-side run parses."""
    system = scratch_system(pg, "fbbench_payments")
    payments = system.contracts["payments"]
    try:
        held = booked(system, payments_count)
        backends = pg_meter(pg)
        cpu = time.thread_time()
        work = [(caller, payments.create_intent(caller, ref).id) for caller, ref in held]
        intent_app = (time.thread_time() - cpu) / len(work) * 1000
        intent_pg = backends.stop() / len(work) * 1000
        backends = pg_meter(pg)
        elapsed, latencies, request_cpu = run(payments, work, clients)
        pay_app, pay_pg = request_cpu / len(work) * 1000, backends.stop() / len(work) * 1000
        print(f"payments processed: {len(latencies)} with {clients} clients in {elapsed:.2f} s "
              f"-> {len(latencies) / elapsed:.0f} payments/s; latency p50 {ms(latencies, 50):.1f} ms, "
              f"p99 {ms(latencies, 99):.1f} ms; CPU ms per payment: app {pay_app:.2f}, PostgreSQL {pay_pg:.2f}; "
              f"per create-intent: app {intent_app:.2f}, PostgreSQL {intent_pg:.2f} (1 client); app: the CPU of the "
              "threads making the calls (flights, payments and loyalty in process; no relay runs)", flush=True)
        if replays:
            took = []
            for caller, intent_id in work[:200]:
                started = time.perf_counter()
                payments.process_payment(caller, intent_id, CARD, f"bench-{intent_id}")
                took.append(time.perf_counter() - started)
            print(f"idempotent replay (1 client, {len(took)} replays): p50 {ms(took, 50):.2f} ms, "
                  f"p99 {ms(took, 99):.2f} ms ({statistics.median(took) / statistics.median(latencies):.0%} "
                  "of a first payment's p50)")
    finally:
        close(system, pg)


def measured_by(checkout: Path, args) -> tuple[float, ...]:
    """One throughput round of ``checkout``'s code, by this script; (payments/s, p50 ms, p99 ms, app and PostgreSQL
    CPU ms per payment, the same per create-intent)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTBOOK_")}
    env["BENCH_CODE"] = str(checkout)
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--payments", str(args.payments),
                           "--clients", str(args.clients), "--pg", args.pg, "--only", "round"],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
    found = RESULT.search(done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{checkout}: bench failed\n{done.stdout}\n{done.stderr[-3000:]}")
    return tuple(float(x) for x in found.groups())


def side_by_side(args) -> None:
    baseline = Path(tempfile.mkdtemp(prefix="fbbaseline")) / "checkout"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline), args.baseline],
                   check=True)
    figures: dict[str, list] = {"now": [], "before": []}
    try:
        for r in range(args.rounds):
            order = (("now", ROOT), ("before", baseline)) if r % 2 == 0 else (("before", baseline), ("now", ROOT))
            for label, checkout in order:
                figures[label].append(measured_by(checkout, args))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)
    medians = {label: [statistics.median(f[i] for f in rows) for i in range(7)] for label, rows in figures.items()}
    print(machine_load())
    for label, name in (("before", f"before ({args.baseline})"), ("now", "now")):
        rate, p50, p99, pay_app, pay_pg, intent_app, intent_pg = medians[label]
        rounds = ", ".join(f"{f[0]:.0f}" for f in figures[label])
        print(f"{name}: {rate:.0f} payments/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms; CPU ms per payment: app "
              f"{pay_app:.2f}, PostgreSQL {pay_pg:.2f}; per create-intent: app {intent_app:.2f}, PostgreSQL "
              f"{intent_pg:.2f} (medians of {args.rounds} rounds of {args.payments}, {args.clients} clients; "
              f"rounds: {rounds}/s)")
    now, before = medians["now"], medians["before"]
    print(f"now/before: {now[0] / before[0]:.2f} x payments/s, p50 {now[1] / before[1]:.2f} x, app CPU per payment "
          f"{now[3] / before[3]:.2f} x, PostgreSQL CPU per payment {now[4] / before[4]:.2f} x "
          f"(targets: app CPU <= 4 ms per payment with the mock bank; against 2b2fd88, no worse than 15 % slower)")
    throughput_round(200, 1, args.pg, replays=True)


def payments_workers(master_pid: int) -> list[int]:
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
            return [int(pid) for pid in fh.read().split()]
    except OSError:
        return []


def chaos(args) -> None:
    import requests

    from tests.e2e.deployments import Deployment
    from tests.servers import FLIGHTBOOK
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_services import TRIPS, find_trips, traveller

    folder = Path(tempfile.mkdtemp(prefix="fbchaos"))
    deployment = Deployment("four_services", folder, "chaosbench", backend="postgres")
    deployment.start()
    try:
        payments_server = deployment.servers["payments"]
        payments_server.stop()
        payments_server.workers = 4
        payments_server.start()
        api = deployment.url + "/api/gateway"
        find_trips(api)
        stop = threading.Event()
        counts: dict = {"paid": 0, "other": {}, "retries": 0, "abandoned": 0, "refs": []}
        lock = threading.Lock()

        def until_final(http, method, path, **kwargs):
            """Retry with the same key until a final answer; once the chaos ends, leave what is still
            unfinished to the reconciler (None)."""
            while not stop.is_set():
                try:
                    answer = http.request(method, api + path, timeout=60, **kwargs)
                    if answer.status_code not in (409, 502, 503, 504) or (
                            answer.status_code == 409 and answer.json()["error"]["code"] != "payment_in_progress"):
                        return answer
                except requests.RequestException:
                    pass
                with lock:
                    counts["retries"] += 1
                time.sleep(0.3)
            with lock:
                counts["abandoned"] += 1
            return None

        def client(k):
            http = traveller(api)
            i = k
            while not stop.is_set():
                origin, destination, date = TRIPS[i % len(TRIPS)]
                i += 1
                flight = http.get(api + "/flights/search", params={"origin": origin, "destination": destination,
                                                                   "date": date}, timeout=60).json()["outbound"][0]
                booked = http.post(api + "/flights/book", timeout=60, json={
                    "outbound_id": flight["id"], "cabin": "economy", "contact_email": "c@example.com",
                    "passengers": [{"first_name": "Chaos", "last_name": "Monkey", "date_of_birth": "1990-01-01"}]})
                if booked.status_code != 201:
                    continue
                ref = booked.json()["ref"]
                intent = until_final(http, "POST", "/payments/create-intent", json={"booking_ref": ref})
                if intent is None or intent.status_code != 201:
                    continue
                paid = until_final(http, "POST", "/payments/process", headers={"Idempotency-Key": uuid.uuid4().hex},
                                   json={"intent_id": intent.json()["id"], "card": {
                                       "number": CARD.number, "exp_month": 12, "exp_year": CARD.exp_year, "cvc": "123"}})
                if paid is None:
                    continue
                with lock:
                    if paid.status_code == 200:
                        counts["paid"] += 1
                        counts["refs"].append(ref)
                    else:
                        code = f"{paid.status_code} {paid.json().get('error', {}).get('code')}"
                        counts["other"][code] = counts["other"].get(code, 0) + 1

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(args.chaos_clients)]
        for t in threads:
            t.start()
        kills = 0
        chaos_ends = time.monotonic() + args.chaos_seconds
        while time.monotonic() < chaos_ends:
            time.sleep(1)
            workers = payments_workers(payments_server.process.pid)
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)
                kills += 1
        stop.set()
        for t in threads:
            t.join(timeout=120)
        env = {**os.environ, **deployment.env}
        started = time.monotonic()
        reconciled = subprocess.run([FLIGHTBOOK, "reconcile-payments", "--older-than", "0"], env=env, cwd=ROOT,
                                    capture_output=True, text=True, timeout=600)
        took = time.monotonic() - started
        figures = chaos_figures(deployment.env["FLIGHTBOOK_PAYMENTS_DATABASE"])
        paid_refs = succeeded_refs(deployment.env["FLIGHTBOOK_PAYMENTS_DATABASE"])
        confirmed = confirmed_count(deployment.env["FLIGHTBOOK_FLIGHTS_DATABASE"], paid_refs)
        print(f"chaos: {args.chaos_clients} clients for {args.chaos_seconds} s, {kills} payments workers killed "
              f"(SIGKILL), {counts['paid']} payments answered succeeded, other final answers "
              f"{counts['other'] or 'none'}, {counts['retries']} retries, {counts['abandoned']} left unanswered "
              "when the chaos ended")
        print(f"reconcile: {reconciled.stdout.strip().splitlines()[-1] if reconciled.stdout.strip() else '?'} "
              f"in {took:.2f} s")
        print(f"bank charges {figures['bank_charges']}, payments recorded {figures['recorded']}, "
              f"double charges {figures['double']}, charges with no payment record after reconciliation "
              f"{figures['orphans']} (targets: 0 and 0), unfinished left {figures['unfinished']}")
        print(f"bookings with a succeeded payment: {len(paid_refs)} ({len(counts['refs'])} answered to their "
              f"traveller, the rest finished by the reconciler), confirmed by the saga: {confirmed}")
    finally:
        deployment.stop()


def chaos_figures(url: str) -> dict:
    import psycopg2
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            def one(sql):
                cur.execute(sql)
                return cur.fetchone()[0]
            return {
                "bank_charges": one("SELECT count(*) FROM bank_entry WHERE kind = 'charge'"),
                "recorded": one("SELECT count(*) FROM payment WHERE provider = 'mockbank' "
                                "AND status IN ('succeeded', 'partially_refunded', 'refunded')"),
                "double": one("SELECT count(*) FROM (SELECT p.intent_id FROM bank_entry b JOIN payment p "
                              "ON p.provider_key = b.idempotency_key WHERE b.kind = 'charge' "
                              "GROUP BY p.intent_id HAVING count(*) > 1) twice"),
                "orphans": one("SELECT count(*) FROM bank_entry WHERE kind = 'charge' AND id NOT IN "
                               "(SELECT provider_ref FROM payment WHERE provider_ref IS NOT NULL "
                               "AND status IN ('succeeded', 'partially_refunded', 'refunded'))"),
                "unfinished": one("SELECT count(*) FROM payment WHERE status = 'processing'"),
            }
    finally:
        conn.close()


def succeeded_refs(payments_url: str) -> list[str]:
    import psycopg2
    conn = psycopg2.connect(payments_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT booking_ref FROM payment WHERE status = 'succeeded'")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def confirmed_count(flights_url: str, refs: list[str], wait_seconds: float = 60) -> int:
    """Bookings the saga confirmed among those answered paid (waiting up to a minute for the last events)."""
    import psycopg2
    deadline = time.monotonic() + wait_seconds
    conn = psycopg2.connect(flights_url)
    try:
        while True:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM booking WHERE ref = ANY(%s) AND status = 'CONFIRMED'", (refs,))
                confirmed = cur.fetchone()[0]
            conn.commit()
            if confirmed == len(refs) or time.monotonic() > deadline:
                return confirmed
            time.sleep(1)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="aea88c8", help="the commit to measure beside this one")
    parser.add_argument("--chaos-seconds", type=int, default=20)
    parser.add_argument("--chaos-clients", type=int, default=40)
    parser.add_argument("--only", choices=("throughput", "chaos", "round"))
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.only == "round":
        return throughput_round(args.payments, args.clients, args.pg, replays=False)
    if args.only in (None, "throughput"):
        side_by_side(args)
    if args.only in (None, "chaos"):
        chaos(args)


if __name__ == "__main__":
    main()
