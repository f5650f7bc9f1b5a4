"""The admin console's reads in payments: a booking's or a traveller's payments, and declines by code."""
from __future__ import annotations

import datetime as dt
from typing import Any

import peewee as pw

from flightbook.contracts.payments import DeclineCount, PaymentStatus, PaymentView
from flightbook.kernel import clock
from flightbook.modules.payments.ledger import payment_view
from flightbook.modules.payments.models import Payment, Refund

MAX_ROWS = 100


def payments(booking_ref: str | None, user_id: int | None) -> list[PaymentView]:
    query = Payment.select()
    if booking_ref is not None:
        query = query.where(Payment.booking_ref == booking_ref)
    if user_id is not None:
        query = query.where(Payment.user_id == user_id)
    rows = list(query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(MAX_ROWS))
    refunds: dict[str, list[Refund]] = {}
    if rows:
        for refund in (Refund.select().where(Refund.payment_id.in_([p.id for p in rows]))
                       .order_by(Refund.created_at, Refund.id)):
            refunds.setdefault(refund.payment_id, []).append(refund)
    return [payment_view(p, refunds.get(p.id, [])) for p in rows]


def declines(since: dt.datetime) -> list[DeclineCount]:
    rows: Any = (Payment.select(Payment.failure_code, pw.fn.COUNT(Payment.id))
            .where((Payment.status == PaymentStatus.FAILED) & (Payment.created_at >= clock.to_db(since)))
            .group_by(Payment.failure_code).tuples())
    return sorted((DeclineCount(code=code or "unknown", count=n) for code, n in rows),
                  key=lambda d: (-d.count, d.code))
