"""flights: failed logins counted per username and per client address (shared by every worker and instance),
so a guesser is slowed down to a few tries per window."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class LoginThrottle(pw.Model):
        key = pw.CharField(max_length=300, primary_key=True)  # "user:<username>" or "address:<ip>"
        failures = pw.IntegerField()
        first_failure_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)

        class Meta:
            table_name = "login_throttle"


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("login_throttle")
