"""The loyalty contract over HTTP (FLIGHTBOOK_LOYALTY_URL set)."""
from __future__ import annotations

from urllib.parse import quote

import datetime as dt

from flightbook.contracts.loyalty import (AccountView, BookingPoints, HistoryPage, LotView, LoyaltyContract,
                                          PointsHold, PointsOffer, PointsRate, PointsReturnQuote, ReversalResult,
                                          Tier, TierStanding, WeekPoints)
from flightbook.kernel.admin_http import EventsClient
from flightbook.kernel.auth import IN_PROCESS, Principal
from flightbook.kernel.data import from_dict
from flightbook.kernel.httpclient import ServiceClient, bearer
from flightbook.kernel.money import Money


def _segment(value) -> str:
    """A path segment as given (the service validates it), escaped so it cannot reach another route."""
    return quote(str(value), safe="")


class Client(EventsClient, LoyaltyContract):
    """Implements LoyaltyContract by calling a loyalty service.

    Every POST here is idempotent by the contract (earn per booking, a hold repeated with the same
    points, commit, release, reversal), so each may be retried on another instance after a timeout.
    """

    admin_prefix = "/api/admin/loyalty"

    def __init__(self, urls, tokens, caller: str, settings):
        self.http = ServiceClient.for_settings("loyalty", urls, tokens, caller, settings)

    def tiers(self) -> list[Tier]:
        return [from_dict(Tier, t) for t in self.http.call("GET", "/api/loyalty/tiers")["tiers"]]

    def get_account(self, caller: Principal, user_id: int) -> AccountView:
        body = self.http.call("GET", f"/api/loyalty/account/{_segment(user_id)}", token=bearer(caller))
        return from_dict(AccountView, body)

    def tier_standing(self, caller: Principal, user_id: int) -> TierStanding:
        body = self.http.call("GET", f"/api/loyalty/account/{_segment(user_id)}/tier", token=bearer(caller))
        return from_dict(TierStanding, body)

    def points_rate(self, currency: str) -> PointsRate:
        return from_dict(PointsRate, self.http.call("GET", "/api/loyalty/points-rate", params={"currency": currency}))

    def points_value(self, points: int, currency: str) -> Money:
        body = self.http.call("GET", "/api/loyalty/points-value", params={"points": points, "currency": currency})
        return Money.from_dict(body)

    def points_offer(self, caller: Principal, user_id: int, amount: Money) -> PointsOffer:
        body = self.http.call("GET", f"/api/loyalty/account/{_segment(user_id)}/offer", token=bearer(caller),
                              params={"amount": amount.amount, "currency": amount.currency})
        return from_dict(PointsOffer, body)

    # The service-only calls carry this client's service token whatever ``caller`` says.
    def earn(self, user_id: int, booking_ref: str, amount: Money, *, caller: Principal | None = IN_PROCESS) -> int:
        body = self.http.call("POST", "/api/loyalty/earn", idempotent=True, json={
            "user_id": user_id, "booking_ref": booking_ref, "amount": amount.amount, "currency": amount.currency})
        return body["points"]

    def hold_points(self, caller: Principal, user_id: int, points: int, booking_ref: str,
                    currency: str = "USD") -> PointsHold:
        body = self.http.call("POST", "/api/loyalty/redeem", token=bearer(caller), idempotent=True, json={
            "user_id": user_id, "points": points, "booking_ref": booking_ref, "currency": currency})
        return from_dict(PointsHold, body)

    def commit_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        body = self.http.call("POST", f"/api/loyalty/holds/{_segment(hold_id)}/commit", idempotent=True)
        return from_dict(PointsHold, body)

    def release_hold(self, hold_id: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold:
        body = self.http.call("POST", f"/api/loyalty/holds/{_segment(hold_id)}/release", idempotent=True)
        return from_dict(PointsHold, body)

    def active_hold_for_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> PointsHold | None:
        body = self.http.call("GET", f"/api/loyalty/bookings/{_segment(booking_ref)}/hold")
        return from_dict(PointsHold, body["hold"]) if body.get("hold") else None

    def reverse_booking(self, booking_ref: str, *, caller: Principal | None = IN_PROCESS) -> ReversalResult:
        body = self.http.call("POST", "/api/loyalty/reversals", json={"booking_ref": booking_ref}, idempotent=True)
        return from_dict(ReversalResult, body)

    def history(self, caller: Principal, user_id: int, page: int = 1, per_page: int = 20) -> HistoryPage:
        body = self.http.call("GET", f"/api/loyalty/history/{_segment(user_id)}", token=bearer(caller),
                              params={"page": page, "per_page": per_page})
        return from_dict(HistoryPage, body)

    def booking_points(self, caller: Principal, booking_ref: str) -> BookingPoints:
        body = self.http.call("GET", f"/api/loyalty/bookings/{_segment(booking_ref)}/points", token=bearer(caller))
        return from_dict(BookingPoints, body)

    def quote_points_return(self, caller: Principal, booking_ref: str, refund_percent: int) -> PointsReturnQuote:
        body = self.http.call("GET", f"/api/loyalty/bookings/{_segment(booking_ref)}/points-return",
                              token=bearer(caller), params={"refund_percent": refund_percent})
        return from_dict(PointsReturnQuote, body)

    # the admin console's: the admin's own token is passed on
    def admin_lots(self, caller: Principal, user_id: int) -> list[LotView]:
        body = self.http.call("GET", f"{self.admin_prefix}/accounts/{_segment(user_id)}/lots", token=bearer(caller))
        return [from_dict(LotView, lot) for lot in body["lots"]]

    def admin_adjust(self, caller: Principal, user_id: int, points: int, reason: str) -> AccountView:
        # not retried: a second adjustment would add the points twice
        body = self.http.call("POST", f"{self.admin_prefix}/accounts/{_segment(user_id)}/adjust",
                              json={"points": points, "reason": reason}, token=bearer(caller), idempotent=False)
        return from_dict(AccountView, body)

    def admin_set_tier(self, caller: Principal, name: str, threshold: int, multiplier_permille: int,
                       reason: str) -> list[Tier]:
        body = self.http.call("POST", f"{self.admin_prefix}/tiers/{_segment(name)}",
                              json={"threshold": threshold, "multiplier_permille": multiplier_permille,
                                    "reason": reason}, token=bearer(caller), idempotent=False)
        return [from_dict(Tier, t) for t in body["tiers"]]

    def admin_points_by_week(self, caller: Principal, today: dt.date, weeks: int = 12) -> list[WeekPoints]:
        body = self.http.call("GET", f"{self.admin_prefix}/points-by-week",
                              params={"today": today.isoformat(), "weeks": weeks}, token=bearer(caller))
        return [from_dict(WeekPoints, w) for w in body["weeks"]]
