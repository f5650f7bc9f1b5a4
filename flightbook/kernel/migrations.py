"""Versioned migrations under ``migrations/<module>/``, applied to each module's own database.

Every module's database also holds the kernel's tables (outbox, deliveries, inbox) from
``migrations/kernel/``, recorded in their own history table so the two sequences never mix."""
from __future__ import annotations

import logging
from pathlib import Path

from peewee_migrate import Router

from flightbook import ROOT

MIGRATIONS = ROOT / "migrations"
KERNEL_HISTORY = "kernel_migration_history"


def _run(db, migrate_dir: Path, history_table: str) -> list[str]:
    logger = logging.getLogger("flightbook.migrate")
    logger.setLevel(logging.WARNING)
    return Router(db, migrate_dir=migrate_dir, migrate_table=history_table, logger=logger).run()


def migrate(module: str, db, migrations_dir: Path | None = None) -> list[str]:
    """Apply the pending kernel migrations, then those of ``module``; returns the names applied
    (kernel ones prefixed ``kernel/``; empty on a second run)."""
    applied = [f"kernel/{name}" for name in _run(db, MIGRATIONS / "kernel", KERNEL_HISTORY)]
    return applied + _run(db, migrations_dir or MIGRATIONS / module, "migration_history")
