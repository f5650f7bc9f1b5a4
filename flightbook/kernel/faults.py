"""Fault points: named places in the code where a test can make this process die or stall on purpose.

``FLIGHTBOOK_FAULT_POINTS="payments.charged=exit"`` makes the process exit at once (as ``kill -9`` would:
no clean-up, no rollback of what is committed, no answer) when it reaches ``faults.reach("payments.charged")``;
``=sleep:2.5`` stalls it there; ``=raise`` raises there (a bug in that step, until the process is restarted
without it). The crash tests use it to stop a real process at an exact instant of a
payment. Unset (always, outside those tests) every point is a dictionary lookup that finds nothing."""
from __future__ import annotations

import os
import time

_points: dict[str, str] = {}


class FaultInjected(RuntimeError):
    """Raised at a fault point set to ``raise``."""


def configure(spec: str) -> None:
    """``spec``: comma-separated ``point=action`` pairs (action ``exit``, ``raise`` or ``sleep:SECONDS``)."""
    _points.clear()
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        point, _, action = item.partition("=")
        if action not in ("exit", "raise") and not (action.startswith("sleep:") and _is_number(action[6:])):
            raise ValueError(f"fault point {point!r}: the action must be exit, raise or sleep:SECONDS, got {action!r}")
        _points[point.strip()] = action


def reach(point: str) -> None:
    action = _points.get(point)
    if action is None:
        return
    if action == "exit":
        os._exit(70)  # no atexit, no finally blocks, no transaction rolled back politely: a crash
    if action == "raise":
        raise FaultInjected(f"fault point {point}")
    time.sleep(float(action[6:]))


def _is_number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False
