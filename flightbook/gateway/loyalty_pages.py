"""The traveller's points: balance, tier and the way to the next one, points expiring soon, history."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.loyalty import TransactionKind
from flightbook.gateway.web import Page, page
from flightbook.kernel import validate
from flightbook.kernel.errors import ValidationError

KIND_LABELS = {TransactionKind.EARN: "Earned", TransactionKind.REDEEM: "Used", TransactionKind.EXPIRE: "Expired",
               TransactionKind.REVERSAL: "Reversed", TransactionKind.ADJUST: "Adjusted"}


class Loyalty(Page):
    @page
    def on_get(self, req, resp):
        principal = self.web.traveller(req)
        loyalty = self.web.contracts.loyalty
        user_id = self.web.user_id(principal)
        account = loyalty.get_account(principal, user_id)
        standing = loyalty.tier_standing(principal, user_id)
        try:
            page_no = validate.integer(validate.query(req), "page", minimum=1, required=False, default=1) or 1
        except ValidationError:
            page_no = 1
        history = loyalty.history(principal, user_id, page_no, 20)
        self.web.render(req, resp, "loyalty.html", account=account, current=standing.tier,
                        following=standing.next_tier, progress=standing.progress_percent, history=history,
                        kind_labels=KIND_LABELS, pages=max(1, -(-history.total // history.per_page)),
                        today=dt.date.today())
