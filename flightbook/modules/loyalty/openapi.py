"""The loyalty part's operations for its OpenAPI description, beside ``resources.py`` (kept in step by
tests/kernel/test_openapi.py)."""
from __future__ import annotations

from flightbook.contracts.loyalty import (AccountView, BookingPoints, HistoryPage, LotView, PointsHold, PointsOffer,
                                          PointsRate, PointsReturnQuote, ReversalResult, Tier, TierStanding, WeekPoints)
from flightbook.kernel.money import Money
from flightbook.kernel.openapi import Description, body_schema, describe_admin_events, path, query

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
    _describe_admin(doc)


_REASON = {"type": "string", "minLength": 1, "maxLength": 500}


def _describe_admin(doc: Description) -> None:
    """The admin console's API: an admin's token (anyone else 403); every change is kept in the audit."""
    prefix = "/api/admin/loyalty"
    admin = ("admin",)
    doc.add(f"{prefix}/accounts/{{user_id}}/lots", "GET", "a traveller's lots of points, newest first",
            answer={"type": "object", "required": ["lots"], "properties": {"lots": doc.schema(list[LotView])}},
            params=[_USER], security=admin, errors=(400, 401, 403, 404, 503))
    doc.add(f"{prefix}/accounts/{{user_id}}/adjust", "POST", "add points (a new lot) or take some (oldest expiry "
            "first, never below what is held)", answer=AccountView, params=[_USER],
            body=body_schema({"points": {"type": "integer", "minimum": -(10 ** 12), "maximum": 10 ** 12},
                              "reason": _REASON}, required=("points", "reason")),
            body_example={"points": 500, "reason": "goodwill after a delay"}, security=admin,
            errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/tiers/{{name}}", "POST", "change an existing tier's threshold and multiplier",
            answer={"type": "object", "required": ["tiers"], "properties": {"tiers": doc.schema(list[Tier])}},
            params=[path("name", {"type": "string"}, "the tier's name", "gold")],
            body=body_schema({"threshold": {"type": "integer", "minimum": 0, "maximum": 10 ** 12},
                              "multiplier_permille": {"type": "integer", "minimum": 1000, "maximum": 10000},
                              "reason": _REASON}, required=("threshold", "multiplier_permille", "reason")),
            security=admin, errors=(400, 401, 403, 404, 409, 422, 503))
    doc.add(f"{prefix}/points-by-week", "GET", "points earned, redeemed and expired per week up to today",
            answer={"type": "object", "required": ["weeks"], "properties": {"weeks": doc.schema(list[WeekPoints])}},
            params=[query("today", {"type": "string", "format": "date"}, True, example="2030-05-01"),
                    query("weeks", {"type": "integer", "minimum": 1, "maximum": 104, "default": 12})],
            security=admin, errors=(400, 401, 403, 503))
    describe_admin_events(doc, prefix)
