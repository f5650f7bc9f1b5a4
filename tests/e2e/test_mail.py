"""The traveller's mail in each deployment — one process, four services, and four services with two instances of
each module and the events through RabbitMQ — against a real SMTP server in the test process: the same mail
(both parts, the e-ticket PDF, the calendar) once per booking, and a mail server that is away for a while only
delays it (the background job of `serve` sends it when the server is back)."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.e2e.deployments import Deployment, eventually
from tests.e2e.test_journey import Traveller, earned
from tests.mailkit import MailServer, calendar_events, pdf_text, qr_codes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mail_server():
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["one_process", "four_services", "four_services_broker"])
def deployment(request, tmp_path_factory, worker, mail_server):
    running = Deployment(request.param, tmp_path_factory.mktemp(f"mail-{request.param}"), f"mail_{worker}",
                         FLIGHTBOOK_SMTP_URL=mail_server.url, FLIGHTBOOK_MAIL_INTERVAL_SECONDS=1,
                         FLIGHTBOOK_MAIL_RETRY_SECONDS=0.5, FLIGHTBOOK_PUBLIC_URL="https://flightbook.example").start()
    yield running
    running.stop()


def mails_about(mail_server: MailServer, ref: str) -> list:
    return [m for m in list(mail_server.received) if m.message["X-Flightbook-Booking"] == ref]


def paid_booking(traveller: Traveller) -> tuple[dict, dict, dict]:
    date = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    flight = traveller.call("GET", "/flights/search", params={"origin": "LHR", "destination": "JFK", "date": date,
                                                              "passengers": 2})["outbound"][0]
    booking = traveller.book(flight["id"], 2)
    _, paid = traveller.pay(booking["ref"])
    assert paid["status"] == "succeeded"
    return flight, booking, paid


def test_every_deployment_mails_the_same_ticket_once_and_a_mail_server_away_only_delays_it(deployment, mail_server):
    traveller = Traveller(deployment.url).sign_up()
    flight, booking, paid = paid_booking(traveller)
    ref = booking["ref"]
    (mail,) = eventually(lambda: mails_about(mail_server, ref), timeout=60)
    assert mail.message["Subject"] == f"Your e-ticket: booking {ref} is confirmed"
    assert [p.get_content_type() for p in mail.message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf", "text/calendar"]
    points = earned(paid["amount"], paid["currency"])
    for expected in (ref, flight["flight_number"], "LHR London Heathrow Airport, London", "Pax0 Lovelace", "Pax1 Lovelace",
                     f"Points earned: +{points:,} points", f"https://flightbook.example/bookings/{ref}"):
        assert expected in mail.text, expected
    assert ref in mail.html
    files = mail.attachments()
    pdf, ics = files[f"e-ticket-{ref}.pdf"][1], files[f"flights-{ref}.ics"][1]
    assert ref in pdf_text(pdf) and flight["flight_number"] in pdf_text(pdf) and qr_codes(pdf) == [ref]
    (event,) = calendar_events(ics)
    assert event.decoded("dtstart").astimezone(dt.timezone.utc) == dt.datetime.fromisoformat(
        flight["departs_at"].replace("Z", "+00:00"))
    assert traveller.http.get(f"{traveller.api}/tickets/{ref}/pdf", timeout=30).content.startswith(b"%PDF")

    mail_server.stop()
    try:
        _, later, _ = paid_booking(traveller)

        def tried_and_waiting():
            found = traveller.call("GET", "/messages", params={"booking_ref": later["ref"]})["messages"]
            return found and found[0]["status"] == "pending" and found[0]["attempts"] >= 1

        eventually(tried_and_waiting, timeout=60)
    finally:
        mail_server.start()
    (delayed,) = eventually(lambda: mails_about(mail_server, later["ref"]), timeout=60)
    assert delayed.message["Subject"] == f"Your e-ticket: booking {later['ref']} is confirmed"
    time.sleep(2)  # a few more rounds of every process's background job: nothing is sent twice
    assert len(mails_about(mail_server, ref)) == len(mails_about(mail_server, later["ref"])) == 1
    statuses = [m["status"] for m in traveller.call("GET", "/messages")["messages"]]
    assert statuses == ["sent", "sent"]
