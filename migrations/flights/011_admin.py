"""flights: the admin audit (who did what, when and why), a flight cancelled by an admin, a traveller's login
blocked by an admin."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class AdminAudit(pw.Model):
        id = pw.BigAutoField()
        admin_id = pw.BigIntegerField()
        admin_username = pw.CharField(max_length=40)
        action = pw.CharField(max_length=40)
        target = pw.CharField(max_length=100)
        reason = pw.TextField()
        details = pw.TextField()
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "admin_audit"

    @migrator.create_model
    class FlightCancellation(pw.Model):
        flight_id = pw.BigIntegerField(primary_key=True)
        cancelled_at = pw.DateTimeField()
        admin_id = pw.BigIntegerField()
        reason = pw.TextField()

        class Meta:
            table_name = "flight_cancellation"

    @migrator.create_model
    class UserBlock(pw.Model):
        user_id = pw.BigIntegerField(primary_key=True)
        blocked_at = pw.DateTimeField()
        admin_id = pw.BigIntegerField()
        reason = pw.TextField()

        class Meta:
            table_name = "user_block"

    # the admin overview's bookings per day read the last 30 days of bookings by when they were made
    migrator.sql("CREATE INDEX IF NOT EXISTS booking_created_at ON booking (created_at)")
    # today's flights and the load factor of the days ahead read the flights of a few service dates
    migrator.sql("CREATE INDEX IF NOT EXISTS flight_service_date ON flight (service_date)")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("DROP INDEX IF EXISTS flight_service_date")
    migrator.sql("DROP INDEX IF EXISTS booking_created_at")
    migrator.remove_model("user_block")
    migrator.remove_model("flight_cancellation")
    migrator.remove_model("admin_audit")
