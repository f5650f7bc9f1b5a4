"""The admin overview on the big data set, in one process on PostgreSQL: >= 1,000,000 dated flights (the
catalogue benchmark's generator: the weekly schedule between 300 airports, from 30 days ago), 100,000
bookings over the last 30 days (7 in 10 confirmed, with their legs, passengers and seats taken), 10,000
travellers, 100,000 payments (1 in 20 declined, by code) and 100,000 points transactions over 12 weeks.

Then the overview page (/admin, through the gateway with an admin's session cookie, every module in process)
rendered ``--rounds`` times, p50/p95/max, alternating round by round with its parts alone: flights' figures
(bookings per day, load factor, today's counts), loyalty's points per week, payments' declines by code; and the
page with nothing kept in memory (flights keeps the past days' bookings for 60 s; the load factor is read from
the per-day seat counters each time).

    python bench/bench_admin.py [--flights 1000000] [--bookings 100000] [--rounds 100] [--keep] [--reuse]

``--keep`` leaves the scratch databases (fbbench_admin_flights, _payments, _loyalty) for another run,
``--reuse`` measures on them without building again (the build takes minutes on a small machine)."""
from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import statistics
import sys
import time
from pathlib import Path

import falcon.testing
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PG_ADMIN, create_scratch, drop_scratch  # noqa: E402
from flightbook import wiring  # noqa: E402
from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.settings import Settings  # noqa: E402
from flightbook.kernel.uow import UnitOfWork  # noqa: E402
from flightbook.modules.flights import models as flights_models  # noqa: E402
from flightbook.modules.flights.catalogue import (airports, memo, schedule_generator, schedule_import,  # noqa: E402
                                                  schedules)
from flightbook.modules.loyalty import models as loyalty_models  # noqa: E402
from flightbook.modules.payments import models as payments_models  # noqa: E402

NAMES = {m: f"fbbench_admin_{m}" for m in ("flights", "payments", "loyalty")}
OUT = ROOT / "bench" / "out"
ADMIN = ("benchadmin", "bench admin password")


def url(module: str) -> str:
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{NAMES[module]}"


