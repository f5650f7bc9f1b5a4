"""HTTP <-> the loyalty service. No business rules here: parse, call, answer."""
from __future__ import annotations

import falcon

from flightbook.kernel import admin_http, data, money, validate
from flightbook.kernel.auth import require_user
from flightbook.kernel.errors import ValidationError
from flightbook.kernel.money import Money


def _principal(req):
    return getattr(req.context, "principal", None)


def _user_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError("user_id", "must be a whole number") from None


def _currency(body: dict, default: str | None = None) -> str:
    code = validate.text(body, "currency", max_len=3, min_len=3, required=default is None) or default
    if code is None or not money.is_currency(code):
        raise ValidationError("currency", "must be an ISO 4217 code such as USD")
    return code


class Tiers:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        resp.media = {"tiers": [data.to_dict(t) for t in self.service.tiers()]}


class PointsRate:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        currency = _currency(validate.query(req))
        resp.media = data.to_dict(self.service.points_rate(currency))


class PointsValue:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        points = validate.integer(params, "points", minimum=0, maximum=10 ** 12)
        resp.media = data.to_dict(self.service.points_value(points, _currency(params)))


class TierStanding:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        resp.media = data.to_dict(self.service.tier_standing(_principal(req), _user_id(user_id)))


class PointsOffer:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        params = validate.query(req)
        amount = Money(validate.integer(params, "amount", minimum=0, maximum=2 ** 62), _currency(params))
        resp.media = data.to_dict(self.service.points_offer(_principal(req), _user_id(user_id), amount))


class BookingPoints:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, booking_ref):
        resp.media = data.to_dict(self.service.booking_points(_principal(req), booking_ref))


class PointsReturnQuote:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, booking_ref):
        percent = validate.integer(validate.query(req), "refund_percent", minimum=0, maximum=100)
        resp.media = data.to_dict(self.service.quote_points_return(_principal(req), booking_ref, percent))


class Account:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        resp.media = data.to_dict(self.service.get_account(_principal(req), _user_id(user_id)))


class Earn:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        user_id = validate.integer(body, "user_id", minimum=1)
        booking_ref = validate.text(body, "booking_ref", max_len=40)
        amount = Money(validate.integer(body, "amount", minimum=0), _currency(body))
        earned = self.service.earn(user_id, booking_ref, amount, caller=_principal(req))
        resp.media = {"user_id": user_id, "booking_ref": booking_ref.upper(), "points": earned}


class Redeem:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        caller = require_user(_principal(req))
        body = validate.body(req)
        hold = self.service.hold_points(caller, validate.integer(body, "user_id", minimum=1),
                                        validate.integer(body, "points", minimum=1),
                                        validate.text(body, "booking_ref", max_len=40), _currency(body, "USD"))
        resp.status = falcon.HTTP_201
        resp.media = data.to_dict(hold)


class CommitHold:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, hold_id):
        resp.media = data.to_dict(self.service.commit_hold(hold_id, caller=_principal(req)))


class ReleaseHold:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, hold_id):
        resp.media = data.to_dict(self.service.release_hold(hold_id, caller=_principal(req)))


class BookingHold:
    """The live hold on a booking (services only): payments subtracts its value from the card amount."""

    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, booking_ref):
        hold = self.service.active_hold_for_booking(booking_ref, caller=_principal(req))
        resp.media = {"hold": data.to_dict(hold) if hold else None}


class Reversals:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp):
        body = validate.body(req)
        resp.media = data.to_dict(self.service.reverse_booking(validate.text(body, "booking_ref", max_len=40),
                                                               caller=_principal(req)))


class History:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        params = validate.query(req)
        page = validate.integer(params, "page", minimum=1, maximum=100000, required=False, default=1)
        per_page = validate.integer(params, "per_page", minimum=1, maximum=100, required=False, default=20)
        resp.media = data.to_dict(self.service.history(_principal(req), _user_id(user_id), page, per_page))


def add_routes(app, service) -> None:
    app.add_route("/api/loyalty/tiers", Tiers(service))
    app.add_route("/api/loyalty/points-rate", PointsRate(service))
    app.add_route("/api/loyalty/points-value", PointsValue(service))
    app.add_route("/api/loyalty/account/{user_id}", Account(service))
    app.add_route("/api/loyalty/account/{user_id}/offer", PointsOffer(service))
    app.add_route("/api/loyalty/account/{user_id}/tier", TierStanding(service))
    app.add_route("/api/loyalty/earn", Earn(service))
    app.add_route("/api/loyalty/redeem", Redeem(service))
    app.add_route("/api/loyalty/holds/{hold_id}/commit", CommitHold(service))
    app.add_route("/api/loyalty/holds/{hold_id}/release", ReleaseHold(service))
    app.add_route("/api/loyalty/bookings/{booking_ref}/hold", BookingHold(service))
    app.add_route("/api/loyalty/bookings/{booking_ref}/points", BookingPoints(service))
    app.add_route("/api/loyalty/bookings/{booking_ref}/points-return", PointsReturnQuote(service))
    app.add_route("/api/loyalty/reversals", Reversals(service))
    app.add_route("/api/loyalty/history/{user_id}", History(service))
    prefix = "/api/admin/loyalty"
    app.add_route(f"{prefix}/accounts/{{user_id}}/lots", AdminLots(service))
    app.add_route(f"{prefix}/accounts/{{user_id}}/adjust", AdminAdjust(service))
    app.add_route(f"{prefix}/tiers/{{name}}", AdminTier(service))
    app.add_route(f"{prefix}/points-by-week", AdminPointsByWeek(service))
    admin_http.add_routes(app, service, prefix)


# the admin console's API (an admin's token; the service checks)
class AdminLots:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp, user_id):
        lots = self.service.admin_lots(_principal(req), _user_id(user_id))
        resp.media = {"lots": [data.to_dict(lot) for lot in lots]}


class AdminAdjust:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, user_id):
        body = validate.body(req)
        points = validate.integer(body, "points", minimum=-(10 ** 12), maximum=10 ** 12)
        resp.media = data.to_dict(self.service.admin_adjust(_principal(req), _user_id(user_id), points,
                                                            validate.text(body, "reason", max_len=500)))


class AdminTier:
    def __init__(self, service):
        self.service = service

    def on_post(self, req, resp, name):
        body = validate.body(req)
        tiers = self.service.admin_set_tier(
            _principal(req), name, validate.integer(body, "threshold", minimum=0, maximum=10 ** 12),
            validate.integer(body, "multiplier_permille", minimum=1000, maximum=10000),
            validate.text(body, "reason", max_len=500))
        resp.media = {"tiers": [data.to_dict(t) for t in tiers]}


class AdminPointsByWeek:
    def __init__(self, service):
        self.service = service

    def on_get(self, req, resp):
        params = validate.query(req)
        weeks = self.service.admin_points_by_week(
            _principal(req), validate.date(params, "today"),
            validate.integer(params, "weeks", minimum=1, maximum=104, required=False, default=12))
        resp.media = {"weeks": [data.to_dict(w) for w in weeks]}
