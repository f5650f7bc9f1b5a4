"""flights (PostgreSQL): seat inventory checks its flight once per statement instead of once per row.

A row-by-row foreign key locks the flight row of every inventory row written (FOR KEY SHARE), which made
the rows' checks most of the time of a bulk import (millions of inventory rows). The same rules hold, set
at a time: inserted inventory must name existing flights (one anti-join per statement), changing an
inventory row's flight is checked row by row (never done by the application), deleting flights deletes
their inventory, and a flight's id cannot change while inventory names it. SQLite keeps its foreign key.
"""
from flightbook.kernel.db import is_postgres

_CREATE = (
    "ALTER TABLE seat_inventory DROP CONSTRAINT seat_inventory_flight_id_fkey",
    """CREATE FUNCTION seat_inventory_names_flights() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM flight f WHERE f.id = n.flight_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'seat_inventory.flight_id must name an existing flight';
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_inserted AFTER INSERT ON seat_inventory
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION seat_inventory_names_flights()""",
    """CREATE FUNCTION seat_inventory_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM flight WHERE id = NEW.flight_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = 'seat_inventory.flight_id must name an existing flight';
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER seat_inventory_moved AFTER UPDATE ON seat_inventory FOR EACH ROW
    WHEN (OLD.flight_id IS DISTINCT FROM NEW.flight_id) EXECUTE FUNCTION seat_inventory_moved()""",
    """CREATE FUNCTION flight_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM seat_inventory WHERE flight_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$""",
    """CREATE TRIGGER flight_deleted AFTER DELETE ON flight
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION flight_deleted()""",
    """CREATE FUNCTION flight_renumbered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM seat_inventory WHERE flight_id = OLD.id) THEN
        RAISE foreign_key_violation USING MESSAGE = 'flight id is still named by seat_inventory';
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER flight_renumbered AFTER UPDATE ON flight FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION flight_renumbered()""",
)
_DROP = (
    "DROP TRIGGER flight_renumbered ON flight",
    "DROP FUNCTION flight_renumbered()",
    "DROP TRIGGER flight_deleted ON flight",
    "DROP FUNCTION flight_deleted()",
    "DROP TRIGGER seat_inventory_moved ON seat_inventory",
    "DROP FUNCTION seat_inventory_moved()",
    "DROP TRIGGER seat_inventory_inserted ON seat_inventory",
    "DROP FUNCTION seat_inventory_names_flights()",
    """ALTER TABLE seat_inventory ADD CONSTRAINT seat_inventory_flight_id_fkey
    FOREIGN KEY (flight_id) REFERENCES flight (id) ON DELETE CASCADE""",
)


def migrate(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in _CREATE:
            migrator.sql(sql)


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in _DROP:
            migrator.sql(sql)
