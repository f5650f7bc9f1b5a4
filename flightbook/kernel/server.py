"""Serving a WSGI app under gunicorn from inside our own CLI (no second config file to keep in step).

Background work (the event relays, the sweeper, mail, consumers) runs in a worker of its own, which takes no
requests: in the same process it would hold the GIL in bursts (a relay round delivers a second's events at
once, a confirmation mail renders a PDF) while a request thread waits up to the interpreter's switch interval
after every database round trip. Measured on one process serving journeys one at a time, moving it out halved
the journey's p50 (bench/bench_services.py); running it at a lower priority keeps it from competing with
requests for the CPUs too. gunicorn supervises that worker like the others: one that dies
is replaced, and the replacement takes the jobs over."""
from __future__ import annotations

import os
import select

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker


#: where each worker's heartbeat file lives when the machine has it: a worker touches the file on every turn of
#: its loop (twice a request), in memory there rather than on /tmp's disk (gunicorn's own advice)
SHARED_MEMORY = "/dev/shm"


class GunicornServer(BaseApplication):
    """``app_factory`` is called in each worker after fork, so every worker opens its own connections.
    With ``on_worker_start`` (background jobs), one worker more than ``workers`` is started: the jobs
    worker, which closes its copy of the listening sockets and runs ``on_worker_start()``.
    ``on_worker_exit()`` runs in every worker as it ends."""

    def __init__(self, app_factory, options: dict, on_worker_start=None, on_worker_exit=None):
        self._app_factory = app_factory
        self._options = options
        self._on_worker_start = on_worker_start
        self._on_worker_exit = on_worker_exit
        super().__init__()

    def load_config(self):
        if os.path.isdir(SHARED_MEMORY) and os.access(SHARED_MEMORY, os.W_OK):
            self.cfg.set("worker_tmp_dir", SHARED_MEMORY)
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        if self.cfg.worker_class is ThreadWorker:
            self.cfg.set("worker_class", LingeringThreadWorker)
        if self._on_worker_exit is not None:
            done = self._on_worker_exit
            self.cfg.set("worker_exit", lambda server, worker: done())
        if self._on_worker_start is not None:
            start = self._on_worker_start
            self.cfg.set("workers", self.cfg.workers + 1)
            self.cfg.set("pre_fork", _choose_jobs_worker)
            self.cfg.set("post_fork", _become_jobs_worker)
            self.cfg.set("post_worker_init", lambda worker: start() if is_jobs_worker(worker) else None)

    def load(self):
        return self._app_factory()


def is_jobs_worker(worker) -> bool:
    return getattr(worker, "flightbook_jobs", False)


def _choose_jobs_worker(server, worker) -> None:
    """In the master, before each fork: the new worker takes the jobs when no living worker has them (at
    start, or after the jobs worker died or was recycled)."""
    worker.flightbook_jobs = not any(is_jobs_worker(w) for w in server.WORKERS.values())


#: the jobs worker's niceness: when the CPUs are all busy, requests (and the database) go first and the
#: background work, which nobody waits for, catches up in the gaps
JOBS_NICENESS = 10


def _become_jobs_worker(server, worker) -> None:
    """In the jobs worker, after fork: no listening socket, so it never accepts a connection; a lower
    scheduling priority than the request workers."""
    if is_jobs_worker(worker):
        for listener in worker.sockets:
            listener.close()
        worker.sockets = []
        os.nice(JOBS_NICENESS)
        server.log.info("worker %s runs the background jobs (nice %d) and serves no requests", worker.pid,
                        JOBS_NICENESS)


class LingeringThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, except that the thread which answered a kept-alive connection waits up to
    ``LINGER_SECONDS`` for that client's next request and answers it too, while the worker holds no more
    connections than threads (so no other connection waits for the thread meanwhile). gunicorn's own worker
    hands every request over twice: its main loop's poller sees it and gives the connection to a pool thread,
    which gives it back to the poller when it has answered; a traveller's journey is requests one after the
    other on one connection, each following the last answer within a millisecond or two. Measured on a bare
    Falcon endpoint: 0.46 -> 0.36 ms CPU per request. It leans on gunicorn 27's ``handle``, which returns
    whether the connection stays open (tests/kernel/test_server_config.py); gunicorn 22-26 return a tuple, which
    makes this worker behave exactly as theirs."""

    LINGER_SECONDS = 0.002

    def handle(self, conn):
        while True:
            keepalive = super().handle(conn)
            if keepalive is not True or not self.alive or self.nr_conns > self.cfg.threads:
                return keepalive
            if not conn.parser.unreader.buf.getvalue() and not _readable(conn.sock, self.LINGER_SECONDS):
                return keepalive  # to the poller, as gunicorn's worker does at once


def _readable(sock, seconds: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(seconds * 1000))
