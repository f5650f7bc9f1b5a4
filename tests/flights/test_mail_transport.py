"""The two ways mail leaves: SMTP through the standard library against a real server in the test process
(plain, STARTTLS with a login, TLS from the start; a certificate checked against the authority given), and
the demo's folder of .eml files."""
from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from flightbook.modules.flights.notifications.mailer import (EmlFolder, PermanentFailure, SmtpMailer, SmtpServer,
                                                             TemporaryFailure, mailer_for)
from tests.mailkit import MailServer
from tests.servers import free_port


def message(to: str = "ada@example.com", msgid: str = "<1.booking_confirmed.ABC234@flightbook.example>"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "tickets@flightbook.example", to, "Booking ABC234", msgid
    m.set_content("Your booking ABC234 → New York")
    return m


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: its own authority (the cafile the URL names)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def _only_ada(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"ada", b"s3cret/pass")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def test_plain_smtp_hands_the_message_over(tmp_path):
    server = MailServer().start()
    try:
        SmtpMailer(SmtpServer.parse(server.url)).send(message())
        (got,) = server.wait_for(1)
        assert got.recipients == ["ada@example.com"] and "ABC234 → New York" in got.text
    finally:
        server.stop()


def test_starttls_and_a_login_when_the_server_wants_both(certificate):
    cert, context = certificate
    server = MailServer(tls_context=context, require_starttls=True, auth_required=True,
                        authenticator=_only_ada).start()
    try:
        base = f"smtp://ada:s3cret%2Fpass@127.0.0.1:{server.port}?starttls=1&cafile={cert}"
        SmtpMailer(SmtpServer.parse(base)).send(message())
        assert len(server.wait_for(1)) == 1
        with pytest.raises(TemporaryFailure, match="refused the login"):  # the setting, not the message, is wrong
            SmtpMailer(SmtpServer.parse(base.replace("s3cret", "wrong"))).send(message())
        with pytest.raises(TemporaryFailure):  # no STARTTLS: the server refuses to go on in the clear
            SmtpMailer(SmtpServer.parse(f"smtp://ada:s3cret%2Fpass@127.0.0.1:{server.port}")).send(message())
        with pytest.raises(TemporaryFailure, match="CERTIFICATE_VERIFY_FAILED"):  # not an authority we trust
            SmtpMailer(SmtpServer.parse(base.split("&cafile")[0])).send(message())
        assert len(server.received) == 1
    finally:
        server.stop()


def test_tls_from_the_first_byte(certificate):
    cert, context = certificate
    server = MailServer(ssl_context=context).start()
    try:
        SmtpMailer(SmtpServer.parse(f"smtps://127.0.0.1:{server.port}?cafile={cert}")).send(message())
        assert len(server.wait_for(1)) == 1
    finally:
        server.stop()


def test_a_server_that_is_not_there_is_a_failure_for_now_and_a_refused_address_one_for_good():
    with pytest.raises(TemporaryFailure, match="unreachable"):
        SmtpMailer(SmtpServer.parse(f"smtp://127.0.0.1:{free_port()}?timeout=2")).send(message())
    server = MailServer().start()
    server.refused.add("gone@example.com")
    try:
        with pytest.raises(PermanentFailure, match="550"):
            SmtpMailer(SmtpServer.parse(server.url)).send(message(to="gone@example.com"))
        with pytest.raises(PermanentFailure, match="not an e-mail address"):
            SmtpMailer(SmtpServer.parse(server.url)).send(message(to="nobody"))
        assert server.received == []
    finally:
        server.stop()


def test_without_a_server_each_message_is_an_eml_file_named_by_its_message_id(tmp_path):
    folder = mailer_for("", tmp_path / "mail")
    assert isinstance(folder, EmlFolder) and folder.destination == f".eml files in {tmp_path / 'mail'}"
    folder.send(message())
    folder.send(message())  # the same message again (a send repeated after a crash): the same file
    (written,) = (tmp_path / "mail").iterdir()
    assert written.name == "1.booking_confirmed.ABC234.eml"
    read = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert read["Subject"] == "Booking ABC234" and "New York" in read.get_content()
