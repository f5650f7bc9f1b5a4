"""The jobs worker's doorbell: a request worker that applies an event delivered over HTTP leaves the follow-up
a background job also does (flights' confirmation mail) to that job, in the jobs worker, and rings it so it runs
at once instead of at its interval. Real pipes across a real fork; real inboxes on both databases."""
from __future__ import annotations

import os
import threading
import time
import uuid

from flightbook.kernel.inbox import Inbox
from flightbook.kernel.outbox import Message
from flightbook.kernel.part import Doorbell, Job, JobRunner, by_job
from tests.kernel.eventkit import TOPIC


def ran_within(event: threading.Event, seconds: float) -> bool:
    return event.wait(seconds)


def test_a_ring_from_another_process_runs_the_job_at_once_and_only_that_job():
    doorbell = Doorbell()
    mail_ran, other_ran = threading.Event(), threading.Event()
    runner = JobRunner([Job("send-mail", 600, mail_ran.set), Job("expire-holds", 600, other_ran.set)],
                       doorbell=doorbell)
    runner.start()
    try:
        child = os.fork()
        if child == 0:  # a request worker, forked like gunicorn's after the doorbell was made
            doorbell.ring("send-mail")
            doorbell.ring("no-such-job")
            os._exit(0)
        os.waitpid(child, 0)
        assert ran_within(mail_ran, 5)
        assert not other_ran.is_set()
    finally:
        runner.stop()


def test_a_ring_while_the_job_runs_runs_it_once_more_and_a_burst_runs_it_once():
    doorbell = Doorbell()
    runs, first_started, release = [], threading.Event(), threading.Event()

    def job():
        runs.append(time.monotonic())
        first_started.set()
        release.wait(5)

    runner = JobRunner([Job("send-mail", 600, job)], doorbell=doorbell)
    runner.start()
    try:
        doorbell.ring("send-mail")
        assert first_started.wait(5)
        for _ in range(5):  # five rings while it runs: one more run, not five
            doorbell.ring("send-mail")
        time.sleep(0.3)
        release.set()
        deadline = time.monotonic() + 5
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(runs) == 2
    finally:
        release.set()
        runner.stop()


def test_stopping_ends_jobs_waiting_for_a_long_interval_at_once():
    runner = JobRunner([Job("send-mail", 600, lambda: None)], doorbell=Doorbell())
    runner.start()
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 2


def message() -> Message:
    return Message(event_id=str(uuid.uuid4()), topic=TOPIC, source="payments", payload={"n": 1})


def test_an_event_received_with_a_doorbell_leaves_a_jobs_follow_up_to_the_job(loyalty_db):
    done: list[str] = []
    doorbell = Doorbell()
    inbox = Inbox(loyalty_db, "loyalty", {TOPIC: lambda event: by_job("send-mail", lambda: done.append("mail"))})
    assert inbox.receive(message(), doorbell) is True
    assert done == []  # not in this (request) worker...
    assert os.read(doorbell._read, 100) == b"send-mail\n"  # ...the jobs worker is rung for it
    assert inbox.receive(message()) is True  # no doorbell (no jobs worker, or the jobs worker itself): here
    assert done == ["mail"]


def test_a_follow_up_no_job_does_still_runs_where_the_event_is_received(loyalty_db):
    done: list[str] = []
    inbox = Inbox(loyalty_db, "loyalty", {TOPIC: lambda event: lambda: done.append("refund")})
    assert inbox.receive(message(), Doorbell()) is True
    assert done == ["refund"]
