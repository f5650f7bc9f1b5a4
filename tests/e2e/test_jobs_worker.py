"""`flightbook serve` runs its background work in one worker of its own that takes no requests, at a lower
priority; gunicorn replaces it when it dies, and the replacement takes the work over (issue 22: background
bursts in a request worker doubled a journey's latency)."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from flightbook.kernel.server import JOBS_NICENESS
from tests.e2e.deployments import Deployment, eventually
from tests.e2e.test_journey import Traveller, earned, paid_trip
from tests.mailkit import MailServer
from tests.servers import FLIGHTBOOK, ROOT, free_port

pytestmark = pytest.mark.slow


def workers(master: int) -> dict[int, int]:
    """The master's children: pid -> niceness."""
    pids = [int(p) for task in os.listdir(f"/proc/{master}/task")
            for p in open(f"/proc/{master}/task/{task}/children").read().split()]
    return {pid: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16]) for pid in pids}


def jobs_workers(master: int) -> list[int]:
    return [pid for pid, nice in workers(master).items() if nice == JOBS_NICENESS]


def listens(pid: int, port: int) -> bool:
    """Whether ``pid`` holds a socket listening on ``port`` (from /proc/net/tcp and its descriptors)."""
    inodes = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(fields[9])
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return any(f"socket:[{inode}]" in held for inode in inodes)


@pytest.fixture(scope="module")
def served(tmp_path_factory, worker):
    running = Deployment("one_process", tmp_path_factory.mktemp("jobs"), f"jobs_{worker}").start()
    yield running
    running.stop()


def book_and_pay(served) -> tuple[Traveller, dict]:
    traveller, booking, _ = paid_trip(served.url, days_ahead=2)
    return traveller, booking


def test_one_worker_runs_the_background_and_takes_no_connections(served):
    server = served.servers["gateway"]
    master = server.process.pid
    assert len(workers(master)) == server.workers + 1
    [jobs] = jobs_workers(master)
    serving = [pid for pid in workers(master) if pid != jobs]
    assert not listens(jobs, server.port) and all(listens(pid, server.port) for pid in serving)
    traveller, booking = book_and_pay(served)  # the points come by event: the background runs
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=30)


def test_a_killed_jobs_worker_is_replaced_and_its_successor_delivers_the_events(served):
    master = served.servers["gateway"].process.pid
    [jobs] = jobs_workers(master)
    os.kill(jobs, signal.SIGKILL)
    successor = eventually(lambda: [pid for pid in jobs_workers(master) if pid != jobs], timeout=30)
    assert len(successor) == 1 and len(workers(master)) == served.servers["gateway"].workers + 1
    assert requests.get(served.url + "/health", timeout=5).status_code == 200
    traveller, booking = book_and_pay(served)
    expected = earned(booking["total"]["amount"], booking["total"]["currency"])
    eventually(lambda: traveller.account()["balance"] == expected, timeout=30)


def test_in_four_services_the_mail_an_event_asks_for_is_sent_at_once_by_the_jobs_worker(tmp_path, worker):
    """PaymentSucceeded reaches flights over HTTP, in a request worker; the confirmation mail (a PDF to render)
    is sent by flights' jobs worker, rung through the doorbell, long before its mail job's interval."""
    mail = MailServer(track_senders=True).start()
    deployment = Deployment("four_services", tmp_path, f"doorbell_{worker}", FLIGHTBOOK_SMTP_URL=mail.url,
                            FLIGHTBOOK_MAIL_INTERVAL_SECONDS=600)
    try:
        deployment.start()
        traveller, booking = book_and_pay(deployment)
        started = time.monotonic()
        (received,) = eventually(lambda: [m for m in list(mail.received)
                                          if m.message["X-Flightbook-Booking"] == booking["ref"]], timeout=30)
        assert time.monotonic() - started < 15
        assert received.sender_pid in jobs_workers(deployment.servers["flights"].process.pid)
    finally:
        deployment.stop()
        mail.stop()


def test_without_background_there_is_no_jobs_worker(tmp_path):
    port = free_port()
    env = {**os.environ, "FLIGHTBOOK_HOME": str(tmp_path)}
    server = subprocess.Popen([FLIGHTBOOK, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                               "--no-background"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=60)
        assert eventually(lambda: len(workers(server.pid)) == 2) and jobs_workers(server.pid) == []
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
