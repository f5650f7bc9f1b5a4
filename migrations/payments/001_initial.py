"""payments: intents, payments (attempts), refunds, idempotency keys, webhook events, mockbank's cards and ledger."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class PaymentIntent(pw.Model):
        id = pw.CharField(max_length=40, primary_key=True)
        booking_ref = pw.CharField(max_length=16, unique=True)
        user_id = pw.IntegerField(index=True)
        amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)
        status = pw.CharField(max_length=30)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "payment_intent"

    @migrator.create_model
    class Payment(pw.Model):
        id = pw.CharField(max_length=40, primary_key=True)
        intent_id = pw.CharField(max_length=40, index=True)
        booking_ref = pw.CharField(max_length=16)
        user_id = pw.IntegerField(index=True)
        status = pw.CharField(max_length=20)
        amount = pw.BigIntegerField()
        refunded_amount = pw.BigIntegerField(default=0)
        currency = pw.CharField(max_length=3)
        failure_code = pw.CharField(max_length=40, null=True)
        card_brand = pw.CharField(max_length=20, null=True)
        card_last4 = pw.CharField(max_length=4, null=True)
        card_exp_month = pw.IntegerField(null=True)
        card_exp_year = pw.IntegerField(null=True)
        card_fingerprint = pw.CharField(max_length=64, null=True)
        provider = pw.CharField(max_length=20)
        provider_ref = pw.CharField(max_length=100, null=True, index=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "payment"
            constraints = [pw.SQL("CHECK (refunded_amount >= 0 AND refunded_amount <= amount)")]

    @migrator.create_model
    class Refund(pw.Model):
        id = pw.CharField(max_length=40, primary_key=True)
        payment_id = pw.CharField(max_length=40, index=True)
        amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)
        provider_ref = pw.CharField(max_length=100, null=True, index=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "refund"

    @migrator.create_model
    class IdempotencyRecord(pw.Model):
        scope_key = pw.CharField(max_length=400, primary_key=True)
        request_hash = pw.CharField(max_length=64)
        state = pw.CharField(max_length=12)
        result = pw.TextField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "idempotency_record"

    @migrator.create_model
    class WebhookEvent(pw.Model):
        id = pw.CharField(max_length=100, primary_key=True)
        type = pw.CharField(max_length=60)
        received_at = pw.DateTimeField()

        class Meta:
            table_name = "webhook_event"

    @migrator.create_model
    class BankCard(pw.Model):
        pan_hash = pw.CharField(max_length=64, primary_key=True)
        brand = pw.CharField(max_length=20)
        last4 = pw.CharField(max_length=4)
        behaviour = pw.CharField(max_length=30)
        balance = pw.BigIntegerField()

        class Meta:
            table_name = "bank_card"

    @migrator.create_model
    class BankEntry(pw.Model):
        id = pw.CharField(max_length=40, primary_key=True)
        idempotency_key = pw.CharField(max_length=400, unique=True)
        kind = pw.CharField(max_length=10)
        pan_hash = pw.CharField(max_length=64)
        amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)
        charge_id = pw.CharField(max_length=40, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "bank_entry"


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("bank_entry", "bank_card", "webhook_event", "idempotency_record", "refund", "payment",
                 "payment_intent"):
        migrator.remove_model(name)
