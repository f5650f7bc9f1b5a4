"""Events are facts: frozen dataclasses named in the past tense, carrying ids and values only."""
from __future__ import annotations

import dataclasses
import typing

from flightbook.kernel import data

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True)
class Event:
    topic: typing.ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.topic:
            EVENT_TYPES[cls.topic] = cls

    def payload(self) -> dict:
        return data.to_dict(self)

    @classmethod
    def from_payload(cls, payload: dict):
        return data.from_dict(cls, payload)
