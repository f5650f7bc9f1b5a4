"""The flights module's tables, bound to its own database (flights_db)."""
from __future__ import annotations

import peewee as pw

from flightbook.kernel import audit

database = pw.DatabaseProxy()


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


# Attributes peewee makes without a field declaration here (the implicit ``id``, a foreign key's ``<column>``
# value) are annotated for the type checker.
class User(BaseModel):
    id: int
    username = pw.CharField(max_length=40, unique=True)
    email = pw.CharField(max_length=254, unique=True)
    password_hash = pw.CharField(max_length=255)
    first_name = pw.CharField(max_length=100)
    last_name = pw.CharField(max_length=100)
    is_admin = pw.BooleanField(default=False)
    created_at = pw.DateTimeField()


class LoginThrottle(BaseModel):
    """Failed logins of one username or one client address in the current window."""
    key = pw.CharField(max_length=300, primary_key=True)
    failures = pw.IntegerField()
    first_failure_at = pw.DateTimeField()
    locked_until = pw.DateTimeField(null=True)


class UserSession(BaseModel):
    """A traveller's login: its refresh token's hash (rotated on use) and whether it was revoked."""
    id = pw.CharField(max_length=32, primary_key=True)
    user_id = pw.IntegerField(index=True)
    refresh_hash = pw.CharField(max_length=64)
    created_at = pw.DateTimeField()
    refreshed_at = pw.DateTimeField()
    expires_at = pw.DateTimeField()
    revoked_at = pw.DateTimeField(null=True)


class Airport(BaseModel):
    iata = pw.CharField(max_length=3, primary_key=True)
    icao = pw.CharField(max_length=4, default="")
    name = pw.CharField(max_length=200)
    city = pw.CharField(max_length=100, default="")
    country = pw.CharField(max_length=2)
    lat = pw.DoubleField()
    lon = pw.DoubleField()
    tz = pw.CharField(max_length=64)
    # lower-case, accent-free "city | name | country" so 'sao' finds São Paulo
    search_text = pw.CharField(max_length=400, index=True)
    # some imported flight leaves from or lands here (set by import-flights): such airports come first in
    # place search among equally good matches
    served = pw.BooleanField(default=False)


class Flight(BaseModel):
    """One dated departure of a scheduled flight."""
    id = pw.BigAutoField()
    flight_number = pw.CharField(max_length=10)
    airline = pw.CharField(max_length=100)
    origin = pw.CharField(max_length=3)
    destination = pw.CharField(max_length=3)
    service_date = pw.DateField()  # the origin's local date of departure
    departs_at = pw.DateTimeField()  # UTC
    arrives_at = pw.DateTimeField()  # UTC
    duration_minutes = pw.IntegerField()

    class Meta:
        indexes = (
            (("flight_number", "service_date"), True),
            (("origin", "destination", "departs_at"), False),
        )


class Route(BaseModel):
    """Some flight flies (or flew) from origin to destination: the network connections are searched on."""
    origin = pw.CharField(max_length=3)
    destination = pw.CharField(max_length=3)

    class Meta:
        primary_key = pw.CompositeKey("origin", "destination")
        indexes = ((("destination", "origin"), True),)


class ConnectionTime(BaseModel):
    """An airport's own minimum connection times (None: the configured default)."""
    airport = pw.CharField(max_length=3, primary_key=True)
    same_country_minutes = pw.IntegerField(null=True)
    international_minutes = pw.IntegerField(null=True)


class City(BaseModel):
    """A metropolitan area under its IATA city code (LON: London's airports), searched as one place."""
    code = pw.CharField(max_length=3, primary_key=True)
    name = pw.CharField(max_length=100)
    country = pw.CharField(max_length=2)
    airports = pw.CharField(max_length=200)  # its airports' codes, space-separated, main airport first
    search_text = pw.CharField(max_length=400, index=True)  # like Airport.search_text


class PlaceAlias(BaseModel):
    """A local name of a city or an airport's city ('München' for MUC), searched like its own name."""
    code = pw.CharField(max_length=3)  # a city's or an airport's code
    name = pw.CharField(max_length=100)
    search_text = pw.CharField(max_length=100)  # the name normalised

    class Meta:
        primary_key = pw.CompositeKey("code", "search_text")


