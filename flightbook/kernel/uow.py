"""What a use case touches: its module's database and outbox, handed to it rather than reached for.

A module's service builds one ``UnitOfWork`` from the database the wiring opened and passes it to every
use case, as cosmicpython's handlers are passed theirs:

    def confirm_booking(uow: UnitOfWork, ref: str, ...) -> BookingView:
        with uow.transaction():
            ...                                    # the state change
            uow.publish(BookingConfirmed(...))     # same transaction: both commit or neither does
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from typing import Callable

import peewee

from flightbook.kernel.db import connection, write_transaction
from flightbook.kernel.events import Event
from flightbook.kernel.outbox import Outbox


log = logging.getLogger("flightbook.uow")
#: what runs once the outermost ``uow.transaction()`` of this thread (or task) has committed
_after_commit: contextvars.ContextVar[list | None] = contextvars.ContextVar("after_commit", default=None)


class _Transaction:
    """``write_transaction`` that runs the callbacks ``after_commit`` gathered once the outermost one committed
    (and drops them if it rolled back)."""

    __slots__ = ("_inner", "_token")

    def __init__(self, inner):
        self._inner = inner
        self._token = None

    def __enter__(self):
        if _after_commit.get() is None:
            self._token = _after_commit.set([])
        return self._inner.__enter__()

    def __exit__(self, exc_type, exc, tb):
        callbacks = _after_commit.get() if self._token is not None else None
        try:
            return self._inner.__exit__(exc_type, exc, tb)
        finally:
            if self._token is not None:
                _after_commit.reset(self._token)
                if exc_type is None and callbacks:
                    _run(callbacks)


def _run(callbacks) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # counting must never undo or fail a use case that committed
            log.exception("an after-commit callback failed")


class UnitOfWork:
    """``observe(event)``: called for each event published, once its transaction committed (the module's
    business counters, see ``modules/<m>/metrics.py``)."""

    def __init__(self, database: peewee.Database | peewee.DatabaseProxy, source: str,
                 observe: Callable[[Event], None] | None = None):
        self.database = database
        self.outbox = Outbox(database, source)
        self.observe = observe

    def transaction(self) -> contextlib.AbstractContextManager:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, see ``kernel.db.write_transaction``)."""
        return _Transaction(write_transaction(self.database))

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the transaction in progress has committed (now, outside one)."""
        pending = _after_commit.get()
        if pending is None:
            _run([callback])
        else:
            pending.append(callback)

    def connection(self) -> contextlib.AbstractContextManager:
        """One connection held for the block, for work made of several transactions."""
        return connection(self.database)

    def publish(self, event: Event) -> str:
        """Record ``event`` in the outbox; inside ``transaction()``, with the change it reports."""
        event_id = self.outbox.publish(event)
        if self.observe is not None:
            observe = self.observe
            self.after_commit(lambda: observe(event))
        return event_id

    def publish_many(self, events: list[Event]) -> int:
        """Record many events at once (``Outbox.publish_many``); observed as ``publish`` does."""
        count = self.outbox.publish_many(events)
        if self.observe is not None and events:
            observe = self.observe
            self.after_commit(lambda: [observe(event) for event in events])
        return count

    @property
    def is_postgres(self) -> bool:
        return isinstance(getattr(self.database, "obj", self.database), peewee.PostgresqlDatabase)
