"""bench_relay.py's cross-process section: the same outbox delivered end to end by the HTTP relay and through
RabbitMQ to 1 and 2 consumer processes, on PostgreSQL, each run on fresh databases."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from common import create_scratch, drop_scratch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flightbook import MODULES  # noqa: E402
from flightbook.contracts.flights import BookingExpired  # noqa: E402
from flightbook.kernel.auth import Tokens  # noqa: E402
from flightbook.kernel.broker import BrokerPublisher, Topology, connect  # noqa: E402
from flightbook.kernel.consumer import ConsumerPolicy  # noqa: E402
from flightbook.kernel.db import open_database, write_transaction  # noqa: E402
from flightbook.kernel.outbox import Outbox, tables  # noqa: E402
from flightbook.kernel.relay import HttpSubscriber, Relay  # noqa: E402
from flightbook.modules.loyalty.handlers import TOPICS as LOYALTY_TOPICS  # noqa: E402
from tests.servers import FLIGHTBOOK, Server  # noqa: E402

SECRET, SERVICE_SECRET = "bench-secret-key-0123456789abcdef", "bench-service-secret-0123456789abcdef"


class Scratch:
    """Three fresh module databases (migrated) and their environment; ``drop`` removes them."""

    def __init__(self, pg: str, folder: Path):
        self.pg = pg
        self.names = {m: f"fbbench_relayproc_{m}" for m in MODULES}
        self.env = {"FLIGHTBOOK_HOME": str(folder), "FLIGHTBOOK_SECRET_KEY": SECRET,
                    "FLIGHTBOOK_SERVICE_SECRET": SERVICE_SECRET, "FLIGHTBOOK_LOG_LEVEL": "WARNING"}
        for module, name in self.names.items():
            self.env[f"FLIGHTBOOK_{module.upper()}_DATABASE"] = create_scratch(pg, name)
        subprocess.run([FLIGHTBOOK, "migrate"], env={**os.environ, **self.env}, cwd=ROOT, check=True,
                       capture_output=True, timeout=300)
        self.flights = open_database(self.env["FLIGHTBOOK_FLIGHTS_DATABASE"])
        self.loyalty = open_database(self.env["FLIGHTBOOK_LOYALTY_DATABASE"])

    def publish(self, events: int) -> None:
        with write_transaction(self.flights):
            Outbox(self.flights, "flights").publish_many([BookingExpired(ref="ABC234", user_id=n)
                                                          for n in range(events)])

    def applied(self) -> int:
        inbox = tables(self.loyalty).InboxEvent
        return inbox.select().where(inbox.subscriber == "loyalty").count()

    def drop(self) -> None:
        for database in (self.flights, self.loyalty):
            database.close()
        for name in self.names.values():
            drop_scratch(self.pg, name)


def deliver(scratch: Scratch, relays: list[Relay], events: int) -> float:
    """Seconds from the relays' first round until the last event is committed in loyalty's inbox (the relays
    compete for the outbox rows, each on a thread with its own connections, as in processes of their own)."""
    started = time.perf_counter()
    stop = threading.Event()

    def keep_relaying(relay):
        while not stop.is_set():
            if not relay.drain(max_rounds=1000).touched:
                stop.wait(0.01)

    threads = [threading.Thread(target=keep_relaying, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    try:
        while scratch.applied() < events:
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {scratch.applied()} of {events} applied after 10 minutes")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def over_http(scratch: Scratch, events: int) -> float:
    server = Server("loyalty", scratch.env, workers=2, log_dir=scratch.env["FLIGHTBOOK_HOME"]).start()
    try:
        tokens = Tokens(SECRET, SERVICE_SECRET, 3600, 60)
        relay = Relay(scratch.flights, "flights", [HttpSubscriber("loyalty", [server.url], LOYALTY_TOPICS, tokens,
                                                                  "flights")])
        return deliver(scratch, [relay], events)
    finally:
        server.stop()


def through_broker(scratch: Scratch, broker: str, events: int, consumers: int, relays: int = 1) -> float:
    topology = Topology(f"fbbench-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, **scratch.env, "FLIGHTBOOK_BROKER_URL": broker, "FLIGHTBOOK_BROKER_PREFIX": topology.prefix}
    folder = Path(scratch.env["FLIGHTBOOK_HOME"])
    logs = [open(folder / f"consume-{n}.log", "wb") for n in range(consumers)]
    processes = [subprocess.Popen([FLIGHTBOOK, "consume", "loyalty"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT) for log in logs]
    publishers = [BrokerPublisher(broker, topology) for _ in range(relays)]
    databases = [open_database(scratch.env["FLIGHTBOOK_FLIGHTS_DATABASE"]) for _ in range(relays)]
    try:
        wait_for_consumers(broker, topology.queue("loyalty"), consumers)
        return deliver(scratch, [Relay(db, "flights", [p]) for db, p in zip(databases, publishers)], events)
    finally:
        for publisher, database in zip(publishers, databases):
            publisher.close()
            database.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        for log in logs:
            log.close()
        delete(broker, topology)


def wait_for_consumers(broker: str, queue: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connection = connect(broker)
        try:
            if connection.channel().queue_declare(queue, passive=True).method.consumer_count >= count:
                return
        except Exception:
            pass  # not declared yet
        finally:
            if connection.is_open:
                connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"{count} consumers never attached to {queue}")


def delete(broker: str, topology: Topology) -> None:
    connection = connect(broker)
    try:
        channel = connection.channel()
        for queue in [topology.queue("loyalty"), topology.dead_queue("loyalty")] + [
                topology.retry_queue("loyalty", d) for d in ConsumerPolicy().retry_delays]:
            channel.queue_delete(queue)
        channel.exchange_delete(topology.exchange)
    finally:
        connection.close()


def across_processes(events: int, pg: str, broker: str) -> None:
    import tempfile

    runs = [("HTTP relay -> serve loyalty (2 workers)", lambda s: over_http(s, events))]
    runs += [(f"broker -> {n} consume process{'es' if n > 1 else ''}",
              lambda s, n=n: through_broker(s, broker, events, n)) for n in (1, 2)]
    # the publisher waits for each confirm: relays of several instances publish side by side
    runs += [("2 relays, broker -> 2 consume processes", lambda s: through_broker(s, broker, events, 2, relays=2))]
    for label, run in runs:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Scratch(pg, Path(folder))
            try:
                scratch.publish(events)
                seconds = run(scratch)
                applied = scratch.applied()
            finally:
                scratch.drop()
        print(f"postgres across processes, {label:<40} {applied / seconds:6.0f} events/s end to end "
              f"({applied} of {events} applied in {seconds:.1f} s)")
