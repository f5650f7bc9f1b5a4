"""The search as it travels in URLs and forms: the query string fields of the results pages."""
from __future__ import annotations

from urllib.parse import urlencode

QUERY_FIELDS = ("origin", "destination", "trip", "date", "return_date", "cabin", "passengers", "children", "infants",
                "sort", "stops")


def results_url(data: dict, path: str = "/flights", **changes) -> str:
    merged = {k: v for k, v in {**data, **changes}.items() if k in QUERY_FIELDS and v not in (None, "")}
    return f"{path}?{urlencode(merged)}"
