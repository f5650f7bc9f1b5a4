"""flights (PostgreSQL): fare_sell keeps the prices of the next 27 seats in ``next_fares`` (three times the nine
search shows), so that a sale from the cheapest open bucket that leaves it open is one UPDATE that parses nothing
under the row's lock, however small the bucket (issue 21: the spread flights' buckets hold 4 to 9 seats, and every
sale from them went through fare_sell).

A sale that leaves the open bucket with at least the 27 seats lowers its seats-left figure in place and leaves
``next_fares`` as it is (all of it that bucket's price before and after); one that leaves it open with fewer lowers
the figure and drops the party's seats from the front of ``next_fares`` while at least nine prices stay (or they are
every seat left): booking/seats.py. Any other sale goes through fare_sell, which writes the 27 again. Search reads
the first prices it needs, as before; a ladder written elsewhere (the import, a give-back, SQLite) keeps nine and is
lengthened by the next fare_sell. Rollback restores migration 014's function (nine prices) and cuts the ladders kept
to nine."""
import importlib.util

from flightbook.kernel.db import is_postgres
from flightbook.kernel.migrations import MIGRATIONS

LADDER_SEATS = 27  # booking/seats.py: LADDER_SEATS


def _migration(name: str):
    """A migration's module, for its SQL (peewee_migrate runs a migration's text: no __file__)."""
    spec = importlib.util.spec_from_file_location(f"flights_{name}", MIGRATIONS / "flights" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fare_sell(room: int) -> str:
    """Migration 014's fare_sell, keeping ``room`` next prices."""
    sql = _migration("014_fare_sell")._FARE_SELL
    old = "room INT := 9;"
    if sql.count(old) != 1:
        raise RuntimeError("migration 014's fare_sell is not the one this migration rewrites")
    return sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace(old, f"room INT := {room};")


def migrate(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        migrator.sql(_fare_sell(LADDER_SEATS))


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        migrator.sql(_fare_sell(9))
        # 014's in-place sale leaves the ladder as it is, right for its first nine prices only
        migrator.sql("""UPDATE seat_inventory SET next_fares = array_to_string((string_to_array(next_fares, ' '))[1:9], ' ')
            WHERE length(next_fares) - length(replace(next_fares, ' ', '')) >= 9""")
