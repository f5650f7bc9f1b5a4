"""Booking references: six characters people can read aloud and type back without mistakes."""
from __future__ import annotations

import secrets

# No 0/O and no 1/I, so a ref read off a screen or a phone call cannot be mistyped into another one.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6


def new_ref() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_ref(text) -> bool:
    return isinstance(text, str) and len(text) == LENGTH and all(c in ALPHABET for c in text)


def normalize(text: str) -> str:
    """What a traveller typed, as we store it: refs are case-insensitive and surrounding spaces don't count."""
    return text.strip().upper() if isinstance(text, str) else text
