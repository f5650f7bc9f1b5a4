"""flights: fares like an airline's. A cabin's seats sell in fare buckets, cheapest first: each inventory row keeps
its buckets' state beside its seats (``buckets``: 'price:left:size' per bucket in selling order, moved by the
same conditional UPDATE as ``seats_left``; empty for a cabin priced flat, as every row written before) and the
prices of its next seats for search (``next_fares``). A passenger has a type (adult, child, infant), and a
booking keeps the fare each passenger pays on each flight and the bucket each seat was sold from
(``booking_fare``), so a held price stands and an expired hold gives its seats back to their buckets."""
import peewee as pw

from flightbook.kernel.db import is_postgres

# PostgreSQL sells a party's seats from a cabin's buckets inside the one statement that takes them
# (booking/seats.py), so the hot row is locked for that statement alone: the rules of pricing.take,
# pricing.next_price and pricing.ladder_text on the same 'price:left:size' text, and the seats sold as
# 'bucket:price' each.
_FUNCTIONS = (
    """CREATE FUNCTION fare_take(state TEXT, n INT) RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item TEXT; part TEXT[]; k INT; need INT := n; result TEXT[] := '{}';
BEGIN
    IF state = '' THEN RETURN ''; END IF;
    FOREACH item IN ARRAY string_to_array(state, ' ') LOOP
        part := string_to_array(item, ':');
        k := GREATEST(0, LEAST(part[2]::INT, need));
        need := need - k;
        result := result || (part[1] || ':' || (part[2]::INT - k) || ':' || part[3]);
    END LOOP;
    IF need > 0 THEN RAISE EXCEPTION 'the fare buckets lack the seats wanted'; END IF;
    RETURN array_to_string(result, ' ');
END $$""",
    """CREATE FUNCTION fare_sold(state TEXT, n INT) RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item TEXT; part TEXT[]; k INT; need INT := n; bucket INT := 0; result TEXT[] := '{}';
BEGIN
    IF state = '' THEN RETURN ''; END IF;
    FOREACH item IN ARRAY string_to_array(state, ' ') LOOP
        part := string_to_array(item, ':');
        k := GREATEST(0, LEAST(part[2]::INT, need));
        need := need - k;
        FOR s IN 1..k LOOP result := result || (bucket || ':' || part[1]); END LOOP;
        bucket := bucket + 1;
    END LOOP;
    RETURN array_to_string(result, ' ');
END $$""",
    """CREATE FUNCTION fare_ladder(state TEXT) RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item TEXT; part TEXT[]; k INT; need INT := 9; result TEXT[] := '{}';
BEGIN
    IF state = '' THEN RETURN ''; END IF;
    FOREACH item IN ARRAY string_to_array(state, ' ') LOOP
        part := string_to_array(item, ':');
        k := GREATEST(0, LEAST(part[2]::INT, need));
        need := need - k;
        FOR s IN 1..k LOOP result := result || part[1]; END LOOP;
    END LOOP;
    RETURN array_to_string(result, ' ');
END $$""",
    """CREATE FUNCTION fare_next(state TEXT) RETURNS BIGINT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item TEXT; part TEXT[]; last BIGINT;
BEGIN
    IF state = '' THEN RETURN NULL; END IF;
    FOREACH item IN ARRAY string_to_array(state, ' ') LOOP
        part := string_to_array(item, ':');
        last := part[1]::BIGINT;
        IF part[2]::INT > 0 THEN RETURN last; END IF;
    END LOOP;
    RETURN last;
END $$""",
)


def migrate(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in _FUNCTIONS:
            migrator.sql(sql)
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
    if is_postgres(database):
        for name in ("fare_take(TEXT, INT)", "fare_sold(TEXT, INT)", "fare_ladder(TEXT)", "fare_next(TEXT)"):
            migrator.sql(f"DROP FUNCTION {name}")
    migrator.remove_model("booking_fare")
    migrator.sql("ALTER TABLE passenger DROP COLUMN passenger_type")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN next_fares")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN buckets")
