"""flights: the seats of each service date and cabin, for the admin overview's load factor of the days ahead,
which then reads a few hundred rows instead of the seat inventory of every flight of those days (about 55,000
flights a fortnight, 165,000 inventory rows, on the 1,000,000-flight benchmark).

Every inventory change (an import, any number of rows at once; the one conditional UPDATE of a hold, a
cancellation, an expiry; a flight moved to another service date) appends its difference to
``seat_day_change`` in its own transaction, from a trigger. Appending takes no lock another writer waits
for: a counter row updated in place would make every hold of a day queue for it, and two multi-leg holds
taking two days' counters in opposite orders deadlock. The flights service's ``fold-seat-days`` job moves
the appended differences into the totals (``seat_day_load``) now and then; a reader adds totals and the
differences not folded yet, so it is exact at any moment. Flights are never deleted by the application, nor
is an inventory row's flight or cabin changed (migration 002 guards the flight)."""
import peewee as pw

from flightbook.kernel.db import is_postgres

_CHANGE = "INSERT INTO seat_day_change (service_date, cabin, capacity, seats_left)"

_POSTGRES = (
    f"""CREATE FUNCTION seat_day_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_CHANGE}
    SELECT f.service_date, n.cabin, sum(n.capacity), sum(n.seats_left)
    FROM new_rows n JOIN flight f ON f.id = n.flight_id GROUP BY 1, 2;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_counted AFTER INSERT ON seat_inventory
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION seat_day_added()""",
    f"""CREATE FUNCTION seat_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_CHANGE}
    SELECT service_date, NEW.cabin, NEW.capacity - OLD.capacity, NEW.seats_left - OLD.seats_left
    FROM flight WHERE id = NEW.flight_id;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_recounted AFTER UPDATE OF seats_left, capacity ON seat_inventory FOR EACH ROW
    WHEN (OLD.seats_left <> NEW.seats_left OR OLD.capacity <> NEW.capacity)
    EXECUTE FUNCTION seat_day_changed()""",
    f"""CREATE FUNCTION seat_day_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_CHANGE}
    SELECT day, s.cabin, sign * s.capacity, sign * s.seats_left
    FROM seat_inventory s, (VALUES (OLD.service_date, -1), (NEW.service_date, 1)) AS moved (day, sign)
    WHERE s.flight_id = NEW.id;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER flight_moved_day AFTER UPDATE OF service_date ON flight FOR EACH ROW
    WHEN (OLD.service_date <> NEW.service_date) EXECUTE FUNCTION seat_day_moved()""",
)

_SQLITE = (
    f"""CREATE TRIGGER seat_inventory_counted AFTER INSERT ON seat_inventory BEGIN
    {_CHANGE}
    SELECT f.service_date, NEW.cabin, NEW.capacity, NEW.seats_left FROM flight f WHERE f.id = NEW.flight_id;
END""",
    f"""CREATE TRIGGER seat_inventory_recounted AFTER UPDATE OF seats_left, capacity ON seat_inventory
    WHEN OLD.seats_left <> NEW.seats_left OR OLD.capacity <> NEW.capacity BEGIN
    {_CHANGE}
    SELECT service_date, NEW.cabin, NEW.capacity - OLD.capacity, NEW.seats_left - OLD.seats_left
    FROM flight WHERE id = NEW.flight_id;
END""",
    f"""CREATE TRIGGER flight_moved_day AFTER UPDATE OF service_date ON flight
    WHEN OLD.service_date <> NEW.service_date BEGIN
    {_CHANGE}
    SELECT OLD.service_date, s.cabin, -s.capacity, -s.seats_left FROM seat_inventory s WHERE s.flight_id = NEW.id;
    {_CHANGE}
    SELECT NEW.service_date, s.cabin, s.capacity, s.seats_left FROM seat_inventory s WHERE s.flight_id = NEW.id;
END""",
)


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class SeatDayLoad(pw.Model):
        service_date = pw.DateField()
        cabin = pw.CharField(max_length=10)
        capacity = pw.BigIntegerField()
        seats_left = pw.BigIntegerField()

        class Meta:
            table_name = "seat_day_load"
            primary_key = pw.CompositeKey("service_date", "cabin")

    @migrator.create_model
    class SeatDayChange(pw.Model):
        id = pw.BigAutoField()
        service_date = pw.DateField(index=True)
        cabin = pw.CharField(max_length=10)
        capacity = pw.BigIntegerField()
        seats_left = pw.BigIntegerField()

        class Meta:
            table_name = "seat_day_change"

    migrator.sql("""INSERT INTO seat_day_load (service_date, cabin, capacity, seats_left)
SELECT f.service_date, s.cabin, sum(s.capacity), sum(s.seats_left)
FROM seat_inventory s JOIN flight f ON f.id = s.flight_id GROUP BY f.service_date, s.cabin""")
    for sql in (_POSTGRES if is_postgres(database) else _SQLITE):
        migrator.sql(sql)


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in ("DROP TRIGGER flight_moved_day ON flight", "DROP FUNCTION seat_day_moved()",
                    "DROP TRIGGER seat_inventory_recounted ON seat_inventory", "DROP FUNCTION seat_day_changed()",
                    "DROP TRIGGER seat_inventory_counted ON seat_inventory", "DROP FUNCTION seat_day_added()"):
            migrator.sql(sql)
    else:
        for name in ("flight_moved_day", "seat_inventory_recounted", "seat_inventory_counted"):
            migrator.sql(f"DROP TRIGGER {name}")
    migrator.remove_model("seat_day_change")
    migrator.remove_model("seat_day_load")
