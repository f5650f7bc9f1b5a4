"""One peewee database per module, opened from a URL (``sqlite:///path`` or ``postgresql://...``)."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from flightbook.kernel import tracing


class DatabaseURLError(ValueError):
    pass


class _Pool(PooledPostgresqlDatabase):
    """The pool, minus its liveness round trip (``SELECT 1`` on every check-out) for a connection that was
    given back idle less than ``RECENT_SECONDS`` ago: a web request checks a connection out and back in, so
    that ping was a third of a flight search's round trips. Older connections are still pinged."""

    RECENT_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        self._returned_at = {}
        super().__init__(*args, **kwargs)

    def _is_closed(self, conn):
        returned_at = self._returned_at.pop(self.conn_key(conn), None)
        if (returned_at is not None and time.monotonic() - returned_at < self.RECENT_SECONDS
                and not conn.closed and self._adapter.txn_status(conn) == self._adapter.txn_idle):
            return False
        return super()._is_closed(conn)

    def _close(self, conn, close_conn=False):
        super()._close(conn, close_conn)
        if close_conn or conn.closed:
            self._returned_at.pop(self.conn_key(conn), None)
        else:
            self._returned_at[self.conn_key(conn)] = time.monotonic()

    # A transaction's BEGIN travels with its first statement ("BEGIN; <statement>", one round trip instead of
    # two: a short write transaction such as a seat hold is three or four statements). A transaction that sent
    # nothing sends no COMMIT or ROLLBACK either. Anything that takes a cursor of its own (COPY) gets the BEGIN
    # first, on its own.

    def _initialize_connection(self, conn):
        super()._initialize_connection(conn)
        self._state.begin_pending = False

    def begin(self, isolation_level=None):
        if isolation_level or self._isolation_level:
            return super().begin(isolation_level)
        if self.is_closed():  # connected now, as a BEGIN sent at once would have (connecting resets the state)
            self.connect()
        self._state.begin_pending = True

    def execute_sql(self, sql, params=None):
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            sql = "BEGIN; " + sql
        return super().execute_sql(sql, params)

    def cursor(self, named_cursor=None):
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            super().cursor().execute("BEGIN")
        return super().cursor(named_cursor)

    def commit(self):
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            return None
        return super().commit()

    def rollback(self):
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            return None
        return super().rollback()


def private_folder(folder: Path) -> Path:
    """``folder``, made if missing, readable by its owner only (it holds password hashes and secrets)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        try:
            folder.chmod(0o700)
        except PermissionError:  # not ours to change: leave it as its owner set it
            pass
    return folder


def _owner_only_file(path: Path) -> None:
    """The SQLite file exists and only its owner may read it; SQLite gives its -wal and -shm files the
    database file's mode."""
    if not path.parent.exists():
        private_folder(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o600)
        except PermissionError:
            pass


#: Plans for the catalogue's prepared statements made with the first runs' parameters (PostgreSQL's default for
#: the first five runs) misjudge the small tables and take seconds; the generic plan loops over their rows through
#: the indexes. Every other statement prepared by kernel/sql.py is a primary- or unique-key lookup, whose generic
#: plan is the custom one. Besides these, only PL/pgSQL's cached plans follow the setting (flights' inventory
#: triggers; payments and loyalty have none); queries peewee sends are not prepared.
PLAN_CACHE_MODE = "force_generic_plan"


def open_database(url: str) -> peewee.Database:
    """A database for ``url``; SQLite in WAL mode with a busy timeout, PostgreSQL through a pool."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path:
            raise DatabaseURLError(f"SQLite URL needs a path: {url!r}")
        if path != ":memory:":
            _owner_only_file(Path(path))
        return peewee.SqliteDatabase(
            path,
            timeout=30,
            check_same_thread=False,
            pragmas={"journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1, "busy_timeout": 30000},
        )
    if parsed.scheme in ("postgres", "postgresql"):
        return _Pool(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            max_connections=64,
            stale_timeout=300,
            timeout=10,
            # set as each session starts, so no rolled-back transaction can undo it (kernel/sql.py says why)
            options=f"-c plan_cache_mode={PLAN_CACHE_MODE}",
        )
    raise DatabaseURLError(f"unsupported database URL {url!r}: use sqlite:///path or postgresql://...")


def is_postgres(db) -> bool:
    db = getattr(db, "obj", db)  # unwrap a DatabaseProxy
    return isinstance(db, peewee.PostgresqlDatabase)


def write_transaction(db):
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite so two writers queue on the
    busy timeout instead of deadlocking on a lock upgrade; a plain transaction on PostgreSQL."""
    real = getattr(db, "obj", db)
    if isinstance(real, peewee.SqliteDatabase) and not real.in_transaction():
        return tracing.transaction(real.atomic("IMMEDIATE"), "sqlite")
    return tracing.transaction(db.atomic(), "postgresql" if isinstance(real, peewee.PostgresqlDatabase) else "sqlite")


def ping(db) -> None:
    """Raise if the database cannot be reached."""
    db.execute_sql("SELECT 1").fetchone()


@contextlib.contextmanager
def connection(db):
    """Hold a connection for the block (and give it back to the pool afterwards)."""
    opened = db.connect(reuse_if_open=True)
    try:
        yield db
    finally:
        if opened and not db.in_transaction():
            db.close()
