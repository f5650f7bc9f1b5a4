"""loyalty module (being written)."""
from flightbook.kernel.part import Part


def build(settings, tokens, contracts) -> Part:
    return Part(name="loyalty")
