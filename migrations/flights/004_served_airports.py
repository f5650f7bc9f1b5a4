"""flights: airports remember whether any imported flight serves them, so place search can put the
airports a traveller can actually fly from or to first among equally good matches ('sao' -> São Paulo's
airports before the many smaller 'Sao ...' towns). Set by import-flights; filled here from existing flights."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    migrator.add_fields("airport", served=pw.BooleanField(default=False))
    migrator.sql("UPDATE airport SET served = TRUE WHERE iata IN "
                 "(SELECT DISTINCT origin FROM flight UNION SELECT DISTINCT destination FROM flight)")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_fields("airport", "served")
