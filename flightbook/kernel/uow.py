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

import peewee

from flightbook.kernel.db import connection, write_transaction
from flightbook.kernel.events import Event
from flightbook.kernel.outbox import Outbox


class UnitOfWork:
    def __init__(self, database: peewee.Database | peewee.DatabaseProxy, source: str):
        self.database = database
        self.outbox = Outbox(database, source)

    def transaction(self) -> contextlib.AbstractContextManager:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, see ``kernel.db.write_transaction``)."""
        return write_transaction(self.database)

    def connection(self) -> contextlib.AbstractContextManager:
        """One connection held for the block, for work made of several transactions."""
        return connection(self.database)

    def publish(self, event: Event) -> str:
        """Record ``event`` in the outbox; inside ``transaction()``, with the change it reports."""
        return self.outbox.publish(event)

    @property
    def is_postgres(self) -> bool:
        return isinstance(getattr(self.database, "obj", self.database), peewee.PostgresqlDatabase)
