"""A real SMTP server in the test process (aiosmtpd) that keeps what it receives, and helpers to read the
mail: its parts, its attachments, the PDF's text and QR code, the calendar's events."""
from __future__ import annotations

import email
import email.policy
import io
import os
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    #: the process that sent it (with ``MailServer(track_senders=True)``; else None)
    sender_pid: int | None = None

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def attachments(self) -> dict[str, tuple[str, bytes]]:
        """filename -> (content type, bytes)."""
        found = {}
        for part in self.message.iter_attachments():
            content = part.get_content()
            found[part.get_filename()] = (part.get_content_type(),
                                          content.encode() if isinstance(content, str) else content)
        return found


class _Keeper:
    """The server's handler: refuses the addresses in ``refused`` with a 550, keeps the rest."""

    def __init__(self, mailbox: "MailServer"):
        self.mailbox = mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.mailbox.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        # the client waits for our answer, so its end of the connection is still open to be found
        pid = owner_of_connection(session.peer[1], self.mailbox.port) if self.mailbox.track_senders else None
        with self.mailbox.lock:
            self.mailbox.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, pid))
        return "250 Message accepted for delivery"


def owner_of_connection(local_port: int, remote_port: int) -> int | None:
    """The pid holding the IPv4 TCP socket from 127.0.0.1:``local_port`` to ``remote_port`` (from /proc)."""
    inodes = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == local_port and int(fields[2].split(":")[1], 16) == remote_port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return int(pid)
        except OSError:  # gone, or not ours to read
            continue
    return None


class MailServer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self, port: int | None = None, track_senders: bool = False, **smtp_options):
        self.port = port or free_port()
        self.track_senders = track_senders
        self.received: list[Received] = []
        self.refused: set[str] = set()
        self.lock = threading.Lock()
        self._options = smtp_options
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailServer":
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) expected within {timeout}s, {len(self.received)} arrived")


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """What a scanner reads off the PDF's page, rendered at print resolution."""
    import pypdfium2
    import zxingcpp

    image = pypdfium2.PdfDocument(pdf)[page].render(scale=3).to_pil()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def calendar_events(ics: bytes) -> list:
    import icalendar

    return list(icalendar.Calendar.from_ical(ics).walk("VEVENT"))
