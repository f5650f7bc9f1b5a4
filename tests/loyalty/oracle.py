"""The tests' own model of a rule that the code computes in SQL, to check the SQL against."""
from __future__ import annotations


def protected_by_holds(lot_remaining: list[int], held: int) -> list[int]:
    """How much of each lot (oldest first) pending holds protect from expiry: holds count against the
    oldest lots first, as their commit will. ``expiry.expire_lots`` computes the same thing in SQL."""
    protected, before = [], 0
    for remaining in lot_remaining:
        protected.append(max(0, min(remaining, held - before)))
        before += remaining
    return protected
