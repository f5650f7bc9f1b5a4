"""mockbank: a simulated card issuer living in the payments database.

It answers like Stripe's test cards (see migrations/payments/002_seed_test_cards.py): a charge debits the
card's balance, a refund credits it back, and every entry is keyed by the caller's idempotency key."""
from __future__ import annotations

import hashlib

import peewee as pw

from flightbook.contracts.payments import CardInput
from flightbook.kernel import clock
from flightbook.kernel.db import write_transaction
from flightbook.kernel.money import Money
from flightbook.modules.payments import cards
from flightbook.modules.payments.models import BankCard, BankEntry, database, new_id
from flightbook.modules.payments.providers import (ChargeOutcome, ChargeRequest, ProviderError,
                                                   RefundOutcome)


def pan_hash(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()


class MockBank:
    name = "mockbank"

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        try:
            return self._charge_once(request, card, idempotency_key)
        except pw.IntegrityError:  # a concurrent retry with the same key got there first
            return ChargeOutcome(provider_ref=BankEntry.get(BankEntry.idempotency_key == idempotency_key).id)

    def _charge_once(self, request, card, idempotency_key) -> ChargeOutcome:
        with write_transaction(database):
            done = BankEntry.get_or_none(BankEntry.idempotency_key == idempotency_key)
            if done is not None:
                return ChargeOutcome(provider_ref=done.id)
            account = BankCard.get_or_none(BankCard.pan_hash == pan_hash(card.number))
            failure = self._refusal(account, card)
            if failure or account is None:
                return ChargeOutcome(provider_ref=None, failure_code=failure or "card_declined")
            if not self._debit(account.pan_hash, request.amount):
                return ChargeOutcome(provider_ref=None, failure_code="insufficient_funds")
            entry = BankEntry.create(id=new_id("ch"), idempotency_key=idempotency_key, kind="charge",
                                     pan_hash=account.pan_hash, amount=request.amount.amount,
                                     currency=request.amount.currency, created_at=clock.to_db(clock.now()))
            return ChargeOutcome(provider_ref=entry.id)

    @staticmethod
    def _refusal(account: BankCard | None, card: CardInput) -> str | None:
        if account is None:
            return "card_declined"  # the issuer does not know this card
        if account.behaviour != "approve":
            return account.behaviour
        if cards.is_expired(card.exp_month, card.exp_year, clock.now().date()):
            return "expired_card"
        return None

    @staticmethod
    def _debit(account_hash: str, amount: Money) -> bool:
        # conditional UPDATE: two charges racing for the last of a balance cannot both succeed
        return BankCard.update(balance=BankCard.balance - amount.amount).where(
            (BankCard.pan_hash == account_hash) & (BankCard.balance >= amount.amount)).execute() == 1

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome:
        try:
            with write_transaction(database):
                done = BankEntry.get_or_none(BankEntry.idempotency_key == idempotency_key)
                if done is not None:
                    return RefundOutcome(provider_ref=done.id)
                charge = BankEntry.get_or_none((BankEntry.id == charge_ref) & (BankEntry.kind == "charge"))
                if charge is None:
                    raise ProviderError(f"mockbank knows no charge {charge_ref}")
                given_back = (BankEntry.select(pw.fn.COALESCE(pw.fn.SUM(BankEntry.amount), 0))
                              .where(BankEntry.charge_id == charge.id).scalar())
                if given_back + amount.amount > charge.amount:
                    raise ProviderError("mockbank refuses to refund more than was charged")
                BankCard.update(balance=BankCard.balance + amount.amount).where(
                    BankCard.pan_hash == charge.pan_hash).execute()
                entry = BankEntry.create(id=new_id("re"), idempotency_key=idempotency_key, kind="refund",
                                         pan_hash=charge.pan_hash, amount=amount.amount,
                                         currency=amount.currency, charge_id=charge.id,
                                         created_at=clock.to_db(clock.now()))
                return RefundOutcome(provider_ref=entry.id)
        except pw.IntegrityError:
            return RefundOutcome(provider_ref=BankEntry.get(BankEntry.idempotency_key == idempotency_key).id)
