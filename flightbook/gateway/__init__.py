"""The gateway: the traveller's web UI and the one-origin API. Stateless; owns no database."""
from __future__ import annotations

from flightbook.kernel.part import Part


def build(settings, tokens, contracts) -> Part:
    return Part(name="gateway")
