"""flights: travellers' sessions, so logging out ends one: each login opens a session whose refresh token is kept
hashed and rotated on use; access tokens name their session and live only minutes."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class UserSession(pw.Model):
        id = pw.CharField(max_length=32, primary_key=True)
        user_id = pw.IntegerField(index=True)
        refresh_hash = pw.CharField(max_length=64)
        created_at = pw.DateTimeField()
        refreshed_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "user_session"


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("user_session")
