"""flights: the messages sent to travellers about their bookings (one per event and booking, so a redelivered
event sends nothing twice; also the traveller's list of messages), and the figures other parts published
about a booking that the messages quote (what the card paid and got back, the points)."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class NotificationMessage(pw.Model):
        id = pw.BigAutoField()
        event_id = pw.CharField(max_length=36)
        booking_ref = pw.CharField(max_length=6, index=True)
        user_id = pw.IntegerField(index=True)
        kind = pw.CharField(max_length=24)
        recipient = pw.CharField(max_length=254)
        subject = pw.CharField(max_length=200)
        message_id = pw.CharField(max_length=255)
        details = pw.TextField()
        status = pw.CharField(max_length=10)
        wait_until = pw.DateTimeField(null=True)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        last_error = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "notification_message"
            indexes = (
                (("event_id", "booking_ref"), True),
                (("status", "next_attempt_at"), False),
            )

    @migrator.create_model
    class NotificationFact(pw.Model):
        id = pw.BigAutoField()
        event_id = pw.CharField(max_length=36, unique=True)
        booking_ref = pw.CharField(max_length=6, index=True)
        kind = pw.CharField(max_length=24)
        payload = pw.TextField()
        recorded_at = pw.DateTimeField()

        class Meta:
            table_name = "notification_fact"


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("notification_fact")
    migrator.remove_model("notification_message")
