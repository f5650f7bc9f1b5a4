"""flights: fares like an airline's. A cabin's seats sell in fare buckets, cheapest first: each inventory row keeps
its buckets' state beside its seats (``buckets``: 'price:left:size' per bucket in selling order, moved by the
same conditional UPDATE as ``seats_left``; empty for a cabin priced flat, as every row written before) and the
prices of its next seats for search (``next_fares``). A passenger has a type (adult, child, infant), and a
booking keeps the fare each passenger pays on each flight and the bucket each seat was sold from
(``booking_fare``), so a held price stands and an expired hold gives its seats back to their buckets."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE seat_inventory ADD COLUMN buckets TEXT NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE seat_inventory ADD COLUMN next_fares TEXT NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE passenger ADD COLUMN passenger_type VARCHAR(6) NOT NULL DEFAULT 'adult'")

    booking_table = migrator.orm["booking"]

    @migrator.create_model
    class BookingFare(pw.Model):
        booking = pw.ForeignKeyField(booking_table, column_name="booking_ref", on_delete="CASCADE")
        passenger = pw.IntegerField()  # its place among the booking's passengers, from 0
        flight_id = pw.BigIntegerField()
        bucket = pw.IntegerField(null=True)  # the seat's bucket (index in selling order); none for an infant
        bucket_price = pw.BigIntegerField(null=True)  # that bucket's price when the seat was sold
        amount = pw.BigIntegerField()  # what the passenger pays for this flight
        currency = pw.CharField(max_length=3)

        class Meta:
            table_name = "booking_fare"
            primary_key = pw.CompositeKey("booking", "passenger", "flight_id")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("booking_fare")
    migrator.sql("ALTER TABLE passenger DROP COLUMN passenger_type")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN next_fares")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN buckets")
