"""What flights does when other parts publish events: topic -> handler."""
from __future__ import annotations


def build(service) -> dict:
    return {}
