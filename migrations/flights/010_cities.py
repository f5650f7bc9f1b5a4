"""flights: metropolitan areas and local names. ``city`` holds the IATA city codes a search may use instead of
an airport (LON: every London airport), ``place_alias`` the local names a place is also found by (München,
Roma); both filled by ``flightbook import-cities`` from data/cities.csv and data/city_aliases.csv."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class City(pw.Model):
        code = pw.CharField(max_length=3, primary_key=True)
        name = pw.CharField(max_length=100)
        country = pw.CharField(max_length=2)
        airports = pw.CharField(max_length=200)
        search_text = pw.CharField(max_length=400, index=True)

        class Meta:
            table_name = "city"

    @migrator.create_model
    class PlaceAlias(pw.Model):
        code = pw.CharField(max_length=3)
        name = pw.CharField(max_length=100)
        search_text = pw.CharField(max_length=100)

        class Meta:
            table_name = "place_alias"
            primary_key = pw.CompositeKey("code", "search_text")


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("place_alias", "city"):
        migrator.remove_model(name)
