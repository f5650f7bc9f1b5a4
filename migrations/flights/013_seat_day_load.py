"""flights: the seats of each service date and cabin, counted as they change (``seat_day_load``), so the admin
overview's load factor of the days ahead reads a few hundred rows instead of the seat inventory of every flight
of those days (about 55,000 flights a fortnight, 165,000 inventory rows, on the 1,000,000-flight benchmark).

Triggers keep it in the transaction of every change: inventory written (an import, any number of rows at once),
seats taken or given back (the one conditional UPDATE of a hold, a cancellation, an expiry), a flight moved to
another service date. Each date and cabin is counted in ``SHARDS`` rows (by flight id), so two holds on flights
of the same day seldom wait for each other's commit on one counter row. Flights are never deleted by the
application, nor is an inventory row's flight or cabin changed (migration 002 guards the flight)."""
import peewee as pw

from flightbook.kernel.db import is_postgres

SHARDS = 16

_ADD = ("ON CONFLICT (service_date, cabin, shard) DO UPDATE SET capacity = seat_day_load.capacity + "
        "excluded.capacity, seats_left = seat_day_load.seats_left + excluded.seats_left")

_POSTGRES = (
    f"""CREATE FUNCTION seat_day_load_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seat_day_load (service_date, cabin, shard, capacity, seats_left)
    SELECT f.service_date, n.cabin, mod(n.flight_id, {SHARDS}), sum(n.capacity), sum(n.seats_left)
    FROM new_rows n JOIN flight f ON f.id = n.flight_id GROUP BY 1, 2, 3
    {_ADD};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_counted AFTER INSERT ON seat_inventory
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION seat_day_load_added()""",
    f"""CREATE FUNCTION seat_day_load_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE seat_day_load SET capacity = capacity + NEW.capacity - OLD.capacity,
                             seats_left = seats_left + NEW.seats_left - OLD.seats_left
    WHERE service_date = (SELECT service_date FROM flight WHERE id = NEW.flight_id) AND cabin = NEW.cabin
      AND shard = mod(NEW.flight_id, {SHARDS});
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_recounted AFTER UPDATE OF seats_left, capacity ON seat_inventory FOR EACH ROW
    WHEN (OLD.seats_left <> NEW.seats_left OR OLD.capacity <> NEW.capacity)
    EXECUTE FUNCTION seat_day_load_changed()""",
    f"""CREATE FUNCTION seat_day_load_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE seat_day_load d SET capacity = d.capacity - s.capacity, seats_left = d.seats_left - s.seats_left
    FROM seat_inventory s
    WHERE s.flight_id = NEW.id AND d.service_date = OLD.service_date AND d.cabin = s.cabin
      AND d.shard = mod(NEW.id, {SHARDS});
    INSERT INTO seat_day_load (service_date, cabin, shard, capacity, seats_left)
    SELECT NEW.service_date, s.cabin, mod(NEW.id, {SHARDS}), s.capacity, s.seats_left
    FROM seat_inventory s WHERE s.flight_id = NEW.id
    {_ADD};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER flight_moved_day AFTER UPDATE OF service_date ON flight FOR EACH ROW
    WHEN (OLD.service_date <> NEW.service_date) EXECUTE FUNCTION seat_day_load_moved()""",
)

_SQLITE = (
    f"""CREATE TRIGGER seat_inventory_counted AFTER INSERT ON seat_inventory BEGIN
    INSERT INTO seat_day_load (service_date, cabin, shard, capacity, seats_left)
    SELECT f.service_date, NEW.cabin, NEW.flight_id % {SHARDS}, NEW.capacity, NEW.seats_left
    FROM flight f WHERE f.id = NEW.flight_id
    {_ADD};
END""",
    f"""CREATE TRIGGER seat_inventory_recounted AFTER UPDATE OF seats_left, capacity ON seat_inventory
    WHEN OLD.seats_left <> NEW.seats_left OR OLD.capacity <> NEW.capacity BEGIN
    UPDATE seat_day_load SET capacity = capacity + NEW.capacity - OLD.capacity,
                             seats_left = seats_left + NEW.seats_left - OLD.seats_left
    WHERE service_date = (SELECT service_date FROM flight WHERE id = NEW.flight_id) AND cabin = NEW.cabin
      AND shard = NEW.flight_id % {SHARDS};
END""",
    f"""CREATE TRIGGER flight_moved_day AFTER UPDATE OF service_date ON flight
    WHEN OLD.service_date <> NEW.service_date BEGIN
    UPDATE seat_day_load
    SET capacity = capacity - (SELECT s.capacity FROM seat_inventory s
                               WHERE s.flight_id = NEW.id AND s.cabin = seat_day_load.cabin),
        seats_left = seats_left - (SELECT s.seats_left FROM seat_inventory s
                                   WHERE s.flight_id = NEW.id AND s.cabin = seat_day_load.cabin)
    WHERE service_date = OLD.service_date AND shard = NEW.id % {SHARDS}
      AND cabin IN (SELECT cabin FROM seat_inventory WHERE flight_id = NEW.id);
    INSERT INTO seat_day_load (service_date, cabin, shard, capacity, seats_left)
    SELECT NEW.service_date, s.cabin, NEW.id % {SHARDS}, s.capacity, s.seats_left
    FROM seat_inventory s WHERE s.flight_id = NEW.id
    {_ADD};
END""",
)


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class SeatDayLoad(pw.Model):
        service_date = pw.DateField()
        cabin = pw.CharField(max_length=10)
        shard = pw.SmallIntegerField()
        capacity = pw.BigIntegerField()
        seats_left = pw.BigIntegerField()

        class Meta:
            table_name = "seat_day_load"
            primary_key = pw.CompositeKey("service_date", "cabin", "shard")

    # PostgreSQL's mod(): a '%' there would read as a parameter to psycopg2
    shard = f"mod(s.flight_id, {SHARDS})" if is_postgres(database) else f"s.flight_id % {SHARDS}"
    migrator.sql(f"""INSERT INTO seat_day_load (service_date, cabin, shard, capacity, seats_left)
SELECT f.service_date, s.cabin, {shard}, sum(s.capacity), sum(s.seats_left)
FROM seat_inventory s JOIN flight f ON f.id = s.flight_id GROUP BY f.service_date, s.cabin, {shard}""")
    for sql in (_POSTGRES if is_postgres(database) else _SQLITE):
        migrator.sql(sql)


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in ("DROP TRIGGER flight_moved_day ON flight", "DROP FUNCTION seat_day_load_moved()",
                    "DROP TRIGGER seat_inventory_recounted ON seat_inventory", "DROP FUNCTION seat_day_load_changed()",
                    "DROP TRIGGER seat_inventory_counted ON seat_inventory", "DROP FUNCTION seat_day_load_added()"):
            migrator.sql(sql)
    else:
        for name in ("flight_moved_day", "seat_inventory_recounted", "seat_inventory_counted"):
            migrator.sql(f"DROP TRIGGER {name}")
    migrator.remove_model("seat_day_load")
