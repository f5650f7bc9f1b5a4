"""The payments use cases behind PaymentsContract: the in-process adapter other parts are handed."""
from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Callable

import peewee as pw

from flightbook.contracts.flights import BookingStatus, BookingView, FlightsContract
from flightbook.contracts.loyalty import HoldStatus, LoyaltyContract, PointsHold
from flightbook.contracts.payments import (DECLINE_REASONS, BookingNotPayable, CardInput, IntentStatus, IntentView,
                                           PaymentHistory, PaymentInProgress, PaymentNotFound, PaymentQuote,
                                           PaymentResult, PaymentsAdmin, PaymentsContract, PaymentsStatus,
                                           PaymentStatus, ReconcileReport, RefundExceedsPayment, RefundNotAllowed,
                                           RefundQuote, RefundStatus, RefundView)
from flightbook.kernel import clock, data, faults
from flightbook.contracts.payments import DeclineCount, PaymentView
from flightbook.kernel import outbox
from flightbook.kernel.outbox import EventRecord, OutboxAdmin, OutboxReport
from flightbook.kernel.auth import (IN_PROCESS, Principal, require_admin, require_self_or_admin,
                                    require_service_or_admin, require_user, traveller_id)
from flightbook.kernel.errors import Conflict, NotFound, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.payments import (attempts, cards, console, idempotency, ledger, quotes, reconciler, refunds,
                                        webhooks)
from flightbook.modules.payments.models import IdempotencyRecord, Payment, PaymentIntent, Refund
from flightbook.modules.payments.providers import PaymentProvider, ProviderError

log = logging.getLogger("flightbook.payments")
POINTS = "points"  # the provider name of a payment the traveller's points made in full


