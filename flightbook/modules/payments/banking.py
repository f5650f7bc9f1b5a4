"""mockbank: a simulated card issuer living in the payments database.

It answers like Stripe's test cards (see migrations/payments/002_seed_test_cards.py): a charge debits the
card's balance, a refund credits it back. Like Stripe, it keeps its first answer to every idempotency key
(charge, decline or refund) and can be asked what became of a key; a key asked about before it was ever
used is voided, so a request still on its way with it is refused."""
from __future__ import annotations

import hashlib
from enum import StrEnum

import peewee as pw

from flightbook.contracts.payments import CardInput
from flightbook.kernel import clock
from flightbook.kernel.db import write_transaction
from flightbook.kernel.money import Money
from flightbook.kernel.sql import Lookup, Statement, insert
from flightbook.modules.payments import cards
from flightbook.modules.payments.models import BankCard, BankEntry, new_id
from flightbook.modules.payments.providers import (NOT_PROCESSED, ChargeOutcome, ChargeRequest, RefundOutcome)

_ENTRY = Lookup(BankEntry, "idempotency_key = {idempotency_key}")
_CARD = Lookup(BankCard, "pan_hash = {pan_hash}")
_INSERT_ENTRY = insert("mockbank_insert_entry", BankEntry, ("id", "idempotency_key", "kind", "failure_code", "pan_hash",
                                                            "amount", "currency", "created_at"))
_DEBIT = Statement("mockbank_debit_approving", lambda d: """UPDATE bank_card SET balance = balance - {amount}
WHERE pan_hash = {pan_hash} AND behaviour = {behaviour} AND balance >= {amount}""")



class EntryKind(StrEnum):
    CHARGE = "charge"
    DECLINE = "decline"
    REFUND = "refund"
    VOID = "void"  # a key asked about before it was used: it will never charge



def pan_hash(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()


def _answer(entry: BankEntry) -> ChargeOutcome:
    if entry.kind == EntryKind.CHARGE:
        return ChargeOutcome(provider_ref=entry.id)
    if entry.kind == EntryKind.DECLINE:
        return ChargeOutcome(provider_ref=None, failure_code=entry.failure_code)
    return ChargeOutcome(provider_ref=None, failure_code=NOT_PROCESSED)  # a voided (or misused) key


def _entry(key: str) -> BankEntry | None:
    return _ENTRY.first(idempotency_key=key)


def _entry_of_racer(key: str) -> BankEntry:
    """The entry a concurrent request with the same key wrote (our insert of the key just failed)."""
    return BankEntry.get(BankEntry.idempotency_key == key)


class MockBank:
    name = "mockbank"

    def __init__(self, database):
        self.database = database  # the payments database, where the simulated issuer keeps its own tables

    def charge(self, request: ChargeRequest, card: CardInput, idempotency_key: str) -> ChargeOutcome:
        # No read of the key first: its entry is written in the same transaction as the debit, so a key used
        # before (a retry, a racer, or a key voided by resolve_charge) fails that insert, which rolls the debit
        # back, and the first answer is given.
        try:
            with write_transaction(self.database):
                return _answer(self._decide(request, card, idempotency_key))
        except pw.IntegrityError:
            return _answer(_entry_of_racer(idempotency_key))

    def _decide(self, request: ChargeRequest, card: CardInput, key: str) -> BankEntry:
        account_hash = pan_hash(card.number)
        # the usual case, a good card with the money, is the debit alone; any other reads the card to say why not
        if not cards.is_expired(card.exp_month, card.exp_year, clock.now().date()) and self._debit(
                account_hash, request.amount):
            failure, known = None, True
        else:
            account = _CARD.first(pan_hash=account_hash)
            failure, known = self._refusal(account, card) or "insufficient_funds", account is not None
        approved = failure is None
        entry = {"id": new_id("ch" if approved else "dc"), "idempotency_key": key,
                 "kind": str(EntryKind.CHARGE if approved else EntryKind.DECLINE), "failure_code": failure,
                 "pan_hash": account_hash if known else "", "amount": request.amount.amount,
                 "currency": request.amount.currency, "created_at": clock.to_db(clock.now())}
        _INSERT_ENTRY.run(self.database, **entry)
        return BankEntry(**entry)

    def resolve_charge(self, request: ChargeRequest, idempotency_key: str) -> ChargeOutcome:
        try:
            with write_transaction(self.database):
                done = _entry(idempotency_key)
                if done is None:  # never reached us: close the key, so it cannot charge later
                    done = BankEntry.create(id=new_id("vd"), idempotency_key=idempotency_key, kind=EntryKind.VOID, pan_hash="",
                                            amount=0, currency=request.amount.currency,
                                            created_at=clock.to_db(clock.now()))
                return _answer(done)
        except pw.IntegrityError:  # the charge itself arrived at this very moment
            return _answer(_entry_of_racer(idempotency_key))

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
        # conditional UPDATE: two charges racing for the last of a balance cannot both succeed; a card that
        # does not approve is never debited
        return _DEBIT.run(BankCard._meta.database, amount=amount.amount, pan_hash=account_hash,
                          behaviour="approve").rowcount == 1

    def refund(self, charge_ref: str, amount: Money, idempotency_key: str) -> RefundOutcome:
        try:
            with write_transaction(self.database):
                done = _entry(idempotency_key)
                if done is not None:
                    return RefundOutcome(provider_ref=done.id)
                charge = BankEntry.get_or_none((BankEntry.id == charge_ref) & (BankEntry.kind == EntryKind.CHARGE))
                if charge is None:
                    return RefundOutcome(None, refused_because=f"mockbank knows no charge {charge_ref}")
                given_back = (BankEntry.select(pw.fn.COALESCE(pw.fn.SUM(BankEntry.amount), 0))
                              .where((BankEntry.charge_id == charge.id) & (BankEntry.kind == EntryKind.REFUND)).scalar())
                if given_back + amount.amount > charge.amount:
                    return RefundOutcome(None, refused_because="mockbank refuses to refund more than was charged")
                BankCard.update(balance=BankCard.balance + amount.amount).where(
                    BankCard.pan_hash == charge.pan_hash).execute()
                entry = BankEntry.create(id=new_id("re"), idempotency_key=idempotency_key, kind=EntryKind.REFUND,
                                         pan_hash=charge.pan_hash, amount=amount.amount, currency=amount.currency,
                                         charge_id=charge.id, created_at=clock.to_db(clock.now()))
                return RefundOutcome(provider_ref=entry.id)
        except pw.IntegrityError:
            return RefundOutcome(provider_ref=_entry_of_racer(idempotency_key).id)
