"""flights (PostgreSQL): a bucketed cabin's seats are sold by one UPDATE of its row that does about as little
work under the row's lock as a flat cabin's (issue 21: bookings/s with fare buckets within 10 % of flat fares).

Migration 012's four functions (fare_take, fare_sold, fare_ladder, fare_next) each parsed the buckets again, called
from a locking read joined to the UPDATE; any work done while the hot row is locked is paid many times over by the
buyers queued on it. Now:

- ``open_at``: where, in ``buckets``, the cheapest open bucket's seats-left figure starts (NULL: not known). While
  that bucket keeps more seats than a party and the next seats search shows, a sale only lowers that figure
  (``overlay``, no parsing) and leaves the next seats' prices and the fare as they are.
- ``fare_sell`` reads the buckets once and says everything a sale writes otherwise (the buckets after, the seats
  sold, the next seats' prices, the next fare and ``open_at``); the seats UPDATE sets them from one sub-select over
  the row it locks and keeps the seats sold in ``last_sale`` to return them (PostgreSQL before 18 cannot return a
  row's old values, and the seats sold cannot be told from the buckets after)."""
import importlib.util

from flightbook.kernel.db import is_postgres
from flightbook.kernel.migrations import MIGRATIONS

# The rules of pricing.take, pricing.ladder_text (the next 9 seats: MAX_SEATED) and pricing.next_price (the last
# bucket's price when the cabin is full) on the 'price:left:size' text, in one pass; the seats sold as
# 'bucket:price' each, in selling order; ``open_at`` as above, in the buckets after.
_FARE_SELL = """CREATE FUNCTION fare_sell(state TEXT, n INT, OUT after TEXT, OUT sold TEXT, OUT ladder TEXT,
                                 OUT next_fare BIGINT, OUT open_at INT) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE item TEXT; price TEXT; seats INT; k INT; need INT := n; room INT := 9; bucket INT := 0;
BEGIN
    after := ''; sold := ''; ladder := '';
    FOREACH item IN ARRAY string_to_array(state, ' ') LOOP
        price := split_part(item, ':', 1);
        seats := split_part(item, ':', 2)::INT;
        IF need > 0 AND seats > 0 THEN
            k := LEAST(seats, need);
            need := need - k;
            seats := seats - k;
            sold := sold || repeat(' ' || bucket || ':' || price, k);
            item := price || ':' || seats || ':' || split_part(item, ':', 3);
        END IF;
        after := after || ' ' || item;
        IF room > 0 AND seats > 0 THEN
            IF next_fare IS NULL THEN  -- the cheapest open bucket: its seats left start after 'price:'
                next_fare := price::BIGINT;
                open_at := length(after) - length(item) + length(price) + 1;
            END IF;
            k := LEAST(seats, room);
            room := room - k;
            ladder := ladder || repeat(' ' || price, k);
        END IF;
        bucket := bucket + 1;
    END LOOP;
    IF need > 0 THEN RAISE EXCEPTION 'the fare buckets lack the seats wanted'; END IF;
    after := substr(after, 2);
    sold := substr(sold, 2);
    ladder := substr(ladder, 2);
    next_fare := COALESCE(next_fare, price::BIGINT);
END $$"""
_REPLACED = ("fare_take(TEXT, INT)", "fare_sold(TEXT, INT)", "fare_ladder(TEXT)", "fare_next(TEXT)")


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("ALTER TABLE seat_inventory ADD COLUMN last_sale TEXT NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE seat_inventory ADD COLUMN open_at INTEGER")
    if is_postgres(database):
        migrator.sql(_FARE_SELL)
        for name in _REPLACED:
            migrator.sql(f"DROP FUNCTION {name}")


def rollback(migrator, database, fake=False, **kwargs):
    if is_postgres(database):
        for sql in _migration_012()._FUNCTIONS:
            migrator.sql(sql)
        migrator.sql("DROP FUNCTION fare_sell(TEXT, INT)")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN open_at")
    migrator.sql("ALTER TABLE seat_inventory DROP COLUMN last_sale")


def _migration_012():
    """Migration 012's module, for its functions (peewee_migrate runs a migration's text: no __file__)."""
    spec = importlib.util.spec_from_file_location("fare_buckets_012", MIGRATIONS / "flights" / "012_fare_buckets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
