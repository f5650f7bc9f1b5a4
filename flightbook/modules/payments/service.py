"""The payments use cases behind PaymentsContract: the in-process adapter other parts are handed."""
from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

from flightbook.contracts.flights import BookingStatus, BookingView, FlightsContract
from flightbook.contracts.loyalty import HoldStatus, LoyaltyContract, PointsHold
from flightbook.contracts.payments import (DECLINE_REASONS, BookingNotPayable, CardInput, IntentStatus, IntentView,
                                           PaymentHistory, PaymentNotFound, PaymentQuote, PaymentResult,
                                           PaymentsContract, PaymentStatus, RefundExceedsPayment, RefundNotAllowed,
                                           RefundQuote, RefundView)
from flightbook.kernel import clock, data
from flightbook.kernel.auth import Principal, require_self_or_admin, require_user, traveller_id
from flightbook.kernel.errors import Conflict, NotFound, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.payments import cards, idempotency, ledger, quotes, webhooks
from flightbook.modules.payments.providers import ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError

log = logging.getLogger("flightbook.payments")
POINTS = "points"  # the provider name of a payment the traveller's points made in full


class PaymentsService(PaymentsContract):

    def __init__(self, settings, flights: FlightsContract, loyalty: LoyaltyContract | None, providers: dict,
                 provider_name: str, parallel_lookups: bool = False):
        self.secret = settings.service_secret
        self.webhook_secret = settings.stripe_webhook_secret
        self.flights = flights
        self.loyalty = loyalty
        self.providers = providers
        self.provider = providers[provider_name]
        # When flights and loyalty are other services, the booking and the points hold are read at the same
        # time (two round trips for the price of one); in process they are plain calls and stay in order.
        self._lookups = (ThreadPoolExecutor(max_workers=8, thread_name_prefix="payments-lookup")
                         if parallel_lookups and loyalty is not None else None)

    # --- intents ---------------------------------------------------------------------------

    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        booking, hold = self.booking_and_hold(booking_ref, traveller_id(caller))
        return ledger.open_intent(booking.ref, booking.user_id, self.amount_due(booking, hold))

    def booking_and_hold(self, booking_ref: str, user_id: int) -> tuple[BookingView, PointsHold | None]:
        """The caller's payable booking and the points held against it (None: no hold, or loyalty absent)."""
        if self._lookups is None:
            return self.payable_booking(booking_ref, user_id), self.points_hold(booking_ref)
        hold = self._lookups.submit(self.points_hold, booking_ref)
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

    # --- paying ----------------------------------------------------------------------------

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput | None,
                        idempotency_key: str) -> PaymentResult:
        """``card`` None pays an intent whose amount due is 0 (points cover the total): no provider call."""
        caller = require_user(caller)
        key = idempotency.checked_key(idempotency_key)
        card = cards.checked(card) if card is not None else None
        scope = f"process:{caller.user_id}:{key}"
        request = {"intent_id": intent_id, "card": data.to_dict(card) if card is not None else None}
        stored = idempotency.claim(scope, idempotency.request_hash(self.secret, request))
        if stored is not None:
            return data.from_dict(PaymentResult, stored)
        try:
            result = self.attempt_payment(traveller_id(caller), intent_id, card, scope)
        except BaseException:
            idempotency.release(scope)
            raise
        return self.confirm_booking(result, scope) if result.is_success else result

    def attempt_payment(self, user_id: int, intent_id: str, card: CardInput | None, scope: str) -> PaymentResult:
        intent = ledger.users_intent(intent_id, user_id)
        if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD:
            ledger.refuse_attempt(intent)
        booking, hold = self.booking_and_hold(intent.booking_ref, user_id)
        due = self.amount_due(booking, hold)
        if due.amount > 0 and card is None:
            raise ValidationError("card", f"is required: {due.format()} is left to pay after points")
        ledger.start_attempt(intent, due)
        payment_id = "pay_" + idempotency.derived(self.secret, scope, "payment")
        if due.amount == 0 or card is None:  # card None: points pay it all (checked above)
            return self.pay_with_points(booking, hold, intent, payment_id, user_id, scope)
        try:
            outcome = self.charge(ChargeRequest(payment_id, intent.id, intent.booking_ref, due), card, scope)
        except ProviderError as exc:
            ledger.abandon_attempt(intent.id)
            raise Unavailable(f"the payment provider did not answer ({exc}); nothing was charged, "
                              "retry with the same Idempotency-Key", code="provider_unavailable") from None
        result = PaymentResult(
            id=payment_id, intent_id=intent.id, booking_ref=intent.booking_ref,
            status=PaymentStatus.SUCCEEDED if outcome.is_approved else PaymentStatus.FAILED,
            amount=due.amount, currency=due.currency, card=cards.view(card), failure_code=outcome.failure_code,
            message=DECLINE_REASONS.get(outcome.failure_code or ""))
        ledger.record_attempt(result, user_id, self.provider.name, outcome.provider_ref,
                              cards.fingerprint(card.number, self.secret), scope)
        return result

    def pay_with_points(self, booking: BookingView, hold: PointsHold | None, intent, payment_id: str, user_id: int,
                        scope: str) -> PaymentResult:
        """Points cover the total: a succeeded payment of 0 made with the points hold (its id is the
        payment's provider reference), with the same events as a card payment and no provider call."""
        result = PaymentResult(id=payment_id, intent_id=intent.id, booking_ref=intent.booking_ref,
                               status=PaymentStatus.SUCCEEDED, amount=0, currency=booking.total.currency,
                               message="paid with points")
        ledger.record_attempt(result, user_id, POINTS, hold.hold_id if hold else None, None, scope)
        return result

    def charge(self, request: ChargeRequest, card: CardInput, scope: str) -> ChargeOutcome:
        if not cards.passes_luhn(card.number):
            return ChargeOutcome(provider_ref=None, failure_code="invalid_number")
        return self.provider.charge(request, card, idempotency.derived(self.secret, scope, "charge"))

    def confirm_booking(self, result: PaymentResult, scope: str | None) -> PaymentResult:
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

    # --- history and refunds ---------------------------------------------------------------

    def quote_payment(self, caller: Principal, booking_ref: str, points: int = 0) -> PaymentQuote:
        traveller = require_user(caller)
        return quotes.quote_payment(self.flights, self.loyalty, traveller, traveller_id(traveller), booking_ref, points)

    def quote_refund(self, caller: Principal, booking_ref: str, refund_percent: int) -> RefundQuote:
        traveller = require_user(caller)
        return quotes.quote_refund(self.flights, traveller, traveller_id(traveller), booking_ref, refund_percent)

    def history(self, caller: Principal, user_id: int) -> PaymentHistory:
        require_self_or_admin(caller, user_id, allow_service=True)
        return PaymentHistory(payments=ledger.payments_of(user_id))

    def refund(self, payment_id: str, amount: int | None, idempotency_key: str) -> RefundView:
        key = idempotency.checked_key(idempotency_key)
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount < 1):
            raise ValidationError("amount", "must be a positive whole number of minor units")
        scope = f"refund:{key}"
        request = {"payment_id": payment_id, "amount": amount}
        stored = idempotency.claim(scope, idempotency.request_hash(self.secret, request))
        if stored is not None:
            return data.from_dict(RefundView, stored)
        try:
            return self.give_back(payment_id, amount, scope)
        except BaseException:
            idempotency.release(scope)
            raise

    def give_back(self, payment_id: str, amount: int | None, scope: str) -> RefundView:
        payment = ledger.refundable_payment(payment_id)
        amount = payment.amount - payment.refunded_amount if amount is None else amount
        if amount <= 0:
            raise RefundExceedsPayment(f"payment {payment_id} is already refunded in full", refundable=0)
        ledger.reserve_refund(payment, amount)
        try:
            outcome = self.provider_of(payment).refund(payment.provider_ref or "", Money(amount, payment.currency),
                                                       idempotency.derived(self.secret, scope, "refund"))
        except ProviderError as exc:
            ledger.unreserve_refund(payment.id, amount)
            raise Unavailable(f"the payment provider did not refund ({exc}); nothing was refunded",
                              code="provider_unavailable") from None
        return ledger.record_refund(payment.id, amount, outcome.provider_ref, scope)

    def provider_of(self, payment) -> PaymentProvider:
        provider = self.providers.get(payment.provider)
        if provider is None:
            raise Unavailable(f"payment {payment.id} was made with {payment.provider}, which is not configured",
                              code="provider_unavailable")
        return provider

    # --- the saga's compensations (called by handlers.py inside the inbox transaction) --------

    def refund_rejected_payment(self, payment_id: str) -> RefundView | None:
        """flights could not take this payment: all of it goes back, once (the key is the payment's)."""
        return self._refund_once(payment_id, None, f"rejected:{payment_id}")

    def refund_cancelled_booking(self, booking_ref: str, payment_id: str | None, refund_percent: int):
        """A confirmed booking was cancelled: refund the fare rule's share of what the card paid, once per
        booking. A points-only payment (amount 0) has nothing to refund: loyalty returns the points."""
        payment = ledger.payment_of(payment_id) if payment_id else None
        amount = quotes.cancellation_refund(payment.amount, refund_percent) if payment is not None else 0
        if payment is None or amount == 0:
            return None
        return self._refund_once(payment.id, amount, f"cancel:{booking_ref}")

    def _refund_once(self, payment_id: str, amount: int | None, key: str) -> RefundView | None:
        try:
            return self.refund(payment_id, amount, key)
        except (PaymentNotFound, RefundNotAllowed, RefundExceedsPayment) as exc:
            # nothing (more) to give back: already refunded by other means, or never captured
            log.warning("no refund of payment %s under %s: %s", payment_id, key, exc.message)
            return None

    def cancel_open_intent(self, booking_ref: str) -> bool:
        return ledger.cancel_open_intent(booking_ref)

    # --- webhooks --------------------------------------------------------------------------

    def receive_webhook(self, payload: bytes, signature: str | None) -> dict:
        event = webhooks.verified_event(payload, signature, self.webhook_secret)
        applied, succeeded = webhooks.apply_event(event)
        if succeeded is not None:
            self.confirm_booking(succeeded, None)
        return {"received": True, "event_id": event.id, "replayed": not applied}
