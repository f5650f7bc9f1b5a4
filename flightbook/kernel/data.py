"""Plain data across boundaries: contract dataclasses to JSON-ready dicts and back, by their type hints.

One generic converter keeps the in-process and HTTP adapters honest: whatever an adapter returns has
made (or could make) the round trip through JSON.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import types
import typing

from flightbook.kernel import clock


def to_dict(obj) -> dict:
    return _dump(obj)


_PLAIN = frozenset((str, int, float, bool, type(None)))


def _dump(value):
    kind = type(value)
    if kind in _PLAIN:
        return value
    dump = _dumpers.get(kind)
    if dump is None:
        _dumpers[kind] = dump = _dumper_of(kind)
    return dump(value)


_dumpers: dict = {}  # type -> how a value of it is dumped (found once per type, not tried for each value)


def _dumper_of(kind):
    if dataclasses.is_dataclass(kind):
        return _compile_dumper(kind)
    if issubclass(kind, dt.datetime):
        return clock.iso
    if issubclass(kind, dt.date):
        return kind.isoformat
    if issubclass(kind, (list, tuple)):
        return lambda value: [_dump(v) for v in value]
    if issubclass(kind, dict):
        return lambda value: {k: _dump(v) for k, v in value.items()}
    return _as_it_is


def _as_it_is(value):
    return value


def _compile_dumper(cls):
    """One function per dataclass that builds its dict in a single expression: a field holding a plain JSON
    value is copied, any other goes through ``_dump``. Dumping field by field through ``_dump`` was the
    largest Python cost of answering a flight search."""
    items = ", ".join(f"{f.name!r}: (x if (x := v.{f.name}).__class__ in _PLAIN else _dump(x))"
                      for f in dataclasses.fields(cls))
    namespace = {"_dump": _dump, "_PLAIN": _PLAIN}
    exec(f"def dump(v):\n    return {{{items}}}\n", namespace)  # noqa: S102 - names are a dataclass's fields
    return namespace["dump"]


@functools.lru_cache(maxsize=None)
def _hints(cls):
    return typing.get_type_hints(cls)


def from_dict(cls, data: dict):
    """Build dataclass ``cls`` from a dict made by ``to_dict`` (unknown keys are ignored)."""
    load = _loaders.get(cls)
    if load is None:
        _loaders[cls] = load = _compile_loader(cls)
    return load(data)


_loaders: dict = {}  # dataclass -> its loader


def _compile_loader(cls):
    """A loader for ``cls`` that knows, from the type hints, what each field needs (most need nothing)."""
    hints = _hints(cls)
    fields = tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))

    def load(data: dict):
        kwargs = {}
        for name, convert in fields:
            if name in data:
                value = data[name]
                kwargs[name] = value if convert is None or value is None else convert(value)
        return cls(**kwargs)
    return load


def _converter(tp):
    """The function that turns a JSON value into ``tp`` (never given None), or None when it is taken as it is."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _converter(args[0]) if len(args) == 1 else None
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (typing.Any,)
        item = _converter(inner)
        if item is None:
            return list if origin is list else tuple
        items = (lambda values: [None if v is None else item(v) for v in values])
        return items if origin is list else (lambda values: tuple(items(values)))
    if origin is dict:
        return dict
    if dataclasses.is_dataclass(tp):
        return lambda value: from_dict(tp, value)
    if tp is dt.datetime:
        return _datetime
    if tp is dt.date:
        return lambda value: dt.date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    return None


def _datetime(value):
    return clock.from_db(value.replace("Z", "+00:00")) if isinstance(value, str) else value
