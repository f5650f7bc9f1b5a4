"""Leases on recorded charges and refunds: who may call the provider about one right now.

A row still open (a charge ``processing``, a refund ``pending``) belongs to the request that recorded it
until ``lease_expires_at``; a request that stops waiting without an answer lets go at once; past the
lease, a retry with the same key or the reconciler takes it over — one of them at a time."""
from __future__ import annotations

import datetime as dt

from flightbook.kernel import clock
from flightbook.kernel.uow import UnitOfWork


class Leases:
    def __init__(self, model, open_status: str):
        self.model = model
        self.open_status = open_status

    def _open(self, row_id: str):
        return (self.model.id == row_id) & (self.model.status == self.open_status)

    def let_go(self, uow: UnitOfWork, row_id: str) -> None:
        with uow.transaction():
            self.model.update(lease_expires_at=clock.to_db(clock.now())).where(self._open(row_id)).execute()

    def take_over(self, uow: UnitOfWork, row_id: str, leased_before: dt.datetime, lease_seconds: float) -> bool:
        """Claim an open row whose lease ends by ``leased_before``, for a new lease."""
        renewed = clock.to_db(clock.now() + dt.timedelta(seconds=lease_seconds))
        with uow.transaction():
            return bool(self.model.update(lease_expires_at=renewed).where(
                self._open(row_id) & (self.model.lease_expires_at <= clock.to_db(leased_before))).execute())

    def unfinished(self, leased_before: dt.datetime | None = None, limit: int = 500) -> list:
        """Open rows, oldest first (with ``leased_before``: only those whose lease ends by then)."""
        query = self.model.select().where(self.model.status == self.open_status)
        if leased_before is not None:
            query = query.where(self.model.lease_expires_at <= clock.to_db(leased_before))
        return list(query.order_by(self.model.created_at).limit(limit))

    def reconciled_count(self) -> int:
        return self.model.select().where(self.model.reconciled_at.is_null(False)).count()
