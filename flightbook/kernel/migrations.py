"""Versioned migrations under ``migrations/<module>/``, applied to each module's own database."""
from __future__ import annotations

import logging
from pathlib import Path

from peewee_migrate import Router

from flightbook import ROOT

MIGRATIONS = ROOT / "migrations"


def migrate(module: str, db, migrations_dir: Path | None = None) -> list[str]:
    """Apply the pending migrations of ``module``; returns the names applied (empty on a second run)."""
    logger = logging.getLogger("flightbook.migrate")
    logger.setLevel(logging.WARNING)
    router = Router(db, migrate_dir=migrations_dir or MIGRATIONS / module,
                    migrate_table="migration_history", logger=logger)
    return router.run()
