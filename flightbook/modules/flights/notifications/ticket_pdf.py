"""The e-ticket as a PDF (reportlab): the booking reference with a QR code of it to scan at check-in, each
flight in its airports' local times and zones, the passengers and what was paid. The web UI's colours."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from flightbook.contracts.flights import BookingStatus
from flightbook.modules.flights.notifications.tickets import Ticket, TicketFlight

NAVY, BRAND, ACCENT = colors.HexColor("#0a1f44"), colors.HexColor("#0b5fff"), colors.HexColor("#ff7a1a")
INK, MUTED, LINE = colors.HexColor("#0f1b2d"), colors.HexColor("#5b6b82"), colors.HexColor("#dde3ec")
STATUS_COLOURS = {BookingStatus.CONFIRMED: colors.HexColor("#0a8a4a"), BookingStatus.CANCELLED: colors.HexColor("#c62828")}
WIDTH = A4[0] - 36 * mm - 12  # the page between its margins, less the frame's own padding (6 pt a side)
# DejaVu (Debian's fonts-dejavu-core) writes most of the world's names; reportlab's own Vera, Latin only.
_FONT_FILES = [(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")),
               (Path(reportlab.__file__).parent / "fonts" / "Vera.ttf", Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf")]


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    for regular, bold in _FONT_FILES:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("Ticket", str(regular)))
            pdfmetrics.registerFont(TTFont("Ticket-Bold", str(bold)))
            return "Ticket", "Ticket-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9.5, leading=13, textColor=INK)
    return {
        "base": base,
        "muted": ParagraphStyle("muted", parent=base, textColor=MUTED, fontSize=8.5, leading=11),
        "eyebrow": ParagraphStyle("eyebrow", parent=base, textColor=MUTED, fontSize=8, leading=10, fontName=bold),
        "brand": ParagraphStyle("brand", parent=base, fontName=bold, fontSize=16, leading=20, textColor=colors.white),
        "band": ParagraphStyle("band", parent=base, fontSize=9, textColor=colors.HexColor("#dbe6ff"), alignment=TA_RIGHT),
        "ref": ParagraphStyle("ref", parent=base, fontName=bold, fontSize=26, leading=32, textColor=NAVY),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=11.5, leading=15, spaceBefore=4),
        "time": ParagraphStyle("time", parent=base, fontName=bold, fontSize=17, leading=21),
        "time_right": ParagraphStyle("time_right", parent=base, fontName=bold, fontSize=17, leading=21, alignment=TA_RIGHT),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "muted_right": ParagraphStyle("muted_right", parent=base, textColor=MUTED, fontSize=8.5, leading=11,
                                      alignment=TA_RIGHT),
        "centre": ParagraphStyle("centre", parent=base, textColor=MUTED, fontSize=8.5, leading=11, alignment=1),
    }


def qr_code(text: str, size: float = 34 * mm) -> QrCode:
    """Drawn straight on the page, a rectangle per run of dark modules: the graphics widget built a shape
    object for each and encoded the text twice, half the ticket's render time."""
    return QrCode(text, width=size, height=size, qrLevel="M", qrBorder=4)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _band(ticket: Ticket, s) -> Table:
    band = Table([[_p("flightbook", s["brand"]), _p(f"E-ticket · issued {ticket.issued_at:%d %b %Y %H:%M} UTC", s["band"])]],
                 colWidths=[WIDTH * 0.5, WIDTH * 0.5])
    band.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), NAVY), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 10), ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                              ("TOPPADDING", (0, 0), (-1, -1), 8), ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                              ("LINEBELOW", (0, 0), (-1, -1), 3, ACCENT)]))
    return band


