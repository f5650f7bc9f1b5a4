"""What a module hands the wiring: its database, its in-process contract, its routes, its event
handlers and its periodic jobs. Every module builds one of these in its ``__init__.py``."""
from __future__ import annotations

import logging
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


class JobRunner:
    """Runs jobs and loops on daemon threads until stopped; a failing job run is logged and retried next
    interval, a loop that ends with an error is logged and started again."""

    restart_seconds = 5.0  # pause before a loop that failed is started again

    def __init__(self, jobs, loops=()):
        self._jobs = list(jobs)
        self._loops = list(loops)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for job in self._jobs:
            self._start(self._loop, job, f"job-{job.name}")
        for loop in self._loops:
            self._start(self._keep_running, loop, f"loop-{loop.name}")

    def _start(self, target, work, name: str) -> None:
        thread = threading.Thread(target=target, args=(work,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _keep_running(self, loop: Loop) -> None:
        while not self._stop.is_set():
            try:
                loop.run(self._stop)
            except Exception:
                log.exception("background loop %s failed; starting it again in %.0f s", loop.name,
                              self.restart_seconds)
                self._stop.wait(self.restart_seconds)

    def _loop(self, job: Job) -> None:
        while not self._stop.wait(job.interval_seconds):
            try:
                job.run()
            except Exception:
                log.exception("background job %s failed; will retry", job.name)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
