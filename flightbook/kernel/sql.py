"""Hot statements (the catalogue's searches, the seat hold's read and writes), each written once as SQL with
``{named}`` parameters and run as fast as each backend allows: on PostgreSQL every connection PREPAREs a statement
the first time it runs it (PREPARE lives as long as the connection, whatever its transactions do), so each is one
EXECUTE round trip without parsing or, once the plan is cached, planning; on SQLite the parameters are bound by
name. ``Lookup`` reads a model's rows by a WHERE clause written once (peewee's query building was most of the
CPU of a simple read), ``insert`` writes one row.

A query is written by a function of the ``Dialect``, for the few things the two backends spell differently:
a parameter that is a small table (a list of rows: one array per column on PostgreSQL, which plans a join to
``unnest`` of arrays as a loop over a few rows; JSON on SQLite), and a timestamp plus some minutes."""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
import weakref
from enum import Enum
from typing import Callable

from flightbook.kernel.db import is_postgres

_TOKEN = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# psycopg2 connection -> names of the statements prepared on it
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Dialect:
    is_postgres = False

    def rows_of(self, param: str, columns: dict[str, str]) -> str:
        """A parameter holding a list of rows as a table: ``columns`` maps name -> its SQL type ('text', 'int' or
        'timestamp', given as a naive UTC datetime)."""
        picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, name in enumerate(columns))
        return f"SELECT {picks} FROM json_each({{{param}}})"

    def plus_minutes(self, moment: str, minutes: str) -> str:
        return f"datetime({moment}, '+' || ({minutes}) || ' minutes')"

    def period_of(self, moment: str, periods: str) -> str:
        """The ``n`` of the row of table ``periods`` (n, s, e: consecutive [s, e) ranges) that holds ``moment``."""
        return f"(SELECT {periods}.n FROM {periods} WHERE {moment} >= {periods}.s AND {moment} < {periods}.e)"


class Postgres(Dialect):
    is_postgres = True

    def rows_of(self, param: str, columns: dict[str, str]) -> str:
        arrays = ", ".join(f"{{{param}__{i}}}::{kind}[]" for i, kind in enumerate(columns.values()))
        return f"SELECT * FROM unnest({arrays}) AS t({', '.join(columns)})"

    def plus_minutes(self, moment: str, minutes: str) -> str:
        return f"{moment} + ({minutes})::int * interval '1 minute'"

    def period_of(self, moment: str, periods: str) -> str:
        # a binary search of the periods' starts (their n must be 0, 1, 2, ... in order)
        return f"width_bucket({moment}, {{{periods}__1}}::timestamp[]) - 1"


SQLITE, POSTGRES = Dialect(), Postgres()


def _as_stored(value):
    """A (naive UTC) datetime or a date in a JSON table as SQLite stores it, so the two compare as text."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a table parameter")


class Statement:
    def __init__(self, name: str, write: Callable[[Dialect], str]):
        self.name = name
        self._write = write

    @functools.cached_property
    def postgres(self) -> tuple[str, tuple[str, ...]]:
        """The SQL with $1, $2, ... (a name used twice is one parameter) and the parameters' names in order."""
        names: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"
        return _TOKEN.sub(number, self._write(POSTGRES)), tuple(names)

    @functools.cached_property
    def sqlite(self) -> str:
        return _TOKEN.sub(r":\1", self._write(SQLITE))

    def rows(self, database, **params) -> list:
        """The statement's rows; a parameter given as a list is a table (a list of rows, each a list or tuple)."""
        return self.run(database, **params).fetchall()

    def run(self, database, **params):
        """Execute the statement; its cursor (``rowcount`` for a write, the rows it returns)."""
        tables = {}
        for name, value in params.items():  # one pass: a statement runs a dozen times a journey
            if isinstance(value, Enum):
                params[name] = value.value
            elif isinstance(value, list):
                tables[name] = value
        if not is_postgres(database):
            as_json = {name: json.dumps(rows, default=_as_stored) for name, rows in tables.items()}
            as_text = {name: _as_stored(v) for name, v in params.items() if isinstance(v, dt.date)}
            return database.execute_sql(self.sqlite, {**params, **as_json, **as_text})
        for name, rows in tables.items():
            params.update((f"{name}__{i}", list(column)) for i, column in enumerate(zip(*rows)))
        sql, names = self.postgres
        prepared = _prepared_on.setdefault(database.connection(), set())  # plans: see kernel/db.PLAN_CACHE_MODE
        if self.name not in prepared:
            database.execute_sql(f"PREPARE {self.name} AS {sql}")
            prepared.add(self.name)
        values = [params[n] if n in params else [] for n in names]  # a table of no rows: empty arrays
        if not names:  # PostgreSQL refuses an empty list: EXECUTE name ()
            return database.execute_sql(f"EXECUTE {self.name}")
        return database.execute_sql(f"EXECUTE {self.name} ({', '.join(['%s'] * len(names))})", values)


class Lookup:
    """A model's rows by a WHERE clause written once (``{named}`` parameters), as peewee model instances whose
    values are converted as its own select converts them, without building the query on every call (most of a
    simple ``get_or_none``'s CPU), from the model's own database:
    ``Lookup(Booking, "ref = {ref}").first(ref="ABC234")``."""

    def __init__(self, model, where: str):
        self.model = model
        self.where = where
        self._sql: dict[str, tuple[str, tuple[str, ...]]] = {}  # parameter mark -> (SQL, parameters in order)

    def _written(self, mark: str) -> tuple[str, tuple[str, ...]]:
        if mark not in self._sql:
            names = tuple(_TOKEN.findall(self.where))
            self._sql[mark] = (f"SELECT * FROM {self.model._meta.table_name} WHERE {_TOKEN.sub(mark, self.where)}",
                               names)
        return self._sql[mark]

    def all(self, **params) -> list:
        database = self.model._meta.database
        sql, names = self._written(database.param)
        values = [params[n].value if isinstance(params[n], Enum) else
                  _as_stored(params[n]) if isinstance(params[n], dt.date) and not is_postgres(database) else params[n]
                  for n in names]
        return list(self.model.raw(sql, *values))

    def first(self, **params):
        found = self.all(**params)
        return found[0] if found else None


def insert(name: str, model, columns: tuple[str, ...]) -> Statement:
    """A prepared INSERT of ``columns`` into ``model``'s table (parameters named as the columns)."""
    table = model._meta.table_name
    return Statement(name, lambda d: f"INSERT INTO {table} ({', '.join(columns)}) "
                                     f"VALUES ({', '.join('{' + c + '}' for c in columns)})")
