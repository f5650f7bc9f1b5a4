"""Benchmark: `expire-points` over 1,000,000 lots in 100,000 accounts on PostgreSQL (target <= 10 s).

    python bench/bench_expire_points.py [--accounts 100000] [--lots-per-account 10] [--admin-url URL]

Creates a scratch database, bulk-loads accounts and lots with COPY (every lot past its expiry; one
account in ten has a pending hold, so hold protection is exercised), runs the expiry as the CLI does,
prints the figures, checks the books still balance, and drops the database.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.uow import UnitOfWork  # noqa: E402
from flightbook.modules.loyalty import models  # noqa: E402
from flightbook.modules.loyalty.rules import LoyaltyRules  # noqa: E402
from flightbook.modules.loyalty.service import LoyaltyService  # noqa: E402
from bench.common import admin  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2027, 6, 1, tzinfo=UTC)
LOT_POINTS = 100
HELD = 150  # on every tenth account


def copy(cur, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    buffer.writelines(rows)
    buffer.seek(0)
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def load(url: str, accounts: int, per_account: int) -> None:
    earned = dt.datetime(2025, 1, 1)
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        copy(cur, "loyalty_account", "user_id, balance, held, tier, created_at, updated_at",
             (f"{u}\t{LOT_POINTS * per_account}\t{HELD if u % 10 == 0 else 0}\tSilver\t{earned}\t{earned}\n"
              for u in range(1, accounts + 1)))
        copy(cur, "points_lot", "user_id, source, booking_ref, points, remaining, earned_at, expires_at",
             (f"{u}\tEARN\tB{u}X{n}\t{LOT_POINTS}\t{LOT_POINTS}\t{earned + dt.timedelta(days=n)}\t"
              f"{earned + dt.timedelta(days=730 + n)}\n"
              for u in range(1, accounts + 1) for n in range(per_account)))
        cur.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--lots-per-account", type=int, default=10)
    parser.add_argument("--admin-url", default=os.environ.get("FLIGHTBOOK_TEST_PG",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (to inspect plans)")
    args = parser.parse_args()
    name = f"fbbench_loyalty_{os.getpid()}"
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"
    admin(args.admin_url, f"CREATE DATABASE {name}")
    try:
        database = open_database(url)
        migrate("loyalty", database)
        models.database.initialize(database)
        started = time.perf_counter()
        load(url, args.accounts, args.lots_per_account)
        loaded = time.perf_counter() - started
        lots = args.accounts * args.lots_per_account
        print(f"loaded {args.accounts:,} accounts and {lots:,} lots with COPY in {loaded:.1f} s")

        service = LoyaltyService(UnitOfWork(models.database, "loyalty"), LoyaltyRules(), clock_now=lambda: NOW)
        started = time.perf_counter()
        report = service.expire_points(NOW)
        first = time.perf_counter() - started
        print(f"expire-points: {report.points:,} points in {report.accounts:,} accounts in {first:.2f} s "
              f"({lots / first:,.0f} lots/s; target <= 10 s)")
        started = time.perf_counter()
        again = service.expire_points(NOW)
        print(f"second run: {again.points:,} points in {again.accounts:,} accounts in "
              f"{time.perf_counter() - started:.2f} s")
        check = database.execute_sql(
            "SELECT count(*) FROM loyalty_account a WHERE a.balance <> (SELECT COALESCE(SUM(remaining), 0) "
            "FROM points_lot l WHERE l.user_id = a.user_id) OR a.balance < a.held").fetchone()[0]
        transactions = database.execute_sql("SELECT count(*) FROM points_transaction WHERE kind = 'EXPIRE'"
                                            ).fetchone()[0]
        print(f"EXPIRE transactions: {transactions:,}; accounts whose books do not balance: {check}")
        database.close_all()
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            admin(args.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
