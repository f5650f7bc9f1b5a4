"""Outbox -> relay -> inbox throughput and lag.

In process, on SQLite and PostgreSQL: events published per second (each in its own write transaction),
events delivered per second by 1 and by 4 concurrent relays to an in-process subscriber whose handler writes
one row, and the publish-to-applied lag (p50/p99) with a relay polling every 0.1 s while events are published
at a steady rate.

Across processes, on PostgreSQL, end to end (an outbox of N ``booking.expired`` events in flights' database ->
applied by loyalty's real handler, its inbox row committed in loyalty's database), in the same run:
- the HTTP relay: one relay -> ``POST /api/events`` of a ``flightbook serve loyalty`` process (2 workers);
- the broker: one relay -> RabbitMQ (publisher confirms) -> loyalty's queue -> 1, then 2
  ``flightbook consume loyalty`` processes.

    python bench/bench_relay.py [--events 2000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                [--broker amqp://guest:guest@127.0.0.1:5672/%2F] [--only processes]

Scratch databases (a temporary directory; PostgreSQL databases created and dropped again) and scratch names
on the broker, deleted afterwards.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import peewee as pw
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.db import open_database, write_transaction  # noqa: E402
from flightbook.kernel.events import Event  # noqa: E402
from flightbook.kernel.inbox import Inbox  # noqa: E402
from flightbook.kernel.migrations import migrate  # noqa: E402
from flightbook.kernel.outbox import Outbox  # noqa: E402
from flightbook.kernel.relay import LocalSubscriber, Relay, RelayPolicy  # noqa: E402

TOPIC = "bench.thing_happened"


@dataclasses.dataclass(frozen=True)
class ThingHappened(Event):
    topic = TOPIC
    n: int
    published_at: float


def applied_table(database):
    bound = database

    class Applied(pw.Model):
        n = pw.IntegerField()
        lag_ms = pw.FloatField()

        class Meta:
            database = bound
            table_name = "bench_applied"

    Applied.create_table(safe=True)
    return Applied


def scratch(backend: str, pg: str, folder: Path):
    """URLs of a fresh publisher and subscriber database, and a cleanup."""
    if backend == "sqlite":
        return f"sqlite:///{folder}/pub.db", f"sqlite:///{folder}/sub.db", lambda: None
    base = pg.rsplit("/", 1)[0]
    names = ["fbbench_relay_pub", "fbbench_relay_sub"]

    def admin(sql):
        conn = psycopg2.connect(pg)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    for name in names:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin(f"CREATE DATABASE {name}")
    return f"{base}/{names[0]}", f"{base}/{names[1]}", lambda: [admin(f"DROP DATABASE {n} WITH (FORCE)")
                                                                for n in names]


def setup(pub_url, sub_url):
    pub, sub = open_database(pub_url), open_database(sub_url)
    migrate("payments", pub)
    migrate("loyalty", sub)
    applied = applied_table(sub)

    def handle(event):
        applied.create(n=event.n, lag_ms=(time.time() - event.published_at) * 1000)

    return pub, sub, applied, LocalSubscriber(Inbox(sub, "loyalty", {TOPIC: handle}), [TOPIC])


def publish(pub, numbers):
    outbox = Outbox(pub, "payments")
    for n in numbers:
        with write_transaction(pub):
            outbox.publish(ThingHappened(n, time.time()))


def bench_throughput(pub_url, sub_url, events, relays_count):
    pub, sub, applied, subscriber = setup(pub_url, sub_url)
    started = time.perf_counter()
    publish(pub, range(events))
    publish_rate = events / (time.perf_counter() - started)
    relays = [Relay(open_database(pub_url), "payments", [subscriber], RelayPolicy(batch_size=100))
              for _ in range(relays_count)]
    started = time.perf_counter()

    def run(relay):
        while relay.drain(max_rounds=1000).touched:
            pass

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.perf_counter() - started
    count = applied.select().count()
    distinct = applied.select(applied.n).distinct().count()
    return publish_rate, count / elapsed, count, distinct


def bench_lag(pub_url, sub_url, events, rate):
    pub, sub, applied, subscriber = setup(pub_url, sub_url)
    relay = Relay(open_database(pub_url), "payments", [subscriber], RelayPolicy(batch_size=100))
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            relay.drain()
            stop.wait(0.1)

    thread = threading.Thread(target=loop)
    thread.start()
    for n in range(events):
        publish(pub, [n])
        time.sleep(1 / rate)
    deadline = time.time() + 30
    while applied.select().count() < events and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    lags = sorted(row.lag_ms for row in applied.select())
    return statistics.median(lags), lags[int(len(lags) * 0.99) - 1], len(lags)


def in_process(args):
    for backend in ("sqlite", "postgres"):
        for relays_count in (1, 4):
            with tempfile.TemporaryDirectory() as folder:
                pub_url, sub_url, cleanup = scratch(backend, args.pg, Path(folder))
                try:
                    pub_rate, rate, count, distinct = bench_throughput(pub_url, sub_url, args.events, relays_count)
                finally:
                    cleanup()
            print(f"{backend:8} publish {pub_rate:7.0f} events/s | {relays_count} relay(s): delivered "
                  f"{rate:6.0f} events/s, applied {count} rows for {distinct} distinct events of {args.events}")
        with tempfile.TemporaryDirectory() as folder:
            pub_url, sub_url, cleanup = scratch(backend, args.pg, Path(folder))
            try:
                p50, p99, n = bench_lag(pub_url, sub_url, 300, rate=100)
            finally:
                cleanup()
        print(f"{backend:8} lag publish->applied at 100 events/s, relay polling 0.1 s: p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms ({n} events)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--only", choices=["in-process", "processes"], help="one of the two sections")
    args = parser.parse_args()
    if args.only != "processes":
        in_process(args)
    if args.only != "in-process":
        from relay_processes import across_processes
        across_processes(args.events, args.pg, args.broker)
    print(f"(run at {clock.iso(clock.now())})")


if __name__ == "__main__":
    main()
