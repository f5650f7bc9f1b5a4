"""The reconciler: finds charges and refunds left unfinished past their lease (their request died, or
gave up on the provider) and finishes each as its own request would have. A charge: the provider is
asked what became of its key — charged: the payment is recorded and ``payment.succeeded`` published, so
the saga confirms the booking or refunds a late payment; declined, or never reached the bank: the
attempt fails and the intent is payable again. A refund: sent again under its key until the provider
answers. Run by ``flightbook reconcile-payments`` and in the background of ``serve``."""
from __future__ import annotations

import logging
from functools import partial
from typing import Callable

import peewee as pw

from flightbook.contracts.payments import (PaymentResult, PaymentsStatus, PaymentStatus, ReconciledAttempt,
                                           ReconcileReport, RefundNotAllowed, UnfinishedAttempt)
from flightbook.kernel import clock
from flightbook.kernel.errors import DomainError
from flightbook.kernel.money import Money
from flightbook.modules.payments import attempts, refunds
from flightbook.modules.payments.banking import EntryKind, MockBank
from flightbook.modules.payments.models import BankEntry, Payment
from flightbook.modules.payments.providers import NOT_PROCESSED

log = logging.getLogger("flightbook.payments.reconciler")
RECORDED = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
TAKEN = (False, "left: another reconciler or a retry is finishing it")


def _age(created_at) -> float:
    return (clock.now() - clock.from_db(created_at)).total_seconds()


def reconcile(service, older_than: float | None, dry_run: bool) -> ReconcileReport:
    lines: list[ReconciledAttempt] = []
    cutoff = service.leased_before(older_than)
    for payment in attempts.leases.unfinished(cutoff):
        lines.append(_settle("charge", payment.id, f"booking {payment.booking_ref}", payment, dry_run,
                             partial(_charge_outcome, service, payment, older_than)))
    for refund in refunds.leases.unfinished(cutoff):
        lines.append(_settle("refund", refund.id, f"payment {refund.payment_id}", refund, dry_run,
                             partial(_refund_outcome, service, refund, older_than)))
    return ReconcileReport(lines, dry_run)


def _settle(kind: str, ident: str, subject: str, row, dry_run: bool,
            settle: Callable[[], tuple[bool, str]]) -> ReconciledAttempt:
    if dry_run:
        finished, outcome = False, "would ask the provider"
    else:
        try:
            finished, outcome = settle()
        except DomainError as exc:
            finished, outcome = False, f"left: the provider could not say yet ({exc.message})"
    if not dry_run:  # something a crash left behind: worth a line in the log whatever finished it
        log.warning("reconcile %s %s (%s): %s", kind, ident, subject, outcome)
    return ReconciledAttempt(kind, ident, subject, Money(row.amount, row.currency), _age(row.created_at), outcome,
                             finished)


def _charge_outcome(service, payment, older_than) -> tuple[bool, str]:
    result: PaymentResult | None = service.settle_charge(payment, older_than)
    if result is None:
        return TAKEN
    if result.is_success:
        return True, "succeeded: the bank had charged it; payment recorded, payment.succeeded published"
    if result.failure_code == NOT_PROCESSED:
        return True, "failed: it never reached the bank; the intent is payable again"
    return True, f"failed: declined by the bank ({result.failure_code}); the intent is payable again"


def _refund_outcome(service, refund, older_than) -> tuple[bool, str]:
    try:
        view = service.settle_refund(refund, older_than)
    except RefundNotAllowed as exc:
        return True, f"failed: {exc.message}; the amount is refundable again"
    return TAKEN if view is None else (True, "succeeded: refunded at the provider")


def status() -> PaymentsStatus:
    now = clock.to_db(clock.now())
    rows = [UnfinishedAttempt("charge", p.id, f"booking {p.booking_ref}", Money(p.amount, p.currency),
                              _age(p.created_at), p.lease_expires_at is not None and p.lease_expires_at <= now)
            for p in attempts.leases.unfinished()]
    rows += [UnfinishedAttempt("refund", r.id, f"payment {r.payment_id}", Money(r.amount, r.currency),
                               _age(r.created_at), r.lease_expires_at is not None and r.lease_expires_at <= now)
             for r in refunds.leases.unfinished()]
    return PaymentsStatus(rows, attempts.leases.reconciled_count(), refunds.leases.reconciled_count(),
                          bank_charges_without_payment())


def bank_charges_without_payment() -> int:
    """Money mockbank took that no recorded payment accounts for (the one figure that must always be 0
    once unfinished attempts are reconciled)."""
    recorded = (Payment.select(Payment.provider_ref)
                .where((Payment.provider == MockBank.name) & Payment.status.in_(RECORDED)
                       & Payment.provider_ref.is_null(False)))
    return (BankEntry.select(pw.fn.COUNT(BankEntry.id))
            .where((BankEntry.kind == EntryKind.CHARGE) & BankEntry.id.not_in(recorded)).scalar())
