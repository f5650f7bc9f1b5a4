"""flights (PostgreSQL): the statement-level check that inserted inventory names existing flights takes a
short cut for a bulk import.

An import names a run of consecutive new flight ids: when every id from the lowest to the highest named is a
flight (one range count on the primary key), every named flight exists, and the anti-join of all inserted rows
against the flight table (most of the check's time, seconds for millions of rows) is skipped. The short cut is
taken only when that range is no longer than the rows inserted, so the check never costs more than before;
otherwise, and whenever the range has a gap, the anti-join of migration 002 decides as before.
"""
from flightbook.kernel.db import is_postgres

_ANTI_JOIN = """
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM flight f WHERE f.id = n.flight_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'seat_inventory.flight_id must name an existing flight';
    END IF;"""
_BY_RANGE = f"""CREATE OR REPLACE FUNCTION seat_inventory_names_flights() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lowest BIGINT;
    highest BIGINT;
    inserted BIGINT;
BEGIN
    SELECT min(flight_id), max(flight_id), count(*) INTO lowest, highest, inserted FROM new_rows;
    IF inserted = 0 OR (highest - lowest < inserted
                        AND (SELECT count(*) FROM flight WHERE id BETWEEN lowest AND highest) = highest - lowest + 1)
    THEN
        RETURN NULL;
    END IF;{_ANTI_JOIN}
    RETURN NULL;
END $$"""
_ANTI_JOIN_ONLY = f"""CREATE OR REPLACE FUNCTION seat_inventory_names_flights() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_ANTI_JOIN}
    RETURN NULL;
END $$"""


def migrate(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        migrator.sql(_BY_RANGE)


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        migrator.sql(_ANTI_JOIN_ONLY)
