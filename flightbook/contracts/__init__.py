"""What each part may ask of another: a Protocol, its plain dataclasses, its errors and its events.
Contracts import the kernel only, never a module."""
from __future__ import annotations

from dataclasses import dataclass

from flightbook.contracts.flights import FlightsContract
from flightbook.contracts.loyalty import LoyaltyContract
from flightbook.contracts.payments import PaymentsContract


@dataclass(frozen=True)
class Contracts:
    """Every module's contract as this process reaches it (in process or over HTTP): what the wiring hands
    the gateway."""
    flights: FlightsContract
    payments: PaymentsContract
    loyalty: LoyaltyContract

    def __getitem__(self, module: str) -> FlightsContract | PaymentsContract | LoyaltyContract:
        """By module name, for tools that go through flightbook.MODULES (tests, benchmarks)."""
        return getattr(self, module)