class SeatInventory(BaseModel):
    """Seats and fare of one cabin on one flight; seats_left (with the buckets) only moves by conditional UPDATE.
    ``fare_amount`` is what the next seat costs (the cheapest open bucket's price)."""
    flight_id: int
    flight = pw.ForeignKeyField(Flight, column_name="flight_id", on_delete="CASCADE", index=False)
    cabin = pw.CharField(max_length=10)
    capacity = pw.IntegerField()
    seats_left = pw.IntegerField()
    fare_amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)
    buckets = pw.TextField(default="")  # 'price:left:size' per fare bucket, cheapest first; '' = priced flat
    next_fares = pw.TextField(default="")  # the next seats' prices ('30000 30000 40000 ...'), for search
    # PostgreSQL's seats UPDATE (booking/seats.py): the seats its latest sale took ('bucket:price' each), for it to
    # return; where in ``buckets`` the cheapest open bucket's seats left start (None: not known)
    last_sale = pw.TextField(default="")
    open_at = pw.IntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("flight", "cabin")
        constraints = [pw.SQL("CHECK (seats_left >= 0 AND seats_left <= capacity)")]


class Booking(BaseModel):
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


class BookingFlight(BaseModel):
    booking_ref: str
    flight_id: int
    booking = pw.ForeignKeyField(Booking, column_name="booking_ref", backref="segments", on_delete="CASCADE")
    flight = pw.ForeignKeyField(Flight, column_name="flight_id", index=True)
    direction = pw.CharField(max_length=10)  # outbound | return
    fare_amount = pw.BigIntegerField()  # per passenger
    currency = pw.CharField(max_length=3)
    # a booking of adults only whose seats on this flight all came from one fare bucket: that bucket and its price
    # (no BookingFare rows then; migration 016); None otherwise, and in a cabin priced flat
    seat_bucket = pw.IntegerField(null=True)
    seat_price = pw.BigIntegerField(null=True)

    class Meta:
        primary_key = pw.CompositeKey("booking", "flight")


class Passenger(BaseModel):
    id: int
    booking_ref: str
    booking = pw.ForeignKeyField(Booking, column_name="booking_ref", backref="passengers", on_delete="CASCADE")
    first_name = pw.CharField(max_length=100)
    last_name = pw.CharField(max_length=100)
    date_of_birth = pw.DateField()
    gender = pw.CharField(max_length=10, null=True)
    passenger_type = pw.CharField(max_length=6, default="adult")


class BookingFare(BaseModel):
    """What one passenger of a booking pays for one flight, fixed when the seats were held, and the fare bucket
    their seat came from (given back to it should the booking expire or be cancelled)."""
    booking_ref: str
    booking = pw.ForeignKeyField(Booking, column_name="booking_ref", backref="fare_rows", on_delete="CASCADE")
    passenger = pw.IntegerField()
    flight_id = pw.BigIntegerField()
    bucket = pw.IntegerField(null=True)
    bucket_price = pw.BigIntegerField(null=True)
    amount = pw.BigIntegerField()
    currency = pw.CharField(max_length=3)

    class Meta:
        primary_key = pw.CompositeKey("booking", "passenger", "flight_id")


class SeatDayLoad(BaseModel):
    """Seats of one service date and cabin as last folded (``fold_seat_days``); with the differences in
    ``SeatDayChange`` not folded yet, what the inventory of that day's flights adds up to: the admin's load
    factor (migrations/flights/013_seat_day_load.py)."""
    service_date = pw.DateField()
    cabin = pw.CharField(max_length=10)
    capacity = pw.BigIntegerField()
    seats_left = pw.BigIntegerField()

    class Meta:
        table_name = "seat_day_load"
        primary_key = pw.CompositeKey("service_date", "cabin")


class SeatDayChange(BaseModel):
    """A difference to a day's seats, appended by the inventory's triggers in the changing transaction."""
    id = pw.BigAutoField()
    service_date = pw.DateField(index=True)
    cabin = pw.CharField(max_length=10)
    capacity = pw.BigIntegerField()
    seats_left = pw.BigIntegerField()

    class Meta:
        table_name = "seat_day_change"


AdminAudit = audit.model(database)  # who did what, when and why (kernel/audit.py)


class FlightCancellation(BaseModel):
    """A dated flight an admin cancelled: closed to booking."""
    flight_id = pw.BigIntegerField(primary_key=True)
    cancelled_at = pw.DateTimeField()
    admin_id = pw.BigIntegerField()
    reason = pw.TextField()


class UserBlock(BaseModel):
    """A traveller an admin stopped from logging in."""
    user_id = pw.BigIntegerField(primary_key=True)
    blocked_at = pw.DateTimeField()
    admin_id = pw.BigIntegerField()
    reason = pw.TextField()
