"""flights: users, airports, dated flights with seat inventory, bookings and passengers."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        username = pw.CharField(max_length=40, unique=True)
        email = pw.CharField(max_length=254, unique=True)
        password_hash = pw.CharField(max_length=255)
        first_name = pw.CharField(max_length=100)
        last_name = pw.CharField(max_length=100)
        is_admin = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "user"

    @migrator.create_model
    class Airport(pw.Model):
        iata = pw.CharField(max_length=3, primary_key=True)
        icao = pw.CharField(max_length=4, default="")
        name = pw.CharField(max_length=200)
        city = pw.CharField(max_length=100, default="")
        country = pw.CharField(max_length=2)
        lat = pw.DoubleField()
        lon = pw.DoubleField()
        tz = pw.CharField(max_length=64)
        search_text = pw.CharField(max_length=400, index=True)

        class Meta:
            table_name = "airport"

    @migrator.create_model
    class Flight(pw.Model):
        id = pw.BigAutoField()
        flight_number = pw.CharField(max_length=10)
        airline = pw.CharField(max_length=100)
        origin = pw.CharField(max_length=3)
        destination = pw.CharField(max_length=3)
        service_date = pw.DateField()
        departs_at = pw.DateTimeField()
        arrives_at = pw.DateTimeField()
        duration_minutes = pw.IntegerField()

        class Meta:
            table_name = "flight"
            indexes = (
                (("flight_number", "service_date"), True),
                (("origin", "destination", "departs_at"), False),
            )

    @migrator.create_model
    class SeatInventory(pw.Model):
        flight = pw.ForeignKeyField(Flight, column_name="flight_id", on_delete="CASCADE", index=False)
        cabin = pw.CharField(max_length=10)
        capacity = pw.IntegerField()
        seats_left = pw.IntegerField()
        fare_amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)

        class Meta:
            table_name = "seat_inventory"
            primary_key = pw.CompositeKey("flight", "cabin")
            constraints = [pw.SQL("CHECK (seats_left >= 0 AND seats_left <= capacity)")]

    @migrator.create_model
    class Booking(pw.Model):
        ref = pw.CharField(max_length=6, primary_key=True)
        user_id = pw.IntegerField(index=True)
        status = pw.CharField(max_length=10)
        cabin = pw.CharField(max_length=10)
        contact_email = pw.CharField(max_length=254)
        total_amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)
        hold_expires_at = pw.DateTimeField(index=True)
        created_at = pw.DateTimeField()
        confirmed_at = pw.DateTimeField(null=True)
        cancelled_at = pw.DateTimeField(null=True)
        payment_id = pw.CharField(max_length=64, null=True)
        refund_amount = pw.BigIntegerField(null=True)

        class Meta:
            table_name = "booking"

    @migrator.create_model
    class BookingFlight(pw.Model):
        booking = pw.ForeignKeyField(Booking, column_name="booking_ref", on_delete="CASCADE")
        flight = pw.ForeignKeyField(Flight, column_name="flight_id", index=True)
        direction = pw.CharField(max_length=10)
        fare_amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3)

        class Meta:
            table_name = "booking_flight"
            primary_key = pw.CompositeKey("booking", "flight")

    @migrator.create_model
    class Passenger(pw.Model):
        id = pw.AutoField()
        booking = pw.ForeignKeyField(Booking, column_name="booking_ref", on_delete="CASCADE")
        first_name = pw.CharField(max_length=100)
        last_name = pw.CharField(max_length=100)
        date_of_birth = pw.DateField()
        gender = pw.CharField(max_length=10, null=True)

        class Meta:
            table_name = "passenger"


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("passenger", "booking_flight", "booking", "seat_inventory", "flight", "airport", "user"):
        migrator.remove_model(name)
