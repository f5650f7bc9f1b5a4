"""The bounded modules: flights, payments, loyalty. Only flightbook.wiring imports them."""
