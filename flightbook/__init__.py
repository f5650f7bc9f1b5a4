"""flightbook: an open flight-booking system (flights, payments, loyalty and a gateway)."""
from pathlib import Path

#: The repository root, where migrations/ and data/ live.
ROOT = Path(__file__).resolve().parent.parent
MODULES = ("flights", "payments", "loyalty")
