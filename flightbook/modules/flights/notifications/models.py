"""The notifications' tables, in flights' database (migrations/flights/007_notifications.py)."""
from __future__ import annotations

import peewee as pw

from flightbook.modules.flights.models import BaseModel


class NotificationMessage(BaseModel):
    """One e-mail about one change of a booking: made once per event and booking, then sent."""
    id = pw.BigAutoField()
    event_id = pw.CharField(max_length=36)
    booking_ref = pw.CharField(max_length=6, index=True)
    user_id = pw.IntegerField(index=True)
    kind = pw.CharField(max_length=24)  # a MessageKind
    recipient = pw.CharField(max_length=254)
    subject = pw.CharField(max_length=200)
    message_id = pw.CharField(max_length=255)  # the Message-ID header: the same on every try
    details = pw.TextField()  # JSON: what the event said that the message needs (refund share, old times)
    status = pw.CharField(max_length=10)  # a MessageStatus
    wait_until = pw.DateTimeField(null=True)  # while WAITING: when it goes without the missing figures
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField()
    locked_until = pw.DateTimeField(null=True)  # a sender has it until then
    last_error = pw.TextField(null=True)
    created_at = pw.DateTimeField()
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "notification_message"
        indexes = ((("event_id", "booking_ref"), True), (("status", "next_attempt_at"), False))


class NotificationFact(BaseModel):
    """A figure another part (or flights) published about a booking, once per event: a FactKind and its JSON."""
    id = pw.BigAutoField()
    event_id = pw.CharField(max_length=36, unique=True)
    booking_ref = pw.CharField(max_length=6, index=True)
    kind = pw.CharField(max_length=24)
    payload = pw.TextField()
    recorded_at = pw.DateTimeField()

    class Meta:
        table_name = "notification_fact"
