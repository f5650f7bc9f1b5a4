"""The loyalty part's operations for its OpenAPI description, beside ``resources.py`` (kept in step by
tests/kernel/test_openapi.py)."""
from __future__ import annotations

from flightbook.contracts.loyalty import (AccountView, BookingPoints, HistoryPage, PointsHold, PointsOffer,
                                          PointsRate, PointsReturnQuote, ReversalResult, Tier, TierStanding)
from flightbook.kernel.money import Money
from flightbook.kernel.openapi import Description, body_schema, path, query

_CURRENCY = {"type": "string", "minLength": 3, "maxLength": 3, "examples": ["USD"]}
_USER = path("user_id", {"type": "integer", "minimum": 1})
_BOOKING = path("booking_ref", {"type": "string", "maxLength": 40}, example="K7Q2ZD")
_HOLD = path("hold_id", {"type": "string"})


def describe(doc: Description) -> None:
    doc.add("/api/loyalty/tiers", "GET", "the tiers and what they give", security=("optional", "traveller"),
            answer={"type": "object", "required": ["tiers"], "properties": {"tiers": doc.schema(list[Tier])}},
            errors=(401, 503))
    doc.add("/api/loyalty/points-rate", "GET", "points earned per unit and a point's value in a currency",
            answer=PointsRate, params=[query("currency", _CURRENCY, True)], security=("optional", "traveller"),
            errors=(400, 401, 503))
    doc.add("/api/loyalty/points-value", "GET", "what some points are worth", answer=Money,
            params=[query("points", {"type": "integer", "minimum": 0, "maximum": 10 ** 12}, True),
                    query("currency", _CURRENCY, True)], security=("optional", "traveller"), errors=(400, 401, 503))
    doc.add("/api/loyalty/account/{user_id}", "GET", "a traveller's points and tier", answer=AccountView,
            params=[_USER], security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
    doc.add("/api/loyalty/account/{user_id}/offer", "GET", "how many points may pay for an amount",
            answer=PointsOffer, params=[_USER, query("amount", {"type": "integer", "minimum": 0}, True),
                                        query("currency", _CURRENCY, True)],
            security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
    doc.add("/api/loyalty/account/{user_id}/tier", "GET", "the tier standing and what the next needs",
            answer=TierStanding, params=[_USER], security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
    doc.add("/api/loyalty/earn", "POST", "credit points for a paid booking (services)",
            answer={"type": "object", "required": ["user_id", "booking_ref", "points"],
                    "properties": {"user_id": {"type": "integer"}, "booking_ref": {"type": "string"},
                                   "points": {"type": "integer"}}},
            body=body_schema({"user_id": {"type": "integer", "minimum": 1}, "booking_ref": str,
                              "amount": {"type": "integer", "minimum": 0}, "currency": _CURRENCY},
                             required=("user_id", "booking_ref", "amount", "currency")),
            security=("service",), errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/loyalty/redeem", "POST", "hold points towards a booking", answer=PointsHold, status=201,
            body=body_schema({"user_id": {"type": "integer", "minimum": 1}, "points": {"type": "integer", "minimum": 1},
                              "booking_ref": str, "currency": _CURRENCY}, required=("user_id", "points", "booking_ref")),
            body_example={"user_id": 1, "points": 500, "booking_ref": "K7Q2ZD", "currency": "USD"},
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add("/api/loyalty/holds/{hold_id}/commit", "POST", "spend held points (services)", answer=PointsHold,
            params=[_HOLD], security=("service",), errors=(400, 401, 403, 404, 409, 503))
    doc.add("/api/loyalty/holds/{hold_id}/release", "POST", "give held points back (services)", answer=PointsHold,
            params=[_HOLD], security=("service",), errors=(400, 401, 403, 404, 409, 503))
    doc.add("/api/loyalty/bookings/{booking_ref}/hold", "GET", "the live hold on a booking (services)",
            answer={"type": "object", "required": ["hold"],
                    "properties": {"hold": {"anyOf": [doc.schema(PointsHold), {"type": "null"}]}}},
            params=[_BOOKING], security=("service",), errors=(400, 401, 403, 503))
    doc.add("/api/loyalty/bookings/{booking_ref}/points", "GET", "the points a booking earned and spent",
            answer=BookingPoints, params=[_BOOKING], security=("traveller", "service"),
            errors=(400, 401, 403, 404, 503))
    doc.add("/api/loyalty/bookings/{booking_ref}/points-return", "GET", "points a cancellation would give back",
            answer=PointsReturnQuote, params=[_BOOKING, query("refund_percent", {"type": "integer", "minimum": 0,
                                                                                  "maximum": 100}, True)],
            security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
    doc.add("/api/loyalty/reversals", "POST", "take a cancelled booking's points back (services)",
            answer=ReversalResult, body=body_schema({"booking_ref": str}, required=("booking_ref",)),
            security=("service",), errors=(400, 401, 403, 404, 409, 503))
    doc.add("/api/loyalty/history/{user_id}", "GET", "a traveller's points movements, newest first",
            answer=HistoryPage,
            params=[_USER, query("page", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}),
                    query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})],
            security=("traveller", "service"), errors=(400, 401, 403, 404, 503))
