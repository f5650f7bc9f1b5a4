"""Bookings: holding seats, the booking's states (confirmed, cancelled, expired), late payments and the
fare rules; every seat moves by one conditional UPDATE (seats.py)."""
