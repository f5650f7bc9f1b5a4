"""What loyalty does when other parts publish events: topic -> handler (none yet)."""
from __future__ import annotations


def build(service) -> dict:
    return {}
