"""The traveller's points: balance, tier and the way to the next one, points expiring soon, history."""
from __future__ import annotations

import datetime as dt

from flightbook.contracts.loyalty import TransactionKind
from flightbook.gateway.web import Web, page
from flightbook.kernel import validate
from flightbook.kernel.errors import ValidationError

KIND_LABELS = {TransactionKind.EARN: "Earned", TransactionKind.REDEEM: "Used", TransactionKind.EXPIRE: "Expired",
               TransactionKind.REVERSAL: "Reversed", TransactionKind.ADJUST: "Adjusted"}


class Loyalty:
    def __init__(self, web: Web):
        self.web = web

    @page
    def on_get(self, req, resp):
        principal = self.web.traveller(req)
        loyalty = self.web.contracts.loyalty
        account = loyalty.get_account(principal, principal.user_id or 0)
        tiers = loyalty.tiers()
        try:
            page_no = validate.integer(validate.query(req), "page", minimum=1, required=False, default=1)
        except ValidationError:
            page_no = 1
        history = loyalty.history(principal, principal.user_id or 0, page_no or 1, 20)
        self.web.render(req, resp, "loyalty.html", account=account, tiers=tiers,
                        current=next((t for t in tiers if t.name == account.tier), None),
                        following=next((t for t in tiers if t.name == account.next_tier), None),
                        history=history, kind_labels=KIND_LABELS, pages=max(1, -(-history.total // history.per_page)),
                        today=dt.date.today())
