"""The reconciler: finds charges and refunds left unfinished past their lease (their request died, or
gave up on the provider) and finishes each as its own request would have. A charge: the provider is
asked what became of its key — charged: the payment is recorded and ``payment.succeeded`` published, so
the saga confirms the booking or refunds a late payment; declined, or never reached the bank: the
attempt fails and the intent is payable again. A refund: sent again under its key until the provider
answers. Run by ``flightbook reconcile-payments`` and in the background of ``serve``."""
from __future__ import annotations

from dataclasses import dataclass, field

import peewee as pw

from flightbook.contracts.payments import PaymentStatus
from flightbook.kernel import clock
from flightbook.kernel.errors import DomainError
from flightbook.kernel.money import Money
from flightbook.modules.payments import attempts, refunds
from flightbook.modules.payments.banking import CHARGE
from flightbook.modules.payments.models import BankEntry, Payment
from flightbook.modules.payments.providers import NOT_PROCESSED

RECORDED = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


@dataclass(frozen=True)
class Line:
    kind: str  # charge | refund
    id: str
    subject: str  # "booking ABC123" / "payment pay_..."
    amount: Money
    age_seconds: float
    outcome: str

    def __str__(self) -> str:
        return (f"{self.kind} {self.id} ({self.subject}, {self.amount.format()}) unfinished "
                f"{self.age_seconds:.0f} s -> {self.outcome}")


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    finished: int = 0
    left: int = 0  # the provider could not say yet: tried again next time

    def summary(self, dry_run: bool) -> str:
        if dry_run:
            return f"{len(self.lines)} unfinished to reconcile (dry run: nothing changed)"
        return f"reconciled {self.finished} of {len(self.lines)} unfinished; {self.left} left for the next run"


def _age(created_at) -> float:
    return (clock.now() - clock.from_db(created_at)).total_seconds()


def reconcile(service, older_than: float | None, dry_run: bool) -> Report:
    report = Report()
    cutoff = service.leased_before(older_than)
    for payment in attempts.unfinished(cutoff):
        _settle(report, "charge", payment.id, f"booking {payment.booking_ref}", payment, dry_run,
                lambda p=payment: _charge_outcome(service.settle_charge(p, older_than)))
    for refund in refunds.unfinished(cutoff):
        _settle(report, "refund", refund.id, f"payment {refund.payment_id}", refund, dry_run,
                lambda r=refund: _refund_outcome(service, r, older_than))
    return report


TAKEN = (False, "left: another reconciler or a retry is finishing it")


def _settle(report: Report, kind: str, ident: str, subject: str, row, dry_run: bool, settle) -> None:
    if dry_run:
        finished, outcome = False, "would ask the provider"
    else:
        try:
            finished, outcome = settle()
        except DomainError as exc:
            finished, outcome = False, f"left: the provider could not say yet ({exc.message})"
        report.finished += finished
        report.left += not finished
    report.lines.append(Line(kind, ident, subject, Money(row.amount, row.currency), _age(row.created_at), outcome))


def _charge_outcome(result) -> tuple[bool, str]:
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
    except DomainError as exc:
        if exc.code != "refund_not_allowed":
            raise
        return True, f"failed: {exc.message}; the amount is refundable again"
    return TAKEN if view is None else (True, "succeeded: refunded at the provider")


@dataclass(frozen=True)
class Unfinished:
    kind: str
    id: str
    subject: str
    amount: Money
    age_seconds: float
    lease_lapsed: bool


@dataclass(frozen=True)
class Status:
    unfinished: list[Unfinished]
    reconciled_charges: int
    reconciled_refunds: int
    bank_charges_without_payment: int  # mockbank: charges no recorded payment accounts for; must be 0


def status() -> Status:
    now = clock.to_db(clock.now())
    rows = [Unfinished("charge", p.id, f"booking {p.booking_ref}", Money(p.amount, p.currency), _age(p.created_at),
                       p.lease_expires_at is not None and p.lease_expires_at <= now) for p in attempts.unfinished()]
    rows += [Unfinished("refund", r.id, f"payment {r.payment_id}", Money(r.amount, r.currency), _age(r.created_at),
                        r.lease_expires_at is not None and r.lease_expires_at <= now) for r in refunds.unfinished()]
    return Status(rows, attempts.reconciled_count(), refunds.reconciled_count(), bank_charges_without_payment())


def bank_charges_without_payment() -> int:
    """Money mockbank took that no recorded payment accounts for (the one figure that must always be 0
    once unfinished attempts are reconciled)."""
    recorded = (Payment.select(Payment.provider_ref)
                .where((Payment.provider == "mockbank") & Payment.status.in_(RECORDED)
                       & Payment.provider_ref.is_null(False)))
    return (BankEntry.select(pw.fn.COUNT(BankEntry.id))
            .where((BankEntry.kind == CHARGE) & BankEntry.id.not_in(recorded)).scalar())

