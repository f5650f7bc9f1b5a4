"""flights: a booking of adults only whose seats on each flight all came from one fare bucket records that bucket
and its price on the leg (``booking_flight.seat_bucket``, ``seat_price``) instead of one ``booking_fare`` row per
passenger and flight (issue 21: those rows were a bucketed hold's largest cost beside a flat one's, which writes
none). Each adult pays the leg's one fare, which the leg keeps, as for a flat cabin; a booking with children or
infants, or whose seats on a flight span buckets, writes its fare rows as before. Rollback writes the fare rows of
the bookings that rely on the leg's bucket (a flat leg's seat priced at its fare, as hold_sql writes it), then drops
the columns."""

_FARE_ROWS = """INSERT INTO booking_fare (booking_ref, passenger, flight_id, bucket, bucket_price, amount, currency)
SELECT s.booking_ref, p.n, s.flight_id, s.seat_bucket, COALESCE(s.seat_price, s.fare_amount), s.fare_amount, s.currency
FROM booking_flight s JOIN (SELECT booking_ref, row_number() OVER (PARTITION BY booking_ref ORDER BY id) - 1 AS n
                            FROM passenger) p ON p.booking_ref = s.booking_ref
WHERE s.booking_ref IN (SELECT booking_ref FROM booking_flight WHERE seat_price IS NOT NULL)"""


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE booking_flight ADD COLUMN seat_bucket INTEGER")
    migrator.sql("ALTER TABLE booking_flight ADD COLUMN seat_price BIGINT")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql(_FARE_ROWS)
    migrator.sql("ALTER TABLE booking_flight DROP COLUMN seat_price")
    migrator.sql("ALTER TABLE booking_flight DROP COLUMN seat_bucket")
