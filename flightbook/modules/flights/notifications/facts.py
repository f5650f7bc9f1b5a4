"""Figures about a booking that its owners publish — what the card paid and got back (flights, payments),
the points redeemed, earned, returned and taken back (loyalty) — kept as they were said, once per event,
for the messages that quote them. Notifications work none of them out."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from flightbook.kernel import clock
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Statement
from flightbook.modules.flights.notifications.models import NotificationFact

# every confirmed booking records a fact or two and reads them back: written once (peewee's query building was
# most of these handlers' CPU)
_RECORD = Statement("notification_fact_record", lambda d: """INSERT INTO notification_fact
    (event_id, booking_ref, kind, payload, recorded_at) VALUES ({event_id}, {booking_ref}, {kind}, {payload}, {now})
    ON CONFLICT DO NOTHING""")
_FACTS_OF = Statement("notification_facts_of", lambda d: """SELECT kind, payload FROM notification_fact
    WHERE booking_ref = {booking_ref} ORDER BY id""")


class FactKind(StrEnum):
    CARD_PAID = "card_paid"  # flights' booking.confirmed: {payment_id, paid}
    POINTS_SETTLED = "points_settled"  # loyalty's booking_settled: {earned, redeemed, redeemed_value}
    CARD_REFUNDED = "card_refunded"  # payments' payment.refunded: {payment_id, refund_id, amount, refunded_total}
    POINTS_REVERSED = "points_reversed"  # loyalty's booking_reversed: {taken_back, returned}


@dataclass(frozen=True)
class PointsSettled:
    earned: int
    redeemed: int
    redeemed_value: Money | None


@dataclass(frozen=True)
class PointsReversed:
    taken_back: int
    returned: int


@dataclass(frozen=True)
class BookingFacts:
    payment_id: str | None = None
    card_paid: Money | None = None  # None: the confirming payment did not say
    points: PointsSettled | None = None
    #: payment id -> what has been refunded of it in all (payments' running total)
    refunded: dict[str, Money] = field(default_factory=dict)
    reversal: PointsReversed | None = None


def record(event_id: str, booking_ref: str, kind: FactKind, payload: dict) -> bool:
    """Keep one fact (inside the event's inbox transaction); False if this event's fact is already here."""
    return _RECORD.run(NotificationFact._meta.database, event_id=event_id, booking_ref=booking_ref, kind=kind,
                       payload=json.dumps(payload, sort_keys=True), now=clock.to_db(clock.now())).rowcount == 1


def _money(value: dict | None) -> Money | None:
    return Money.from_dict(value) if value else None


def facts_of(booking_ref: str) -> BookingFacts:
    """Everything known about a booking's money and points, in the order it was recorded."""
    payment_id, card_paid, points, reversal = None, None, None, None
    refunded: dict[str, Money] = {}
    for kind, payload in _FACTS_OF.rows(NotificationFact._meta.database, booking_ref=booking_ref):
        said = json.loads(payload)
        if kind == FactKind.CARD_PAID:
            payment_id, card_paid = said["payment_id"], _money(said.get("paid"))
        elif kind == FactKind.POINTS_SETTLED:
            points = PointsSettled(said["earned"], said["redeemed"], _money(said.get("redeemed_value")))
        elif kind == FactKind.CARD_REFUNDED:
            total = Money.from_dict(said["refunded_total"])
            known = refunded.get(said["payment_id"])
            # refunds may arrive in any order: the largest running total is the latest
            if known is None or total.amount > known.amount:
                refunded[said["payment_id"]] = total
        elif kind == FactKind.POINTS_REVERSED:
            reversal = PointsReversed(said["taken_back"], said["returned"])
    return BookingFacts(payment_id=payment_id, card_paid=card_paid, points=points, refunded=refunded,
                        reversal=reversal)
