"""The payments use cases behind PaymentsContract: the in-process adapter other parts are handed."""
from __future__ import annotations

import dataclasses
import logging

from flightbook.contracts.flights import BookingStatus, BookingView, FlightsContract
from flightbook.contracts.loyalty import LoyaltyContract
from flightbook.contracts.payments import (BookingNotPayable, CardInput, IntentView, PaymentHistory,
                                           PaymentResult, PaymentStatus, RefundExceedsPayment, RefundView)
from flightbook.kernel import clock, data
from flightbook.kernel.auth import Principal, require_self_or_admin, require_user
from flightbook.kernel.errors import Conflict, NotFound, Unavailable, ValidationError
from flightbook.kernel.money import Money
from flightbook.modules.payments import cards, idempotency, ledger, webhooks
from flightbook.modules.payments.models import PaymentIntent
from flightbook.modules.payments.providers import ChargeOutcome, ChargeRequest, ProviderError

log = logging.getLogger("flightbook.payments")

DECLINE_MESSAGES = {
    "card_declined": "the card was declined",
    "insufficient_funds": "the card has insufficient funds",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the card's security code is incorrect",
    "invalid_number": "the card number is not valid",
}


class PaymentsService:
    """Implements PaymentsContract in process."""

    def __init__(self, settings, flights: FlightsContract, loyalty: LoyaltyContract | None, providers: dict,
                 provider_name: str):
        self.secret = settings.service_secret
        self.webhook_secret = settings.stripe_webhook_secret
        self.flights = flights
        self.loyalty = loyalty
        self.providers = providers
        self.provider = providers[provider_name]

    # --- intents ---------------------------------------------------------------------------

    def create_intent(self, caller: Principal, booking_ref: str) -> IntentView:
        caller = require_user(caller)
        booking = self.payable_booking(booking_ref, caller.user_id)
        return ledger.open_intent(booking.ref, booking.user_id, self.amount_due(booking))

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

    def amount_due(self, booking: BookingView) -> Money:
        """What flights says the booking costs, less the points the traveller holds against it."""
        due = booking.total - self.points_hold_value(booking)
        if due.amount <= 0:
            raise BookingNotPayable(f"nothing is left to pay on booking {booking.ref}")
        return due

    def points_hold_value(self, booking: BookingView) -> Money:
        """The value of the points the traveller holds against the booking (none while loyalty is absent)."""
        hold = self.loyalty.active_hold_for_booking(booking.ref) if self.loyalty is not None else None
        if hold is None:
            return Money(0, booking.total.currency)
        if hold.value.currency != booking.total.currency:
            raise BookingNotPayable(f"the points hold on {booking.ref} is valued in {hold.value.currency}, "
                                    f"the booking in {booking.total.currency}")
        return hold.value

    # --- paying ----------------------------------------------------------------------------

    def process_payment(self, caller: Principal, intent_id: str, card: CardInput,
                        idempotency_key: str) -> PaymentResult:
        caller = require_user(caller)
        key = idempotency.checked_key(idempotency_key)
        card = cards.checked(card)
        scope = f"process:{caller.user_id}:{key}"
        request = {"intent_id": intent_id, "card": data.to_dict(card)}
        stored = idempotency.claim(scope, idempotency.request_hash(self.secret, request))
        if stored is not None:
            return data.from_dict(PaymentResult, stored)
        try:
            result = self.attempt_payment(caller.user_id, intent_id, card, scope)
        except BaseException:
            idempotency.release(scope)
            raise
        return self.confirm_booking(result, scope) if result.is_success else result

    def attempt_payment(self, user_id: int, intent_id: str, card: CardInput, scope: str) -> PaymentResult:
        intent = ledger.users_intent(intent_id, user_id)
        if intent.status != "requires_payment_method":
            ledger.refuse_attempt(intent)
        due = self.amount_due(self.payable_booking(intent.booking_ref, user_id))
        ledger.start_attempt(intent, due)
        payment_id = "pay_" + idempotency.derived(self.secret, scope, "payment")
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
            message=DECLINE_MESSAGES.get(outcome.failure_code))
        ledger.record_attempt(result, user_id, self.provider.name, outcome.provider_ref,
                              cards.fingerprint(card.number, self.secret), scope)
        return result

    def charge(self, request: ChargeRequest, card: CardInput, scope: str) -> ChargeOutcome:
        if not cards.passes_luhn(card.number):
            return ChargeOutcome(provider_ref=None, failure_code="invalid_number")
        return self.provider.charge(request, card, idempotency.derived(self.secret, scope, "charge"))

    def confirm_booking(self, result: PaymentResult, scope: str | None) -> PaymentResult:
        """The fast path of the saga: flights confirms now. A hold lost meanwhile gets the money back;
        flights being unreachable is left to the PaymentSucceeded event."""
        try:
            self.flights.confirm_booking(result.booking_ref, result.id)
            return result
        except (Conflict, NotFound) as exc:
            log.warning("booking %s could not be confirmed after payment %s (%s): refunding",
                        result.booking_ref, result.id, exc.code)
        except Exception:
            log.exception("flights did not confirm booking %s after payment %s; the event will",
                          result.booking_ref, result.id)
            return result
        self.refund(result.id, None, f"hold-lost:{result.id}")
        refunded = dataclasses.replace(result, status=PaymentStatus.REFUNDED,
                                       message="the booking's hold ended before the payment; the charge was refunded")
        if scope:
            ledger.replace_result(scope, refunded)
        return refunded

    # --- history and refunds ---------------------------------------------------------------

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
            outcome = self.provider_of(payment).refund(payment.provider_ref, Money(amount, payment.currency),
                                                       idempotency.derived(self.secret, scope, "refund"))
        except ProviderError as exc:
            ledger.unreserve_refund(payment.id, amount)
            raise Unavailable(f"the payment provider did not refund ({exc}); nothing was refunded",
                              code="provider_unavailable") from None
        return ledger.record_refund(payment.id, amount, outcome.provider_ref, scope)

    def provider_of(self, payment) -> object:
        provider = self.providers.get(payment.provider)
        if provider is None:
            raise Unavailable(f"payment {payment.id} was made with {payment.provider}, which is not configured",
                              code="provider_unavailable")
        return provider

    def intent_of_booking(self, booking_ref: str) -> IntentView | None:
        intent = PaymentIntent.get_or_none(PaymentIntent.booking_ref == booking_ref)
        return ledger.intent_view(intent) if intent else None

    # --- webhooks --------------------------------------------------------------------------

    def receive_webhook(self, payload: bytes, signature: str | None) -> dict:
        event = webhooks.verified_event(payload, signature, self.webhook_secret)
        applied, succeeded = webhooks.apply_event(event)
        if succeeded is not None:
            self.confirm_booking(succeeded, None)
        return {"received": True, "event_id": event.id, "replayed": not applied}
