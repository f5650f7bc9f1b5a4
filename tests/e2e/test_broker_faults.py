"""Four services with two instances of each module, the events through RabbitMQ, on PostgreSQL, and real
processes failing: a consumer killed with SIGKILL inside its transaction, the broker restarted in the middle
of a run, an event whose handler keeps failing. Nothing is lost and nothing is applied twice."""
from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import threading
from urllib.parse import urlsplit

import psycopg2
import pytest

from tests.e2e.deployments import BROKER_RETRY_DELAYS, Deployment, eventually
from tests.e2e.test_journey import Traveller, earned
from tests.preflight import PG_ADMIN
from tests.servers import FLIGHTBOOK, ROOT, Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["four_services_broker"])
def deployment(request, tmp_path_factory, worker):
    running = Deployment(request.param, tmp_path_factory.mktemp("broker-faults"), f"bfaults_{worker}").start()
    yield running
    running.stop()


def _flight(traveller) -> dict:
    date = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    return traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK",
                                                             "date": date})["outbound"][0]


def paid_booking(traveller) -> dict:
    booking = traveller.book(_flight(traveller)["id"], 1)
    _, paid = traveller.pay(booking["ref"])
    assert paid["status"] == "succeeded"
    return booking


def earns(traveller, ref: str) -> list[int]:
    """The EARN entries of ``ref`` in the traveller's points history."""
    history = traveller.call("GET", f"/loyalty/history/{traveller.user_id}", params={"per_page": 100})
    return [t["points"] for t in history["transactions"] if t["booking_ref"] == ref and t["kind"] == "EARN"]


def restart(server: Server, faults: str = "") -> None:
    server.stop()
    server.env = {**server.env, "FLIGHTBOOK_FAULT_POINTS": faults}
    server.start()


def flightbook(deployment, *args: str) -> subprocess.CompletedProcess:
    """A command run where every module's database and the broker are reachable (an operator's shell)."""
    return subprocess.run([FLIGHTBOOK, *args], cwd=ROOT, env={**os.environ, **deployment.env}, capture_output=True,
                          text=True, timeout=120)


def sql(deployment, module: str, query: str):
    url = deployment.env[f"FLIGHTBOOK_{module.upper()}_DATABASE"]
    conn = psycopg2.connect(PG_ADMIN.rsplit("/", 1)[0] + urlsplit(url).path)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


def waiting_inside_a_transaction(deployment, module: str) -> bool:
    database = urlsplit(deployment.env[f"FLIGHTBOOK_{module.upper()}_DATABASE"]).path.lstrip("/")
    return bool(sql(deployment, module, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                        f"'{database}' AND state = 'idle in transaction'")[0][0])


def test_consumer_killed_inside_its_transaction_applies_the_event_once_after_a_restart(deployment):
    first, second = deployment.servers["loyalty"], deployment.servers["loyalty-2"]
    traveller = Traveller(deployment.url).sign_up()
    booking = traveller.book(_flight(traveller)["id"], 1)
    second.stop()
    restart(first, "loyalty.event_applied=sleep:600")  # stalls with the points written, not committed
    try:
        traveller.pay(booking["ref"])
        eventually(lambda: waiting_inside_a_transaction(deployment, "loyalty"), timeout=60)
        os.killpg(first.process.pid, signal.SIGKILL)  # kill -9: master and worker, no clean-up at all
        first.process.wait(timeout=30)
    finally:
        restart(first)
        second.start()
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=60)
    assert earns(traveller, booking["ref"]) == [expected]


def test_broker_restarted_mid_run_loses_no_event_and_applies_none_twice(deployment, restartable_broker):
    travellers = [Traveller(deployment.url).sign_up() for _ in range(3)]
    bookings: list[tuple[Traveller, dict]] = []
    errors: list[BaseException] = []

    def pay_meanwhile():
        try:
            for traveller in travellers:
                bookings.append((traveller, paid_booking(traveller)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    bookings += [(t, paid_booking(t)) for t in travellers[:2]]  # before
    during = threading.Thread(target=pay_meanwhile)
    during.start()
    restartable_broker(3.0)
    during.join(timeout=120)
    bookings += [(t, paid_booking(t)) for t in travellers]  # after: the same processes, reconnected
    assert errors == []

    for traveller in travellers:
        mine = [b for t, b in bookings if t is traveller]
        expected = sum(earned(b["total"]["amount"], b["total"]["currency"]) for b in mine)
        eventually(lambda: traveller.account()["balance"] == expected, timeout=90)
        assert all(len(earns(traveller, b["ref"])) == 1 for b in mine)  # nothing applied twice
    logs = "".join(deployment.servers[name].log_path.read_text() for name in ("loyalty", "loyalty-2"))
    assert "consumer lost" in logs  # the consumers saw the broker go and came back by themselves
    assert sql(deployment, "flights", "SELECT DISTINCT subscriber, status FROM outbox_delivery") == [
        ("broker", "delivered")]
    listed = flightbook(deployment, "events")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^loyalty on the broker \(\S+\): 0 dead$", listed.stdout, re.M), listed.stdout


def test_poisoned_event_is_dead_lettered_listed_and_applied_after_the_fix(deployment):
    instances = [deployment.servers["loyalty"], deployment.servers["loyalty-2"]]
    traveller = Traveller(deployment.url).sign_up()
    for server in instances:
        restart(server, "loyalty.event_applied=raise")  # a bug in loyalty's handling of every event
    try:
        booking = paid_booking(traveller)

        def dead_letter():
            listed = flightbook(deployment, "events")
            return re.search(r"^  dead (\S+) booking.confirmed -> loyalty after (\d+) attempts: (.*)$",
                             listed.stdout, re.M)

        dead = eventually(dead_letter, timeout=60, interval=1)
        assert int(dead.group(2)) == len(BROKER_RETRY_DELAYS) + 1
        assert dead.group(3) == "FaultInjected: fault point loyalty.event_applied"
        assert traveller.account()["balance"] == 0
    finally:
        for server in instances:
            restart(server)  # the fix
    retried = flightbook(deployment, "events", "--retry", dead.group(1))
    assert retried.returncode == 0 and f"re-queued 1 dead delivery of event {dead.group(1)}" in retried.stdout
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=60)
    assert earns(traveller, booking["ref"]) == [expected]
    assert "booking.confirmed -> loyalty" not in flightbook(deployment, "events").stdout
