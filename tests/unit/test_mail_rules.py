"""The mail's pure rules: reading FLIGHTBOOK_SMTP_URL, which figures a message waits for, the pause between
tries, which SMTP answers are for good, and local times with their zones."""
from __future__ import annotations

import datetime as dt

import pytest

from flightbook.contracts.flights import MessageKind
from flightbook.kernel.money import Money
from flightbook.kernel.settings import Settings, SettingsError
from flightbook.modules.flights.notifications.facts import BookingFacts, PointsReversed, PointsSettled
from flightbook.modules.flights.notifications.mailer import PermanentFailure, SmtpServer, TemporaryFailure, _refusal
from flightbook.modules.flights.notifications.messages import MailPolicy, missing_figures, pause_after
from flightbook.modules.flights.notifications.tickets import local_moment

UTC = dt.timezone.utc


def test_an_smtp_url_names_the_server_its_login_and_how_it_is_secured():
    server = SmtpServer.parse("smtp://ada%40mail:p%2Fss@mail.example:587?starttls=1&timeout=5")
    assert (server.host, server.port, server.username, server.password) == ("mail.example", 587, "ada@mail", "p/ss")
    assert server.starttls and not server.tls and server.timeout == 5.0
    assert server.describe() == "smtp://mail.example:587 (STARTTLS)"  # never the password
    assert "p/ss" not in repr(server)
    secure = SmtpServer.parse("smtps://u:p@mail.example?cafile=/etc/ca.pem")
    assert (secure.port, secure.tls, secure.starttls, secure.cafile) == (465, True, False, "/etc/ca.pem")
    plain = SmtpServer.parse("smtp://127.0.0.1")
    assert (plain.port, plain.username, plain.tls, plain.starttls) == (25, "", False, False)


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:notaport", "smtp://host?timeout=x",
                                 "smtp://host?tls=1"])
def test_an_smtp_url_that_does_not_fit_is_refused_without_its_password(url):
    with pytest.raises(ValueError) as refused:
        SmtpServer.parse(url.replace("//", "//user:secret@", 1))
    assert "secret" not in str(refused.value)


def test_mail_settings_are_checked_when_read(tmp_path):
    base = {"FLIGHTBOOK_HOME": str(tmp_path), "FLIGHTBOOK_SECRET_KEY": "k" * 32, "FLIGHTBOOK_SERVICE_SECRET": "s" * 32}
    settings = Settings.from_env(base)
    assert (settings.smtp_url, settings.public_url, settings.mail_folder) == ("", "http://127.0.0.1:8000",
                                                                               tmp_path / "mail")
    for bad in ({"FLIGHTBOOK_SMTP_URL": "http://u:secret@x"}, {"FLIGHTBOOK_PUBLIC_URL": "ftp://x"},
                {"FLIGHTBOOK_MAIL_FROM": "not an address"}, {"FLIGHTBOOK_MAIL_RETRY_SECONDS": "0"},
                {"FLIGHTBOOK_MAIL_MAX_ATTEMPTS": "0"}, {"FLIGHTBOOK_MAIL_WAIT_SECONDS": "soon"}):
        with pytest.raises(SettingsError) as refused:
            Settings.from_env({**base, **bad})
        assert "secret" not in str(refused.value)
    custom = Settings.from_env({**base, "FLIGHTBOOK_PUBLIC_URL": "https://fly.example/", "FLIGHTBOOK_MAIL_FROM":
                                "Flights <no-reply@fly.example>"})
    assert (custom.public_url, custom.mail_from) == ("https://fly.example", "Flights <no-reply@fly.example>")


PAID = BookingFacts(payment_id="pay_1", card_paid=Money(22000, "USD"))
SETTLED = PointsSettled(earned=2200, redeemed=3000, redeemed_value=Money(3000, "USD"))


def test_a_confirmation_waits_for_the_points_loyalty_settles():
    assert missing_figures(MessageKind.BOOKING_CONFIRMED, {}, PAID) == ["points"]
    assert missing_figures(MessageKind.BOOKING_CONFIRMED, {}, BookingFacts(points=SETTLED)) == []


def test_a_cancellation_waits_for_the_points_given_back_and_for_a_card_refund_only_when_one_is_due():
    cancelled = {"was_confirmed": True, "payment_id": "pay_1", "refund_percent": 100}
    assert missing_figures(MessageKind.BOOKING_CANCELLED, cancelled, PAID) == ["points", "card refund"]
    reversed_ = BookingFacts(payment_id="pay_1", card_paid=Money(22000, "USD"), reversal=PointsReversed(2200, 3000))
    assert missing_figures(MessageKind.BOOKING_CANCELLED, cancelled, reversed_) == ["card refund"]
    refunded = BookingFacts(payment_id="pay_1", card_paid=Money(22000, "USD"), reversal=PointsReversed(2200, 3000),
                            refunded={"pay_1": Money(22000, "USD")})
    assert missing_figures(MessageKind.BOOKING_CANCELLED, cancelled, refunded) == []
    too_late = {**cancelled, "refund_percent": 0}  # the fare rule gives nothing back: no refund to wait for
    assert missing_figures(MessageKind.BOOKING_CANCELLED, too_late, reversed_) == []
    points_only = BookingFacts(payment_id="pay_1", card_paid=Money(0, "USD"), reversal=PointsReversed(0, 25000))
    assert missing_figures(MessageKind.BOOKING_CANCELLED, cancelled, points_only) == []
    held = {"was_confirmed": False, "payment_id": None, "refund_percent": 0}
    assert missing_figures(MessageKind.BOOKING_CANCELLED, held, BookingFacts()) == []
    assert missing_figures(MessageKind.BOOKING_EXPIRED, {}, BookingFacts()) == []


def test_the_pause_between_tries_doubles_up_to_an_hour():
    policy = MailPolicy(sender="a@b.example", public_url="http://x", retry_seconds=30)
    assert [pause_after(n, policy).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert pause_after(10 ** 6, policy) == dt.timedelta(hours=1)


def test_a_5xx_for_a_recipient_is_for_good_and_a_4xx_is_for_now():
    assert isinstance(_refusal({"a@b.example": (550, b"no such mailbox")}), PermanentFailure)
    assert isinstance(_refusal({"a@b.example": (452, b"mailbox full for now")}), TemporaryFailure)
    mixed = _refusal({"a@b.example": (452, b"later"), "c@d.example": (553, b"never")})
    assert isinstance(mixed, PermanentFailure) and "c@d.example: 553 never" in str(mixed)


@pytest.mark.parametrize("zone, label", [("Europe/London", "GMT"), ("America/New_York", "EST"),
                                         ("Asia/Kolkata", "IST"), ("Asia/Dubai", "UTC+04"),
                                         ("Asia/Kathmandu", "UTC+05:45"), ("Not/AZone", "UTC")])
def test_a_local_time_says_its_zone(zone, label):
    moment = local_moment(dt.datetime(2026, 12, 1, 9, 5, tzinfo=UTC), zone)
    assert moment.zone == label and moment.utc == dt.datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert moment.date.endswith("Dec 2026")