class PaymentsService(OutboxAdmin, PaymentsContract, PaymentsAdmin):
    """Implements PaymentsContract in process, and PaymentsAdmin for the CLI and the background job."""

    def __init__(self, uow: UnitOfWork, settings, flights: FlightsContract, loyalty: LoyaltyContract | None,
                 providers: dict, provider_name: str, parallel_lookups: bool = False):
        self.uow = uow
        self.secret = settings.service_secret
        self.webhook_secret = settings.stripe_webhook_secret
        self.flights = flights
        self.loyalty = loyalty
        self.providers = providers
        self.provider = providers[provider_name]
        self.lease_seconds = settings.payment_lease_seconds
        # When flights and loyalty are other services, the booking and the points hold are read at the same
        # time (two round trips for the price of one); in process they are plain calls and stay in order.
        self._lookups = (ThreadPoolExecutor(max_workers=8, thread_name_prefix="payments-lookup")
                         if parallel_lookups and loyalty is not None else None)

    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        booking, hold = self.booking_and_hold(booking_ref, traveller_id(caller))
        return ledger.open_intent(self.uow, booking.ref, booking.user_id, self.amount_due(booking, hold))

    def booking_and_hold(self, booking_ref: str, user_id: int) -> tuple[BookingView, PointsHold | None]:
        """The caller's payable booking and the points held against it (None: no hold, or loyalty absent)."""
        if self._lookups is None:
            return self.payable_booking(booking_ref, user_id), self.points_hold(booking_ref)
        # in the caller's context, so the call to loyalty carries the request's trace and request id
        hold = self._lookups.submit(contextvars.copy_context().run, self.points_hold, booking_ref)
        return self.payable_booking(booking_ref, user_id), hold.result()

    def payable_booking(self, booking_ref: str, user_id: int) -> BookingView:
        """The caller's booking, still HELD and within its hold (someone else's booking reads as missing)."""
        try:
            booking = self.flights.get_booking(None, booking_ref)
        except NotFound:
            booking = None
        if booking is None or booking.user_id != user_id:
            raise NotFound(f"no booking {booking_ref}", code="booking_not_found")
        if booking.status != BookingStatus.HELD:
            raise BookingNotPayable(f"booking {booking.ref} is {booking.status}, not HELD")
        if booking.hold_expires_at <= clock.now():
            raise BookingNotPayable(f"the hold on booking {booking.ref} has expired")
        return booking

    def amount_due(self, booking: BookingView, hold: PointsHold | None) -> Money:
        """What flights says the booking costs, less the points the traveller holds against it (0 when the
        points cover it all: then the intent is paid with no card)."""
        return quotes.card_part(booking.total, self.hold_value(booking, hold))

    def points_hold(self, booking_ref: str) -> PointsHold | None:
        """The points hold against the booking; None when there is none or loyalty is absent.

        Loyalty being down must not stop a card payment: the intent is then for the whole total, and
        loyalty, told by booking.confirmed what the card paid, releases a hold that was not needed
        instead of spending it."""
        try:
            return self.loyalty.active_hold_for_booking(booking_ref) if self.loyalty is not None else None
        except Unavailable:
            log.warning("loyalty unavailable: intent for booking %s is for the whole total", booking_ref)
            return None

    @staticmethod
    def hold_value(booking: BookingView, hold: PointsHold | None) -> Money:
        if hold is None:
            return Money(0, booking.total.currency)
        if hold.value.currency != booking.total.currency:
            raise BookingNotPayable(f"the points hold on {booking.ref} is valued in {hold.value.currency}, "
                                    f"the booking in {booking.total.currency}")
        return hold.value

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput | None,
                        idempotency_key: str) -> PaymentResult:
        """``card`` None pays an intent whose amount due is 0 (points cover the total): no provider call."""
        user_id = traveller_id(caller)
        key = idempotency.checked_key(idempotency_key)
        card = cards.checked(card) if card is not None else None
        scope = f"process:{user_id}:{key}"
        req_hash = idempotency.request_hash(self.secret, {"intent_id": intent_id,
                                                          "card": data.to_dict(card) if card is not None else None})
        record, intent = idempotency.find_with_intent(scope, req_hash, intent_id)
        answered = self.answer_for_record(record)
        if answered is not None:
            return answered
        try:
            result = self.attempt_payment(user_id, intent_id, card, scope, req_hash, intent)
        except (attempts.KeyTaken, Conflict) as exc:
            # the same key a moment earlier (it took the key, or already paid the intent): answer as it does
            answered = self.answer_for_key(scope, req_hash)
            if answered is not None:
                return answered
            raise idempotency.in_progress() if isinstance(exc, attempts.KeyTaken) else exc
        return self.confirm_booking(result) if result.is_success else result

    def answer_for_key(self, scope: str, req_hash: str) -> PaymentResult | None:
        """What a key already claimed answers: its stored result; 409 while its attempt's lease runs; past
        the lease, the attempt finished now (the reconciler's path) and its result. None: key unused."""
        return self.answer_for_record(idempotency.find(scope, req_hash))

    def answer_for_record(self, record: IdempotencyRecord | None) -> PaymentResult | None:
        """``answer_for_key`` of a record already read (None: key unused)."""
        if record is None:
            return None
        stored = idempotency.stored_result(record)
        if stored is not None:
            return data.from_dict(PaymentResult, stored)
        result = self.settle_charge(Payment.get_by_id(record.resource_id))
        if result is None:
            raise idempotency.in_progress()
        return self.confirm_booking(result) if result.is_success else result

    def attempt_payment(self, user_id: int, intent_id: str, card: CardInput | None, scope: str,
                        req_hash: str, read: PaymentIntent | None = None) -> PaymentResult:
        """``read``: the intent, if the caller read it already."""
        intent = self.payable_intent(intent_id, user_id, read)
        booking, hold = self.booking_and_hold(intent.booking_ref, user_id)
        due = self.amount_due(booking, hold)
        if due.amount > 0 and card is None:
            raise ValidationError("card", f"is required: {due.format()} is left to pay after points")
        payment_id = "pay_" + idempotency.derived(self.secret, scope, "payment")
        if due.amount == 0 or card is None:  # card None: points pay it all (checked above)
            return self.pay_with_points(booking, hold, intent, payment_id, user_id, scope, req_hash)
        if not cards.passes_luhn(card.number):  # no bank would take it: a decline without a provider call
            result = PaymentResult(id=payment_id, intent_id=intent.id, booking_ref=intent.booking_ref,
                                   status=PaymentStatus.FAILED, amount=due.amount, currency=due.currency,
                                   card=cards.view(card), failure_code="invalid_number",
                                   message=DECLINE_REASONS["invalid_number"])
            attempts.record_final(self.uow, result, user_id, self.provider.name, None, None, scope, req_hash)
            return result
        return self.charge(intent, user_id, due, card, payment_id, scope, req_hash)

    def payable_intent(self, intent_id: str, user_id: int, read: PaymentIntent | None = None) -> PaymentIntent:
        """The caller's intent, waiting for a payment method; an attempt on it abandoned past its lease is
        finished first (so a new key is never refused for ever by a crashed request). ``read``: the intent, if
        the caller read it already."""
        intent = ledger.users_intent(intent_id, user_id, read)
        if intent.status == IntentStatus.PROCESSING:
            stuck = attempts.processing_attempt(intent.id)
            settled = self.settle_charge(stuck) if stuck is not None else None
            if stuck is not None and settled is None:
                raise PaymentInProgress(f"a payment for intent {intent.id} is in progress; wait for it",
                                        retry_after=1)
            if settled is not None and settled.is_success:
                self.confirm_booking(settled)
            intent = ledger.users_intent(intent_id, user_id)
        if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD:
            ledger.refuse_attempt(intent)
        return intent

    def charge(self, intent, user_id: int, due: Money, card: CardInput, payment_id: str, scope: str,
               req_hash: str) -> PaymentResult:
        """Record the attempt, then charge under its key, then record the outcome: a crash between any two
        steps leaves an attempt the reconciler (or a retry with the same key) finishes."""
        try:
            attempt = attempts.begin(self.uow, intent, user_id, due, payment_id, self.provider.name,
                                     idempotency.derived(self.secret, scope, "charge"), cards.view(card),
                                     cards.fingerprint(card.number, self.secret), scope, req_hash, self.lease_seconds)
        except attempts.IntentTaken:
            ledger.refuse_attempt(PaymentIntent.get_by_id(intent.id))
        faults.reach("payments.attempt_recorded")
        try:
            outcome = self.provider.charge(attempts.charge_request(attempt), card, attempts.provider_key(attempt))
        except ProviderError as exc:
            attempts.leases.let_go(self.uow, attempt.id)
            raise Unavailable(f"the payment provider did not answer ({exc}); retry with the same Idempotency-Key: "
                              "the payment is then finished, and the card is charged at most once",
                              code="provider_unavailable") from None
        faults.reach("payments.charged")
        result = attempts.finish(self.uow, attempt, outcome)
        faults.reach("payments.payment_recorded")
        return result

    def settle_charge(self, payment: Payment, older_than: float | None = None) -> PaymentResult | None:
        """Finish an unfinished attempt as its own request would have: ask the provider what became of its
        key (which also closes the key there if the charge never arrived). None: its lease still runs, or
        another request or reconciler is on it. ``older_than``: take attempts whose lease started at least
        that long ago, even if it still runs (the reconciler's option; the default waits for the lease)."""
        if payment.status != PaymentStatus.PROCESSING:
            return attempts.result_of(payment)
        if not attempts.leases.take_over(self.uow, payment.id, self.leased_before(older_than), self.lease_seconds):
            return None
        try:
            outcome = self.provider_of(payment).resolve_charge(attempts.charge_request(payment),
                                                               attempts.provider_key(payment))
        except ProviderError as exc:
            attempts.leases.let_go(self.uow, payment.id)
            raise Unavailable(f"the payment provider did not answer ({exc}); the payment will be finished "
                              "when it does", code="provider_unavailable") from None
        return attempts.finish(self.uow, payment, outcome, reconciled=True)

    def leased_before(self, older_than: float | None) -> dt.datetime:
        """Leases ending by this instant are up for taking: lapsed ones, or with ``older_than`` those
        started at least that many seconds ago."""
        now = clock.now()
        if older_than is None:
            return now
        return now + dt.timedelta(seconds=self.lease_seconds - older_than)

    def pay_with_points(self, booking: BookingView, hold: PointsHold | None, intent, payment_id: str, user_id: int,
                        scope: str, req_hash: str) -> PaymentResult:
        """Points cover the total: a succeeded payment of 0 made with the points hold (its id is the
        payment's provider reference), with the same events as a card payment and no provider call."""
        result = PaymentResult(id=payment_id, intent_id=intent.id, booking_ref=intent.booking_ref,
                               status=PaymentStatus.SUCCEEDED, amount=0, currency=booking.total.currency,
                               message="paid with points")
        try:
            attempts.record_final(self.uow, result, user_id, POINTS, hold.hold_id if hold else None, None, scope, req_hash)
        except attempts.IntentTaken:
            ledger.refuse_attempt(PaymentIntent.get_by_id(intent.id))
        except pw.IntegrityError:
            raise attempts.KeyTaken(scope) from None
        return result

    def confirm_booking(self, result: PaymentResult) -> PaymentResult:
        """The fast path of the saga: flights confirms now. When it cannot (the hold lapsed meanwhile, or
        flights is unreachable), the PaymentSucceeded event already in the outbox decides: flights confirms
        late if the seats are still free, otherwise it rejects the payment and ``refund_rejected_payment``
        gives the money back. So the event path alone refunds, exactly once."""
        try:
            booking = self.flights.confirm_booking(result.booking_ref, result.id,
                                                   paid=Money(result.amount, result.currency))
            if result.amount < booking.total.amount:  # points paid the rest
                self.commit_points_hold(result.booking_ref)
            return result
        except (Conflict, NotFound) as exc:
            log.warning("booking %s not confirmed at once after payment %s (%s): the saga settles it",
                        result.booking_ref, result.id, exc.code)
            message = ("paid after the booking's hold ended: it is confirmed if its seats are still free, "
                       "otherwise this payment is refunded in full")
        except Exception:
            log.exception("flights did not confirm booking %s after payment %s; the event will",
                          result.booking_ref, result.id)
            message = "paid; the booking will be confirmed shortly"
        return dataclasses.replace(result, message=message)

    def commit_points_hold(self, booking_ref: str) -> None:
        """Fast path for the points part, so the traveller sees them spent at once; loyalty's
        booking.confirmed handler guarantees it (committing twice is a no-op), so a failure here waits."""
        try:
            hold = self.loyalty.active_hold_for_booking(booking_ref) if self.loyalty is not None else None
            if hold is not None and self.loyalty is not None and hold.status == HoldStatus.PENDING:
                self.loyalty.commit_hold(hold.hold_id)
        except Exception:
            log.exception("points hold of booking %s not committed at once; booking.confirmed will", booking_ref)

    def quote_payment(self, caller: Principal, booking_ref: str, points: int = 0) -> PaymentQuote:
        traveller = require_user(caller)
        return quotes.quote_payment(self.flights, self.loyalty, traveller, traveller_id(traveller), booking_ref, points)

    def quote_refund(self, caller: Principal, booking_ref: str, refund_percent: int) -> RefundQuote:
        traveller = require_user(caller)
        return quotes.quote_refund(self.flights, traveller, traveller_id(traveller), booking_ref, refund_percent)

    # the admin console's: an admin's token
    def admin_payments(self, caller: Principal, booking_ref: str | None = None,
                       user_id: int | None = None) -> list[PaymentView]:
        require_admin(caller)
        if booking_ref is None and user_id is None:
            raise ValidationError("booking_ref", "name a booking or a traveller")
        if booking_ref is not None and (not isinstance(booking_ref, str) or not 1 <= len(booking_ref.strip()) <= 16):
            raise ValidationError("booking_ref", "must be 1-16 characters")
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1):
            raise ValidationError("user_id", "must be a positive whole number")
        with self.uow.connection():
            return console.payments(booking_ref.strip().upper() if booking_ref else None, user_id)

    def admin_declines(self, caller: Principal, since: dt.datetime) -> list[DeclineCount]:
        require_admin(caller)
        if not isinstance(since, dt.datetime):
            raise ValidationError("since", "is required (an ISO 8601 time)")
        with self.uow.connection():
            return console.declines(since)

    def admin_booking_events(self, caller: Principal, ref: str) -> list[EventRecord]:
        require_admin(caller)
        if not isinstance(ref, str) or not 1 <= len(ref.strip()) <= 16:
            raise ValidationError("ref", "must be 1-16 characters")
        return outbox.events_about(self.uow.database, ref.strip().upper())

    def history(self, caller: Principal, user_id: int) -> PaymentHistory:
        require_self_or_admin(caller, user_id, allow_service=True)
        return PaymentHistory(payments=ledger.payments_of(user_id))

    def refund(self, payment_id: str, amount: int | None, idempotency_key: str, *,
               caller: Principal | None = IN_PROCESS) -> RefundView:
        require_service_or_admin(caller)
        key = idempotency.checked_key(idempotency_key)
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount < 1):
            raise ValidationError("amount", "must be a positive whole number of minor units")
        scope = f"refund:{key}"
        req_hash = idempotency.request_hash(self.secret, {"payment_id": payment_id, "amount": amount})
        answered = self.refund_answer_for_key(scope, req_hash)
        if answered is not None:
            return answered
        try:
            refund = self.begin_refund(payment_id, amount, scope, req_hash)
        except (attempts.KeyTaken, Conflict) as exc:  # the same key a moment earlier: answer as it does
            answered = self.refund_answer_for_key(scope, req_hash)
            if answered is not None:
                return answered
            raise idempotency.in_progress() if isinstance(exc, attempts.KeyTaken) else exc
        return self.send_refund(refund)

    def refund_answer_for_key(self, scope: str, req_hash: str) -> RefundView | None:
        record = idempotency.find(scope, req_hash)
        if record is None:
            return None
        stored = idempotency.stored_result(record)
        if stored is None:
            view = self.settle_refund(Refund.get_by_id(record.resource_id))
            if view is None:
                raise idempotency.in_progress()
            return view
        if "error" in stored:
            raise RefundNotAllowed(stored["error"]["message"])
        return data.from_dict(RefundView, stored)

    def begin_refund(self, payment_id: str, amount: int | None, scope: str, req_hash: str) -> Refund:
        payment = refunds.refundable_payment(payment_id)
        amount = payment.amount - payment.refunded_amount if amount is None else amount
        if amount <= 0:
            raise RefundExceedsPayment(f"payment {payment_id} is already refunded in full", refundable=0)
        return refunds.begin(self.uow, payment, amount, "re_" + idempotency.derived(self.secret, scope, "refund_id"),
                             idempotency.derived(self.secret, scope, "refund"), scope, req_hash, self.lease_seconds)

    def send_refund(self, refund: Refund, reconciled: bool = False) -> RefundView:
        """Call the provider for a recorded refund (first time, or again under the same key) and record
        its answer; a refusal for good is a 409 refund_not_allowed and gives the reservation back."""
        payment = Payment.get_by_id(refund.payment_id)
        faults.reach("payments.refund_recorded")
        try:
            outcome = self.provider_of(payment).refund(payment.provider_ref or "", Money(refund.amount, refund.currency),
                                                       attempts.provider_key(refund))
        except ProviderError as exc:
            refunds.leases.let_go(self.uow, refund.id)
            raise Unavailable(f"the payment provider did not refund ({exc}); the refund is recorded and will be "
                              "sent again until it answers", code="provider_unavailable") from None
        faults.reach("payments.refunded")
        view = refunds.finish(self.uow, refund, outcome, reconciled=reconciled)
        if view.status == RefundStatus.FAILED:
            raise RefundNotAllowed(f"the provider refused this refund: {outcome.refused_because or 'refused'}")
        return view

    def settle_refund(self, refund: Refund, older_than: float | None = None) -> RefundView | None:
        """Send a pending refund again under its key (None: its lease still runs, or someone else is on it)."""
        if refund.status != RefundStatus.PENDING:
            return ledger.refund_view(refund, Payment.get_by_id(refund.payment_id))
        if not refunds.leases.take_over(self.uow, refund.id, self.leased_before(older_than), self.lease_seconds):
            return None
        return self.send_refund(refund, reconciled=True)

    def provider_of(self, payment) -> PaymentProvider:
        provider = self.providers.get(payment.provider)
        if provider is None:
            raise Unavailable(f"payment {payment.id} was made with {payment.provider}, which is not configured",
                              code="provider_unavailable")
        return provider

    # the saga's compensations (called by handlers.py inside the inbox transaction)

    def refund_rejected_payment(self, payment_id: str) -> Callable[[], object] | None:
        """flights could not take this payment: all of it goes back, once (the key is the payment's)."""
        return self.refund_later(payment_id, None, f"rejected:{payment_id}")

    def refund_cancelled_booking(self, booking_ref: str, payment_id: str | None,
                                 refund_percent: int) -> Callable[[], object] | None:
        """A confirmed booking was cancelled: refund the fare rule's share of what the card paid, once per
        booking. A points-only payment (amount 0) has nothing to refund: loyalty returns the points."""
        payment = ledger.payment_of(payment_id) if payment_id else None
        amount = quotes.cancellation_refund(payment.amount, refund_percent) if payment is not None else 0
        if payment is None or amount == 0:
            return None
        return self.refund_later(payment.id, amount, f"cancel:{booking_ref}")

    def refund_later(self, payment_id: str, amount: int | None, key: str) -> Callable[[], object] | None:
        """Inside the event's transaction: record the refund as owed (amount reserved, provider key), so it
        commits with the event's inbox record; the provider is called once that has committed (the
        returned follow-up), or by the reconciler if this process dies first."""
        scope = f"refund:{key}"
        req_hash = idempotency.request_hash(self.secret, {"payment_id": payment_id, "amount": amount})
        record = idempotency.find(scope, req_hash)
        if record is not None:
            refund = Refund.get_or_none(Refund.id == record.resource_id)
            return partial(self.settle_refund, refund) if refund and refund.status == RefundStatus.PENDING else None
        try:
            refund = self.begin_refund(payment_id, amount, scope, req_hash)
        except (PaymentNotFound, RefundNotAllowed, RefundExceedsPayment) as exc:
            # nothing (more) to give back: already refunded by other means, or never captured
            log.warning("no refund of payment %s under %s: %s", payment_id, key, exc.message)
            return None
        return partial(self.send_refund, refund)

    def cancel_open_intent(self, booking_ref: str) -> bool:
        return ledger.cancel_open_intent(self.uow, booking_ref)

    def receive_webhook(self, payload: bytes, signature: str | None) -> dict:
        event = webhooks.verified_event(payload, signature, self.webhook_secret)
        applied, succeeded = webhooks.apply_event(self.uow, event)
        if succeeded is not None:
            self.confirm_booking(succeeded)
        return {"received": True, "event_id": event.id, "replayed": not applied}

    # PaymentsAdmin: the CLI's and serve's background job's

    def reconcile(self, older_than: float | None = None, dry_run: bool = False) -> ReconcileReport:
        return reconciler.reconcile(self, older_than, dry_run)

    def payments_status(self) -> PaymentsStatus:
        return reconciler.status()