def _heading(ticket: Ticket, s) -> Table:
    status = ParagraphStyle("status", parent=s["h2"], textColor=STATUS_COLOURS.get(ticket.status, MUTED))
    left = [_p("BOOKING REFERENCE", s["eyebrow"]), _p(ticket.ref, s["ref"]), _p(ticket.route, s["base"]),
            _p(f"{ticket.status.title()} · {ticket.cabin.title()} · {len(ticket.passengers)} "
               f"passenger{'s' if len(ticket.passengers) != 1 else ''}", status),
            _p("Show this e-ticket, or your booking reference, at check-in.", s["muted"])]
    table = Table([[left, qr_code(ticket.ref)]], colWidths=[WIDTH - 40 * mm, 40 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                               ("LEFTPADDING", (0, 0), (0, 0), 0), ("TOPPADDING", (0, 0), (-1, -1), 10)]))
    return table


def _flight(f: TicketFlight, cabin: str, s) -> KeepTogether:
    arrow = "→" if _fonts()[0] == "Ticket" else "-"
    label = _p(f"{f.direction.upper()} · {f.departs.date} · {cabin.upper()}", s["eyebrow"])
    number = _p(f"{f.airline} · {f.flight_number}", s["muted_right"])
    departs = [_p(f"{f.departs.time} {f.departs.zone}", s["time"]), _p(f"{f.origin.code} {f.origin.name}", s["base"]),
               _p(f"{f.departs.date} · {f.departs.tz}", s["muted"])]
    middle = [_p(f"{f.duration}", s["centre"]), _p(f"{f.origin.code} {arrow} {f.destination.code}", s["centre"])]
    arrives = [_p(f"{f.arrives.time} {f.arrives.zone}" + (" (+1)" if f.next_day else ""), s["time_right"]),
               _p(f"{f.destination.code} {f.destination.name}", s["right"]),
               _p(f"{f.arrives.date} · {f.arrives.tz}", s["muted_right"])]
    table = Table([[label, "", number], [departs, middle, arrives]], colWidths=[WIDTH * 0.4, WIDTH * 0.2, WIDTH * 0.4])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, LINE), ("SPAN", (0, 0), (1, 0)),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LINEABOVE", (0, 0), (-1, 0), 2.5, BRAND),
                               ("LEFTPADDING", (0, 0), (-1, -1), 9), ("RIGHTPADDING", (0, 0), (-1, -1), 9),
                               ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 7)]))
    return KeepTogether([table, Spacer(1, 4 * mm)])


def _two_columns(rows: list[tuple[str, str]], s) -> Table:
    table = Table([[_p(a, s["base"]), _p(b, s["right"])] for a, b in rows], colWidths=[WIDTH * 0.6, WIDTH * 0.4])
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -2), 0.5, LINE), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _payment_rows(ticket: Ticket) -> list[tuple[str, str]]:
    paid = ticket.paid
    rows = [("Fare, all passengers", paid.total.format())]
    if paid.card is not None and paid.card.amount:
        rows.append(("Paid by card", paid.card.format()))
    if paid.points_redeemed:
        worth = f" ({paid.points_value.format()})" if paid.points_value else ""
        rows.append(("Paid with points", f"{paid.points_redeemed:,} points{worth}"))
    rows.append(("Points earned", f"+{paid.points_earned:,} points" if paid.points_earned is not None
                 else "on their way to your account"))
    return rows


def render_pdf(ticket: Ticket) -> bytes:
    s = _styles()
    story: list = [_band(ticket, s), _heading(ticket, s), Spacer(1, 5 * mm), _p("Flights", s["h2"]),
                   _p("Times are local to each airport; the zone is shown beside each time.", s["muted"]),
                   Spacer(1, 2 * mm)]
    story += [_flight(f, ticket.cabin, s) for f in ticket.flights]
    story += [_p("Passengers", s["h2"]),
              _two_columns([(f"{p.first_name} {p.last_name}", f"born {p.date_of_birth:%d %b %Y}")
                            for p in ticket.passengers], s),
              Spacer(1, 4 * mm), _p("Payment", s["h2"]), _two_columns(_payment_rows(ticket), s),
              Spacer(1, 6 * mm), _p(f"Your booking online: {ticket.url} · contact e-mail {ticket.contact_email}",
                                    s["muted"])]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=f"flightbook e-ticket {ticket.ref}", author="flightbook",
                            subject=ticket.route)
    doc.build(story)
    return out.getvalue()
