"""Where messages go: an SMTP server (the standard library's smtplib, FLIGHTBOOK_SMTP_URL) or, unset, a folder
of .eml files under FLIGHTBOOK_HOME/mail. A send either works, fails for a reason that may pass (the server is
away, a 4xx: try again later) or is refused for good (a bad address, a 5xx: record it, never retry)."""
from __future__ import annotations

import email.utils
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = ("1", "true", "yes", "on")


class TemporaryFailure(Exception):
    """The message could not be sent now; the same send may work later."""


class ServerAway(TemporaryFailure):
    """Nothing can be sent now, whatever the message: no connection, the login refused, the folder unwritable."""


class PermanentFailure(Exception):
    """The message was refused for good (a bad address, a 5xx answer): sending it again would not help."""


class Mailer(Protocol):
    #: where the mail goes, for people (no password)
    destination: str

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over; TemporaryFailure or PermanentFailure when it was not taken."""


@dataclass(frozen=True)
class SmtpServer:
    """``smtp://[user:pass@]host[:port][?starttls=1][&timeout=S][&cafile=PATH]`` (port 25; STARTTLS before
    logging in when asked) or ``smtps://...`` (TLS from the first byte, port 465). TLS checks the server's
    certificate against the system's authorities, or against ``cafile``."""
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    tls: bool = False
    starttls: bool = False
    timeout: float = 10.0
    cafile: str | None = None

    @classmethod
    def parse(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an smtp:// or smtps:// URL with a host: {redacted(url)!r}")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"starttls", "timeout", "cafile"}
        if unknown:
            raise ValueError(f"FLIGHTBOOK_SMTP_URL: unknown option {', '.join(sorted(unknown))} "
                             "(starttls, timeout and cafile are known)")
        try:
            timeout = float(options.get("timeout", 10))
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ValueError(f"FLIGHTBOOK_SMTP_URL has a bad port or timeout: {redacted(url)!r}") from None
        return cls(host=parts.hostname, port=port, username=unquote(parts.username or ""),
                   password=unquote(parts.password or ""), tls=parts.scheme == "smtps",
                   starttls=options.get("starttls", "").lower() in _TRUE, timeout=timeout,
                   cafile=options.get("cafile"))

    def describe(self) -> str:
        how = " (TLS)" if self.tls else " (STARTTLS)" if self.starttls else ""
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}{how}"


def redacted(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


class SmtpMailer:
    def __init__(self, server: SmtpServer):
        self.server = server
        self.destination = server.describe()

    def send(self, message: EmailMessage) -> None:
        recipients = [a for _, a in email.utils.getaddresses(message.get_all("To", []))]
        if not recipients or not all(_plausible(a) for a in recipients):
            raise PermanentFailure(f"not an e-mail address: {message['To']!r}")
        try:
            with self._session() as smtp:
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(exc.recipients) from None
        except smtplib.SMTPAuthenticationError as exc:  # the server's login, not this message: it may be fixed
            raise ServerAway(f"{self.destination} refused the login: {_answer(exc)}") from None
        except smtplib.SMTPResponseException as exc:
            kind = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            raise kind(f"{self.destination} answered {_answer(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerAway(f"{self.destination} unreachable: {type(exc).__name__}: {exc}") from None
        if refused:  # some recipients took it; the rest will not, however often asked
            raise _refusal(refused)

    def _session(self) -> smtplib.SMTP:
        s = self.server
        context = ssl.create_default_context(cafile=s.cafile)
        smtp: smtplib.SMTP
        if s.tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.starttls:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _plausible(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in address)


def _answer(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


def _refusal(refused: dict) -> Exception:
    """A refusal of recipients: for good when any of them got a 5xx, else (4xx: mailbox busy...) for now."""
    said = "; ".join(f"{who}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                     for who, (code, text) in refused.items())
    if any(code >= 500 for code, _ in refused.values()):
        return PermanentFailure(f"address refused: {said}")
    return TemporaryFailure(f"address not taken now: {said}")


class EmlFolder:
    """The demo's mail: each message written to ``folder`` as ``<Message-ID>.eml`` (sending it again
    rewrites the same file), for a mail program to open."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.destination = f".eml files in {folder}"

    def path_of(self, message: EmailMessage) -> Path:
        name = re.sub(r"[^A-Za-z0-9._-]", "", str(message["Message-ID"]).strip("<>").split("@")[0])
        return self.folder / f"{name or 'message'}.eml"

    def send(self, message: EmailMessage) -> None:
        target = self.path_of(message)
        partial = target.with_suffix(".part")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(message.as_bytes())
            os.replace(partial, target)  # a reader never sees half a message
        except OSError as exc:
            raise ServerAway(f"cannot write {target}: {exc.strerror or exc}") from None


def mailer_for(smtp_url: str, mail_folder: Path) -> Mailer:
    return SmtpMailer(SmtpServer.parse(smtp_url)) if smtp_url else EmlFolder(mail_folder)
