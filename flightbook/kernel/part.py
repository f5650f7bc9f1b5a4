"""What a module hands the wiring: its database, its in-process contract, its routes, its event
handlers and its periodic jobs. Every module builds one of these in its ``__init__.py``."""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

log = logging.getLogger("flightbook.jobs")


@dataclass(frozen=True)
class Job:
    """A periodic piece of work run in the background by a serving process (e.g. the hold sweeper)."""
    name: str
    interval_seconds: float
    run: Callable[[], object]


@dataclass(frozen=True)
class Loop:
    """Long-lived background work that runs until told to stop (an event consumer): ``run(stop)`` returns
    once ``stop`` is set."""
    name: str
    run: Callable[[threading.Event], object]


Service = TypeVar("Service")


@dataclass
class Part(Generic[Service]):
    name: str
    database: object | None = None
    #: the module's service: its contract for the other parts (and its admin interface for the CLI)
    contract: Service | None = None
    add_routes: Callable = lambda app: None
    event_handlers: dict = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)


def by_job(job_name: str, follow_up: Callable[[], object]) -> Callable[[], object]:
    """Mark an event handler's follow-up as work the background job ``job_name`` also does (flights' mail
    job sends every message due): where a jobs worker runs beside the request workers, an event delivered
    over HTTP rings that job's doorbell instead of doing the work in the request worker (see Doorbell)."""
    follow_up.background_job = job_name  # type: ignore[attr-defined]
    return follow_up


class Doorbell:
    """Wakes a background job in the jobs worker from a request worker of the same ``flightbook serve``: a
    pipe made in the gunicorn master before it forks, so every worker holds both ends; request workers write
    a job's name, the jobs worker's JobRunner reads it and runs that job at once instead of at its next
    interval.

    Why: an event another part delivers over HTTP is handled in a request worker, and its follow-up (the
    confirmation mail with its PDF ticket: ~10 ms of CPU holding the GIL) would run there too, between the
    requests travellers are waiting on, at full priority; in one process the same work runs in the jobs
    worker, at nice 10. A ring that finds the pipe full (the jobs worker being replaced) is dropped: the job
    still runs at its interval."""

    def __init__(self):
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def ring(self, job_name: str) -> None:
        try:
            os.write(self._write, job_name.encode() + b"\n")  # under PIPE_BUF: written whole or not at all
        except BlockingIOError:
            log.warning("doorbell of job %s not rung (pipe full): it runs at its interval", job_name)

    def listen(self, ring: Callable[[str], None], stop: threading.Event) -> None:
        """In the jobs worker: call ``ring(job_name)`` for every ring until ``stop`` is set."""
        pending = b""
        while not stop.is_set():
            chunk = os.read(self._read, 4096)
            pending += chunk
            *names, pending = pending.split(b"\n")
            for name in dict.fromkeys(names):  # several rings of one job in a burst: one run
                ring(name.decode(errors="replace"))


class JobRunner:
    """Runs jobs and loops on daemon threads until stopped; a failing job run is logged and retried next
    interval, a loop that ends with an error is logged and started again. With a ``doorbell``, a job also
    runs as soon as a request worker rings for it."""

    restart_seconds = 5.0  # pause before a loop that failed is started again

    def __init__(self, jobs, loops=(), doorbell: Doorbell | None = None):
        self._jobs = list(jobs)
        self._loops = list(loops)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._doorbell = doorbell
        #: job name -> set when its doorbell rang (or to stop): the job's wait ends at once
        self._wake = {job.name: threading.Event() for job in self._jobs}

    def start(self) -> None:
        for job in self._jobs:
            self._start(self._loop, job, f"job-{job.name}")
        for loop in self._loops:
            self._start(self._keep_running, loop, f"loop-{loop.name}")
        if self._doorbell is not None:
            self._start(self._doorbell.listen, self._rang, self._stop, "doorbell")

    def _start(self, target, *args) -> None:
        *work, name = args
        thread = threading.Thread(target=target, args=tuple(work), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _rang(self, job_name: str) -> None:
        wake = self._wake.get(job_name)
        if wake is not None:
            wake.set()

    def _keep_running(self, loop: Loop) -> None:
        while not self._stop.is_set():
            try:
                loop.run(self._stop)
            except Exception:
                log.exception("background loop %s failed; starting it again in %.0f s", loop.name,
                              self.restart_seconds)
                self._stop.wait(self.restart_seconds)

    def _loop(self, job: Job) -> None:
        wake = self._wake[job.name]
        while True:
            wake.wait(job.interval_seconds)
            wake.clear()  # a ring while the job runs makes it run once more right after
            if self._stop.is_set():
                return
            try:
                job.run()
            except Exception:
                log.exception("background job %s failed; will retry", job.name)

    def stop(self) -> None:
        self._stop.set()
        for wake in self._wake.values():
            wake.set()
        for thread in self._threads:
            if thread.name != "doorbell":  # blocked reading the pipe: a daemon thread, gone with the process
                thread.join(timeout=5)
