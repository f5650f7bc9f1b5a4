"""Events through RabbitMQ, end to end: an outbox of N events -> one relay publishing them to the topic
exchange with publisher confirms (or two competing relays) -> the subscriber's quorum queue -> 1 or 2 consumers applying each through
the inbox (committed), on SQLite and PostgreSQL; beside it the same outbox delivered by the in-process
relay. Consumers run on threads of this process (phase B measures instances in processes of their own).

    python bench/bench_broker.py [--events 2000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                 [--broker amqp://guest:guest@127.0.0.1:5672/%2F]

Scratch databases and scratch names on the broker, removed afterwards.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_relay import TOPIC, bench_throughput, publish, scratch, setup  # noqa: E402

from flightbook.kernel import clock  # noqa: E402
from flightbook.kernel.broker import BrokerPublisher, Topology, connect  # noqa: E402
from flightbook.kernel.consumer import Consumer, ConsumerPolicy  # noqa: E402
from flightbook.kernel.db import open_database  # noqa: E402
from flightbook.kernel.relay import Relay, RelayPolicy  # noqa: E402


def through_broker(pub_url, sub_url, broker_url, events, consumers_count, relays_count=1):
    """Events/s from the first publish to the broker until the last inbox commit, and the rows applied."""
    pub, sub, applied, subscriber = setup(pub_url, sub_url)
    topology = Topology(f"fbbench-{uuid.uuid4().hex[:8]}")
    policy = ConsumerPolicy()
    consumers = [Consumer(broker_url, topology, subscriber.inbox, [TOPIC], policy) for _ in range(consumers_count)]
    consumers[0].declare()
    publish(pub, range(events))
    # each relay on its own database connection and broker connection, as in a process of its own
    relays = [Relay(open_database(pub_url), "payments", [BrokerPublisher(broker_url, topology)],
                    RelayPolicy(batch_size=100)) for _ in range(relays_count)]
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,)) for c in consumers]
    try:
        for thread in threads:
            thread.start()
        for consumer in consumers:
            consumer.consuming.wait(10)
        started = time.perf_counter()
        relaying = [threading.Thread(target=lambda r=r: r.drain(max_rounds=10_000)) for r in relays]
        for thread in relaying:
            thread.start()
        while sum(c.acked for c in consumers) < events and time.perf_counter() - started < 300:
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        for thread in relaying:
            thread.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for relay in relays:
            relay.subscribers["broker"].close()
        _delete(broker_url, topology, policy)
    count = applied.select().count()
    distinct = applied.select(applied.n).distinct().count()
    return count / elapsed, count, distinct, [c.applied for c in consumers]


def _delete(broker_url, topology, policy):
    connection = connect(broker_url)
    channel = connection.channel()
    for queue in [topology.queue("loyalty"), topology.dead_queue("loyalty")] + [
            topology.retry_queue("loyalty", d) for d in policy.retry_delays]:
        channel.queue_delete(queue)
    channel.exchange_delete(topology.exchange)
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    args = parser.parse_args()
    for backend in ("sqlite", "postgres"):
        with tempfile.TemporaryDirectory() as folder:
            pub_url, sub_url, cleanup = scratch(backend, args.pg, Path(folder))
            try:
                _, rate, count, distinct = bench_throughput(pub_url, sub_url, args.events, 1)
            finally:
                cleanup()
        print(f"{backend:8} in-process relay, 1 relay:            {rate:6.0f} events/s end to end "
              f"({count} rows for {distinct} distinct events of {args.events})")
        for relays_count, consumers_count in ((1, 1), (1, 2), (2, 2)):
            with tempfile.TemporaryDirectory() as folder:
                pub_url, sub_url, cleanup = scratch(backend, args.pg, Path(folder))
                try:
                    rate, count, distinct, shares = through_broker(pub_url, sub_url, args.broker, args.events,
                                                                   consumers_count, relays_count)
                finally:
                    cleanup()
            print(f"{backend:8} broker, {relays_count} relay(s), {consumers_count} consumer(s): {rate:6.0f} events/s "
                  f"end to end ({count} rows for {distinct} distinct events of {args.events}; per consumer {shares})")
    print(f"(run at {clock.iso(clock.now())})")


if __name__ == "__main__":
    main()
