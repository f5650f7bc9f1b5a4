"""The admin console's use cases in flights: finding flights, bookings and travellers, cancelling a flight
or a booking for a traveller, blocking a login, the overview's figures, and the audit of it all."""
