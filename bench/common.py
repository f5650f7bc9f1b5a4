"""What the benchmarks share: scratch PostgreSQL databases, created fresh and dropped afterwards."""
from __future__ import annotations

import contextlib

import psycopg2

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin(pg: str, sql: str) -> None:
    """Run one statement on the admin database outside a transaction (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(pg)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_scratch(pg: str, name: str) -> str:
    """A new empty database called ``name`` (dropped first if a previous run left it); its URL."""
    admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(pg, f"CREATE DATABASE {name}")
    return f"{pg.rsplit('/', 1)[0]}/{name}"


def drop_scratch(pg: str, name: str) -> None:
    admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def scratch_database(pg: str, name: str):
    """``with scratch_database(pg, "fbbench_x") as url:`` — always dropped at the end."""
    url = create_scratch(pg, name)
    try:
        yield url
    finally:
        drop_scratch(pg, name)
