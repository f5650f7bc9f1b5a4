"""What the catalogue keeps in memory, per database, for TTL_SECONDS: airports (time zone, country, position,
connection times) and the connection paths between two airports. They change only by an import, usually in
another process, so a change shows everywhere within that time; an import clears its own process's copy at once
(``forget``). Anything not kept (or expired) is asked of the database."""
from __future__ import annotations

import time
import weakref
from typing import Hashable

TTL_SECONDS = 60.0
MAX_ENTRIES = 20_000  # past this, the oldest half goes
_MISSING = object()
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # database -> {key: (value, expires)}


def _entries(database) -> dict:
    return _kept.setdefault(getattr(database, "obj", database), {})


def recall(database, key: Hashable, default=None):
    entry = _entries(database).get(key)
    if entry is None or entry[1] <= time.monotonic():
        return default
    return entry[0]


def keep(database, key: Hashable, value) -> None:
    entries = _entries(database)
    if len(entries) >= MAX_ENTRIES:
        for old in list(entries)[:MAX_ENTRIES // 2]:
            del entries[old]
    entries[key] = (value, time.monotonic() + TTL_SECONDS)


def forget(database) -> None:
    """Drop this process's copy for ``database`` (after an import changed what is kept)."""
    _kept.pop(getattr(database, "obj", database), None)