def sql(module: str, *statements: str) -> None:
    conn = psycopg2.connect(url(module))
    try:
        with conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def build(args) -> None:
    started = time.perf_counter()
    for module in NAMES:
        create_scratch(PG_ADMIN, NAMES[module])
    for module, models in (("flights", flights_models), ("payments", payments_models), ("loyalty", loyalty_models)):
        models.database.initialize(open_database(url(module)))
        migrate(module, models.database)
    uow = UnitOfWork(flights_models.database, "flights")
    airports.import_airports(uow, airports.DEFAULT_CSV)
    rows = schedule_generator.generate_schedule(airports.read_airports(airports.DEFAULT_CSV), args.airports, seed=1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"schedule-{args.airports}.csv"
    schedule_generator.write_schedule(rows, path)
    zones = dict(flights_models.Airport.select(flights_models.Airport.iata, flights_models.Airport.tz).tuples())
    parsed = schedules.read_schedule(path, zones)
    start = dt.date.today() - dt.timedelta(days=30)
    days = math.ceil(args.flights / schedules.count_dated(parsed, start, 7) * 7)
    t0 = time.perf_counter()
    result = schedule_import.import_flights(uow, path, start, days)
    print(f"build: {result.added:,} dated flights over {days} days from {start} in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    n = args.bookings
    sql("flights",
        "INSERT INTO \"user\" (username, email, password_hash, first_name, last_name, is_admin, created_at) "
        "SELECT 'bench' || g, 'bench' || g || '@example.com', 'x', 'Bench', 'Traveller' || g, false, now() "
        "FROM generate_series(1, 10000) g",
        # 100,000 bookings over the last 30 days, each on one flight of the 60 days around today
        "CREATE TEMP TABLE window_flight AS SELECT id, row_number() OVER (ORDER BY id) AS k FROM flight "
        f"WHERE service_date BETWEEN current_date - 30 AND current_date + 30",
        f"INSERT INTO booking (ref, user_id, status, cabin, contact_email, total_amount, currency, hold_expires_at, "
        f"created_at, confirmed_at, cancelled_at, payment_id) "
        f"SELECT 'Z' || lpad(upper(to_hex(g)), 5, '0'), 1 + g % 10000, "
        f"(ARRAY['CONFIRMED','CONFIRMED','CONFIRMED','CONFIRMED','CONFIRMED','CONFIRMED','CONFIRMED','HELD',"
        f"'CANCELLED','EXPIRED'])[1 + g % 10], 'economy', 'bench' || g || '@example.com', 10000 + (g * 37) % 90000, "
        f"'USD', now() + interval '15 minutes', now() - (g % 30) * interval '1 day' - (g % 86400) * interval '1 second', "
        f"CASE WHEN g % 10 < 7 THEN now() END, CASE WHEN g % 10 = 8 THEN now() END, "
        f"CASE WHEN g % 10 < 7 THEN 'pay_' || g END FROM generate_series(1, {n}) g",
        f"INSERT INTO booking_flight (booking_ref, flight_id, direction, fare_amount, currency) "
        f"SELECT 'Z' || lpad(upper(to_hex(g)), 5, '0'), w.id, 'outbound', 10000, 'USD' FROM generate_series(1, {n}) g "
        f"JOIN window_flight w ON w.k = 1 + (g * 7919) % (SELECT count(*) FROM window_flight)",
        f"INSERT INTO passenger (booking_ref, first_name, last_name, date_of_birth) "
        f"SELECT 'Z' || lpad(upper(to_hex(g)), 5, '0'), 'Bench', 'Passenger' || g, date '1980-01-01' "
        f"FROM generate_series(1, {n}) g",
        "UPDATE seat_inventory s SET seats_left = greatest(0, s.seats_left - c.n) FROM "
        "(SELECT bf.flight_id, count(*) AS n FROM booking_flight bf JOIN booking b ON b.ref = bf.booking_ref "
        " WHERE b.status IN ('HELD', 'CONFIRMED') GROUP BY bf.flight_id) c "
        "WHERE s.flight_id = c.flight_id AND s.cabin = 'economy'",
        "ANALYZE")
    sql("payments",
        f"INSERT INTO payment (id, intent_id, booking_ref, user_id, status, amount, refunded_amount, currency, "
        f"failure_code, provider, created_at) SELECT 'pay_' || g, 'pi_' || g, 'Z' || lpad(upper(to_hex(g)), 5, '0'), "
        f"1 + g % 10000, CASE WHEN g % 20 = 0 THEN 'failed' ELSE 'succeeded' END, 10000, 0, 'USD', "
        f"CASE WHEN g % 20 = 0 THEN (ARRAY['card_declined','insufficient_funds','expired_card','incorrect_cvc'])"
        f"[1 + (g / 20) % 4] END, 'mockbank', now() - (g % 30) * interval '1 day' FROM generate_series(1, {n}) g",
        "ANALYZE")
    sql("loyalty",
        "INSERT INTO loyalty_account (user_id, balance, held, tier, created_at, updated_at) "
        "SELECT g, 0, 0, (SELECT name FROM loyalty_tier ORDER BY threshold LIMIT 1), now(), now() "
        "FROM generate_series(1, 10000) g",
        f"INSERT INTO points_transaction (user_id, kind, points, balance_after, booking_ref, note, created_at) "
        f"SELECT 1 + g % 10000, (ARRAY['EARN','EARN','EARN','REDEEM','EXPIRE'])[1 + g % 5], "
        f"CASE WHEN g % 5 < 3 THEN 1000 ELSE -500 END, 0, NULL, '', now() - (g % 84) * interval '1 day' "
        f"FROM generate_series(1, {n}) g",
        "ANALYZE")
    print(f"build: {n:,} bookings, payments and points transactions, 10,000 travellers in "
          f"{time.perf_counter() - t0:.0f} s; whole build {time.perf_counter() - started:.0f} s")
    flights_models.database.close()


def sign_in(client) -> dict:
    page = client.simulate_get("/login")
    cookies = {"fb_session": page.cookies["fb_session"].value}
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.simulate_post("/login", cookies=cookies, headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=f"csrf_token={csrf}&username={ADMIN[0]}&password={ADMIN[1].replace(' ', '+')}")
    assert resp.status_code == 303, resp.text
    return {"fb_session": resp.cookies["fb_session"].value}


def figures(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def measure(args, home: Path) -> None:
    env = {"FLIGHTBOOK_HOME": str(home), **{f"FLIGHTBOOK_{m.upper()}_DATABASE": url(m) for m in NAMES}}
    system = wiring.build_system(Settings.from_env(env))
    try:
        flights = system.parts["flights"].contract
        try:
            flights.create_admin(*ADMIN)
        except Exception:  # noqa: BLE001 - a reused data set has it already
            pass
        client = falcon.testing.TestClient(wiring.create_app(system))
        cookie = sign_in(client)
        contracts = system.contracts
        assert contracts is not None
        principal = system.tokens.verify(client.simulate_post(
            "/api/users/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json["token"])
        today = clock.now().date()
        since = dt.datetime.combine(today - dt.timedelta(days=29), dt.time(), clock.UTC)
        parts = {
            "overview page (/admin)": lambda: client.simulate_get("/admin", cookies=cookie),
            "flights: bookings per day, load factor, today": lambda: contracts.flights.admin_overview(principal, today),
            "loyalty: points per week": lambda: contracts.loyalty.admin_points_by_week(principal, today),
            "payments: declines by code": lambda: contracts.payments.admin_declines(principal, since),
        }
        page = client.simulate_get("/admin", cookies=cookie)
        assert page.status_code == 200 and page.text.count('<svg class="chart"') == 5, page.text[:300]
        counts = re.findall(r'<span class="figure">([^<]*)</span> (bookings today|flights today)', page.text)
        print(f"overview shows: {counts}")
        times: dict[str, list[float]] = {name: [] for name in parts}
        for _ in range(3):  # warm
            for call in parts.values():
                call()
        for _ in range(args.rounds):  # alternating, round by round
            for name, call in parts.items():
                t0 = time.perf_counter()
                call()
                times[name].append(1000 * (time.perf_counter() - t0))
        for name, measured in times.items():
            print(f"{name}: {args.rounds} rounds, {figures(measured)}")
        # the first look after a quiet spell: nothing kept in memory (flights keeps the past days' bookings for
        # 60 s, recomputed by its job while admins look)
        cold = []
        for _ in range(max(5, args.rounds // 10)):
            memo.forget(flights_models.database)
            t0 = time.perf_counter()
            client.simulate_get("/admin", cookies=cookie)
            cold.append(1000 * (time.perf_counter() - t0))
        print(f"overview page (/admin), nothing kept in memory: {len(cold)} rounds, {figures(cold)}")
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--airports", type=int, default=300)
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="leave the scratch databases for --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure on the databases a --keep run left")
    args = parser.parse_args()
    home = OUT / "admin-home"
    home.mkdir(parents=True, exist_ok=True)
    try:
        if not args.reuse:
            build(args)
        measure(args, home)
    finally:
        if not args.keep:
            for name in NAMES.values():
                drop_scratch(PG_ADMIN, name)


if __name__ == "__main__":
    main()
