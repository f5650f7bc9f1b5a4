"""Sending: never inside a database transaction. A message is taken under a lease (its own short
transaction), composed and handed to the mailer with no transaction open, and its outcome recorded in
another: sent; refused for good (failed, never retried); or failed for a reason that may pass (tried again
after a pause that doubles, by the background job or `flightbook send-mail`)."""
from __future__ import annotations

import collections
import datetime as dt
import logging
import time
from enum import StrEnum
from typing import Callable

from flightbook.contracts.flights import MailReport, MessageStatus
from flightbook.kernel import clock
from flightbook.kernel.part import by_job
from flightbook.kernel.uow import UnitOfWork
from flightbook.modules.flights.booking.bookings import get_booking
from flightbook.modules.flights.notifications import messages
from flightbook.modules.flights.notifications.compose import compose
from flightbook.modules.flights.notifications.facts import facts_of
from flightbook.modules.flights.notifications.mailer import Mailer, PermanentFailure, ServerAway, TemporaryFailure
from flightbook.modules.flights.notifications.messages import MailPolicy
from flightbook.modules.flights.notifications.models import NotificationMessage

log = logging.getLogger("flightbook.mail")

SEND_MAIL_JOB = "send-mail"  # the background job that sends every message due


class Outcome(StrEnum):
    SENT = "sent"
    RETRYING = "retrying"  # this message failed for a reason that may pass
    AWAY = "away"  # the mail server (or folder) took nothing: every message waits
    FAILED = "failed"


class Sender:
    def __init__(self, uow: UnitOfWork, mailer: Mailer, policy: MailPolicy):
        self.uow = uow
        self.mailer = mailer
        self.policy = policy
        #: while the server is away (time.monotonic()), event handlers leave their messages to the background
        #: job, so a server that hangs until the timeout does not hold up the delivery of events
        self.away_until = 0.0

    def later(self, message_ids: list[int]) -> Callable[[], object] | None:
        """What an event handler returns: send these once its transaction has committed (if this fails, the
        server is away or the process dies first, the background job sends them; an event delivered to a
        request worker rings that job at once instead, see kernel.part.Doorbell)."""
        def send_now() -> None:
            for message_id in message_ids:
                if time.monotonic() < self.away_until or self.send(message_id) == Outcome.AWAY:
                    return
        return by_job(SEND_MAIL_JOB, send_now) if message_ids else None

    def send(self, message_id: int) -> Outcome | None:
        """One try at one message; None when it is not ours to send (another sender has it, or it is done)."""
        with self.uow.connection():
            now = clock.now()
            with self.uow.transaction():
                row = messages.claim(message_id, now, self.policy)
            if row is None:
                return None
            try:
                message = compose(row, get_booking(row.booking_ref), facts_of(row.booking_ref), self.policy.sender,
                                  self.policy.public_url, now)
            except Exception as exc:  # a bug must not lose the message: it is tried again, then given up
                log.exception("message %s about booking %s could not be composed", row.id, row.booking_ref)
                return self._retry(row, f"could not be composed: {type(exc).__name__}: {exc}", now)
            try:
                self.mailer.send(message)
            except PermanentFailure as exc:
                log.warning("message %s (%s, booking %s) refused for good: %s", row.id, row.kind, row.booking_ref, exc)
                with self.uow.transaction():
                    messages.failed_for_good(row, str(exc))
                return Outcome.FAILED
            except ServerAway as exc:
                self.away_until = time.monotonic() + self.policy.retry_seconds
                return Outcome.AWAY if self._retry(row, str(exc), now) == Outcome.RETRYING else Outcome.FAILED
            except TemporaryFailure as exc:
                return self._retry(row, str(exc), now)
            with self.uow.transaction():
                messages.sent(row, clock.now())
            log.info("message %s (%s, booking %s) sent to %s", row.id, row.kind, row.booking_ref,
                     self.mailer.destination)
            return Outcome.SENT

    def _retry(self, row: NotificationMessage, reason: str, now: dt.datetime) -> Outcome:
        with self.uow.transaction():
            again = messages.try_again_later(row, reason, now, self.policy)
        log.warning("message %s (%s, booking %s) not sent: %s; %s", row.id, row.kind, row.booking_ref, reason,
                    "will try again" if again else "given up")
        return Outcome.RETRYING if again else Outcome.FAILED

    def send_due(self, ignore_backoff: bool = False) -> MailReport:
        """Messages that waited long enough for a figure go without it; then one try at each message due."""
        with self.uow.connection():
            now = clock.now()
            with self.uow.transaction():
                messages.stop_waiting(now)
            outcomes: collections.Counter = collections.Counter()
            for message_id in messages.due(now, ignore_backoff, limit=1000):
                outcomes[outcome := self.send(message_id)] += 1
                if outcome == Outcome.AWAY:  # the rest would only wait for the same timeout: next round
                    break
            left = messages.counts()
        return MailReport(sent=outcomes[Outcome.SENT], failed=outcomes[Outcome.FAILED],
                          retrying=outcomes[Outcome.RETRYING] + outcomes[Outcome.AWAY],
                          pending=left.get(MessageStatus.PENDING, 0),
                          waiting=left.get(MessageStatus.WAITING, 0), destination=self.mailer.destination)
