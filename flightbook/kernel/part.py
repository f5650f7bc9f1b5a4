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
    """Runs jobs on daemon threads until stopped; a failing run is logged and retried next interval."""

    def __init__(self, jobs):
        self._jobs = list(jobs)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for job in self._jobs:
            thread = threading.Thread(target=self._loop, args=(job,), name=f"job-{job.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

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
