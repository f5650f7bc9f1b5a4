"""Serving a WSGI app under gunicorn from inside our own CLI (no second config file to keep in step)."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    """``app_factory`` is called in each worker after fork, so every worker opens its own connections;
    ``on_worker_start()`` runs there too (background jobs), and ``on_worker_exit()`` as the worker ends."""

    def __init__(self, app_factory, options: dict, on_worker_start=None, on_worker_exit=None):
        self._app_factory = app_factory
        self._options = options
        self._on_worker_start = on_worker_start
        self._on_worker_exit = on_worker_exit
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        if self._on_worker_start is not None:
            hook = self._on_worker_start
            self.cfg.set("post_worker_init", lambda worker: hook())
        if self._on_worker_exit is not None:
            done = self._on_worker_exit
            self.cfg.set("worker_exit", lambda server, worker: done())

    def load(self):
        return self._app_factory()
