"""loyalty: the admin audit (who adjusted which points or tier, when and why)."""
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


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("admin_audit")
