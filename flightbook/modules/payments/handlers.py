"""What payments does when other parts publish events: topic -> handler (the saga issue adds them)."""
from __future__ import annotations


def build(service) -> dict:
    return {}
