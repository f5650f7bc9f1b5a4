"""The booking rules a business may tune: how long a hold lasts, what a cancellation refunds, the
connection rules an itinerary must keep to be booked (the search's own) and the fare rules it is priced by."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flightbook.kernel.money import Money
from flightbook.modules.flights.catalogue.connections import ConnectionRules
from flightbook.modules.flights.catalogue.pricing import FareRules


@dataclass(frozen=True)
class BookingRules:
    hold_minutes: int = 15
    refund_cutoff_hours: int = 24
    late_refund_percent: int = 0
    connections: ConnectionRules = field(default_factory=ConnectionRules)
    fares: FareRules = field(default_factory=FareRules)

    def __post_init__(self):
        if self.hold_minutes < 0 or self.refund_cutoff_hours < 0:
            raise ValueError("hold_minutes and refund_cutoff_hours cannot be negative")
        if not 0 <= self.late_refund_percent <= 100:
            raise ValueError("late_refund_percent must be between 0 and 100")

    @classmethod
    def from_settings(cls, settings) -> "BookingRules":
        return cls(settings.hold_minutes, settings.refund_cutoff_hours, settings.late_refund_percent,
                   ConnectionRules.from_settings(settings), FareRules.from_settings(settings))

    def hold_expires_at(self, held_at: dt.datetime) -> dt.datetime:
        return held_at + dt.timedelta(minutes=self.hold_minutes)

    def full_refund_until(self, first_departure: dt.datetime) -> dt.datetime:
        return first_departure - dt.timedelta(hours=self.refund_cutoff_hours)

    def refund_due(self, paid: Money, first_departure: dt.datetime, cancelled_at: dt.datetime) -> Money:
        """Full refund until the cutoff before the first departure, ``late_refund_percent`` after it
        (rounded down to the minor unit, so we never refund more than the rule says)."""
        if cancelled_at <= self.full_refund_until(first_departure):
            return paid
        return Money(paid.amount * self.late_refund_percent // 100, paid.currency)
