"""kernel: the event outbox, its per-subscriber deliveries and the inbox, in every module's database."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class OutboxEvent(pw.Model):
        id = pw.BigAutoField()
        event_id = pw.CharField(max_length=36, unique=True)
        topic = pw.CharField(max_length=100)
        source = pw.CharField(max_length=40)
        payload = pw.TextField()
        created_at = pw.DateTimeField()
        fanned_out_at = pw.DateTimeField(null=True, index=True)

        class Meta:
            table_name = "outbox"

    @migrator.create_model
    class OutboxDelivery(pw.Model):
        id = pw.BigAutoField()
        event = pw.ForeignKeyField(OutboxEvent, column_name="outbox_id", on_delete="CASCADE")
        subscriber = pw.CharField(max_length=40)
        status = pw.CharField(max_length=10, default="pending")
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        claim = pw.CharField(max_length=32, null=True)
        last_error = pw.TextField(null=True)
        delivered_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "outbox_delivery"
            indexes = (
                (("event", "subscriber"), True),
                (("status", "next_attempt_at"), False),
            )

    @migrator.create_model
    class InboxEvent(pw.Model):
        id = pw.BigAutoField()
        subscriber = pw.CharField(max_length=40)
        event_id = pw.CharField(max_length=36)
        topic = pw.CharField(max_length=100)
        source = pw.CharField(max_length=40)
        received_at = pw.DateTimeField()

        class Meta:
            table_name = "inbox"
            indexes = ((("subscriber", "event_id"), True),)


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("inbox")
    migrator.remove_model("outbox_delivery")
    migrator.remove_model("outbox")
