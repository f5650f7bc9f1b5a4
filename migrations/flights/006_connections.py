"""flights: what connecting journeys need. ``route`` lists every (origin, destination) pair some flight has
flown, so a search finds the airports a journey may connect at without reading flights; import-flights adds
the routes of what it imports. ``connection_time`` holds the per-airport minimum connection times imported
from data/connection_times.csv (an empty value, or an airport not listed: the configured default)."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class Route(pw.Model):
        origin = pw.CharField(max_length=3)
        destination = pw.CharField(max_length=3)

        class Meta:
            table_name = "route"
            primary_key = pw.CompositeKey("origin", "destination")
            indexes = ((("destination", "origin"), True),)

    @migrator.create_model
    class ConnectionTime(pw.Model):
        airport = pw.CharField(max_length=3, primary_key=True)
        same_country_minutes = pw.IntegerField(null=True)
        international_minutes = pw.IntegerField(null=True)

        class Meta:
            table_name = "connection_time"

    migrator.sql("INSERT INTO route (origin, destination) SELECT DISTINCT origin, destination FROM flight")


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("connection_time", "route"):
        migrator.remove_model(name)
