"""The e-ticket as a PDF (reportlab): the booking reference with a QR code of it to scan at check-in, each
flight in its airports' local times and zones, the passengers and what was paid. The web UI's colours.

Drawn on reportlab's canvas at positions worked out here, not laid out by platypus: the tables, paragraphs
and their markup parser were three quarters of a ticket's CPU (the background work of every booking), for
a page whose shape never changes. Text too wide for its place wraps (``_lines``); a block that no longer
fits the page starts the next one, as platypus' KeepTogether did."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from flightbook.contracts.flights import BookingStatus
from flightbook.modules.flights.notifications.tickets import Ticket, TicketFlight

NAVY, BRAND, ACCENT = colors.HexColor("#0a1f44"), colors.HexColor("#0b5fff"), colors.HexColor("#ff7a1a")
INK, MUTED, LINE = colors.HexColor("#0f1b2d"), colors.HexColor("#5b6b82"), colors.HexColor("#dde3ec")
BAND_TEXT = colors.HexColor("#dbe6ff")
STATUS_COLOURS = {BookingStatus.CONFIRMED: colors.HexColor("#0a8a4a"), BookingStatus.CANCELLED: colors.HexColor("#c62828")}
PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 18 * mm + 6  # the page's margin and the frame's own padding (6 pt), as the platypus layout had them
WIDTH = PAGE_WIDTH - 36 * mm - 12
TOP, BOTTOM = PAGE_HEIGHT - 14 * mm - 6, 14 * mm + 6
QR_SIZE = 34 * mm
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


@dataclass(frozen=True)
class Style:
    size: float
    leading: float
    colour: colors.Color = INK
    bold: bool = False
    space_before: float = 0  # above it, under a paragraph in the same column

    @property
    def font(self) -> str:
        return _fonts()[1 if self.bold else 0]


BASE = Style(9.5, 13)
MUTED_TEXT = Style(8.5, 11, MUTED)
EYEBROW = Style(8, 10, MUTED, bold=True)
BRAND_NAME = Style(16, 20, colors.white, bold=True)
BAND = Style(9, 13, BAND_TEXT)
REF = Style(26, 32, NAVY, bold=True)
H2 = Style(11.5, 15, bold=True, space_before=4)
TIME = Style(17, 21, bold=True)


@lru_cache(maxsize=2048)
def _lines(text: str, style: Style, width: float) -> tuple[str, ...]:
    """``text`` broken into lines no wider than ``width`` (a word longer than that keeps its own line); kept,
    as a ticket measures each text before drawing it and most texts recur from ticket to ticket."""
    return tuple(simpleSplit(text, style.font, style.size, width)) or ("",)


class Page:
    """A cursor down the page: ``y`` is the top of what comes next; ``room(h)`` starts a new page when the
    next ``h`` points would not fit above the bottom margin."""

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self.y = TOP

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM and self.y < TOP:
            self.canvas.showPage()
            self.y = TOP

    def text(self, text: str, style: Style, x: float, top: float, width: float, align: str = "left") -> float:
        """Draws ``text`` wrapped to ``width`` from ``top`` down; returns its height."""
        c = self.canvas
        c.setFont(style.font, style.size)
        c.setFillColor(style.colour)
        lines = _lines(text, style, width)
        for i, line in enumerate(lines):
            baseline = top - style.size - i * style.leading
            if align == "right":
                c.drawRightString(x + width, baseline, line)
            elif align == "centre":
                c.drawCentredString(x + width / 2, baseline, line)
            else:
                c.drawString(x, baseline, line)
        return len(lines) * style.leading

    def height_of(self, texts: list[tuple[str, Style]], width: float) -> float:
        return sum(len(_lines(text, style, width)) * style.leading + (style.space_before if i else 0)
                   for i, (text, style) in enumerate(texts))

    def column(self, texts: list[tuple[str, Style]], x: float, top: float, width: float,
               align: str = "left") -> float:
        """Paragraphs one under the other; their height."""
        y = top
        for i, (text, style) in enumerate(texts):
            y -= (style.space_before if i else 0) + self.text(text, style, x, y - (style.space_before if i else 0),
                                                              width, align)
        return top - y

    def rule(self, x0: float, x1: float, y: float, width: float, colour) -> None:
        self.canvas.setStrokeColor(colour)
        self.canvas.setLineWidth(width)
        self.canvas.line(x0, y, x1, y)


def _band(page: Page, ticket: Ticket) -> None:
    c, pad = page.canvas, 10
    right = f"E-ticket · issued {ticket.issued_at:%d %b %Y %H:%M} UTC"
    inner = WIDTH / 2 - 2 * pad
    height = max(page.height_of([("flightbook", BRAND_NAME)], inner), page.height_of([(right, BAND)], inner)) + 16
    top = page.y
    c.setFillColor(NAVY)
    c.rect(LEFT, top - height, WIDTH, height, stroke=0, fill=1)
    middle = top - height / 2
    page.text("flightbook", BRAND_NAME, LEFT + pad, middle + BRAND_NAME.leading / 2, inner)
    page.text(right, BAND, LEFT + WIDTH / 2 + pad, middle + BAND.leading / 2, inner, "right")
    page.rule(LEFT, LEFT + WIDTH, top - height, 3, ACCENT)
    page.y = top - height


def _heading(page: Page, ticket: Ticket) -> None:
    status = Style(H2.size, H2.leading, STATUS_COLOURS.get(ticket.status, MUTED), bold=True, space_before=4)
    count = len(ticket.passengers)
    left = [("BOOKING REFERENCE", EYEBROW), (ticket.ref, REF), (ticket.route, BASE),
            (f"{ticket.status.title()} · {ticket.cabin.title()} · {count} passenger{'s' if count != 1 else ''}", status),
            ("Show this e-ticket, or your booking reference, at check-in.", MUTED_TEXT)]
    width = WIDTH - 40 * mm - 6
    height = max(page.height_of(left, width), QR_SIZE) + 10 + 3
    page.room(height)
    top = page.y - 10
    page.column(left, LEFT, top, width)
    _draw_qr(page.canvas, qr_modules(ticket.ref), LEFT + WIDTH - 6 - QR_SIZE, top - QR_SIZE, QR_SIZE)
    page.y -= height


def _flight(page: Page, f: TicketFlight, cabin: str) -> None:
    arrow = "→" if _fonts()[0] == "Ticket" else "-"
    pad, inner = 9, WIDTH - 18
    third, middle_width = WIDTH * 0.4 - 2 * pad, WIDTH * 0.2 - 2 * pad
    label = (f"{f.direction.upper()} · {f.departs.date} · {cabin.upper()}", EYEBROW)
    number = (f"{f.airline} · {f.flight_number}", MUTED_TEXT)
    departs = [(f"{f.departs.time} {f.departs.zone}", TIME), (f"{f.origin.code} {f.origin.name}", BASE),
               (f"{f.departs.date} · {f.departs.tz}", MUTED_TEXT)]
    middle = [(f.duration, MUTED_TEXT), (f"{f.origin.code} {arrow} {f.destination.code}", MUTED_TEXT)]
    arrives = [(f"{f.arrives.time} {f.arrives.zone}" + (" (+1)" if f.next_day else ""), TIME),
               (f"{f.destination.code} {f.destination.name}", BASE), (f"{f.arrives.date} · {f.arrives.tz}", MUTED_TEXT)]
    first_row = max(page.height_of([label], WIDTH * 0.6 - 2 * pad), page.height_of([number], third)) + 13
    heights = (page.height_of(departs, third), page.height_of(middle, middle_width), page.height_of(arrives, third))
    second_row = max(heights) + 13
    page.room(first_row + second_row + 4 * mm)
    top = page.y
    bottom = top - first_row - second_row
    c = page.canvas
    c.setStrokeColor(LINE)
    c.setLineWidth(0.8)
    c.rect(LEFT, bottom, WIDTH, top - bottom, stroke=1, fill=0)
    page.rule(LEFT, LEFT + WIDTH, top, 2.5, BRAND)
    page.text(label[0], label[1], LEFT + pad, top - (first_row - page.height_of([label], WIDTH * 0.6 - 2 * pad)) / 2,
              WIDTH * 0.6 - 2 * pad)
    page.text(number[0], number[1], LEFT + WIDTH - pad - third,
              top - (first_row - page.height_of([number], third)) / 2, third, "right")
    row_top = top - first_row
    for texts, x, width, align, height in ((departs, LEFT + pad, third, "left", heights[0]),
                                           (middle, LEFT + WIDTH * 0.4 + pad, middle_width, "centre", heights[1]),
                                           (arrives, LEFT + WIDTH * 0.6 + pad, third, "right", heights[2])):
        page.column(texts, x, row_top - (second_row - height) / 2, width, align)
    page.y = bottom - 4 * mm


def _section(page: Page, title: str, following: float = 0) -> None:
    """A heading, kept with the first ``following`` points of what it heads."""
    page.room(4 + H2.leading + following)
    page.y -= 4
    page.y -= page.text(title, H2, LEFT, page.y, WIDTH)


def _two_columns(page: Page, rows: list[tuple[str, str]]) -> None:
    for i, (a, b) in enumerate(rows):
        height = max(page.height_of([(a, BASE)], WIDTH * 0.6), page.height_of([(b, BASE)], WIDTH * 0.4)) + 6
        page.room(height)
        top = page.y
        page.text(a, BASE, LEFT, top - 3, WIDTH * 0.6)
        page.text(b, BASE, LEFT + WIDTH * 0.6, top - 3, WIDTH * 0.4, "right")
        page.y -= height
        if i < len(rows) - 1:
            page.rule(LEFT, LEFT + WIDTH, page.y, 0.5, LINE)


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
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"flightbook e-ticket {ticket.ref}")
    canvas.setAuthor("flightbook")
    canvas.setSubject(ticket.route)
    page = Page(canvas)
    _band(page, ticket)
    _heading(page, ticket)
    page.y -= 5 * mm
    _section(page, "Flights", following=MUTED_TEXT.leading + 60)
    page.y -= page.text("Times are local to each airport; the zone is shown beside each time.", MUTED_TEXT, LEFT,
                        page.y, WIDTH) + 2 * mm
    for f in ticket.flights:
        _flight(page, f, ticket.cabin)
    _section(page, "Passengers", following=BASE.leading + 6)
    _two_columns(page, [(f"{p.first_name} {p.last_name}", f"born {p.date_of_birth:%d %b %Y}")
                        for p in ticket.passengers])
    page.y -= 4 * mm
    _section(page, "Payment", following=BASE.leading + 6)
    _two_columns(page, _payment_rows(ticket))
    footer = f"Your booking online: {ticket.url} · contact e-mail {ticket.contact_email}"
    page.y -= 6 * mm
    page.room(page.height_of([(footer, MUTED_TEXT)], WIDTH))
    page.text(footer, MUTED_TEXT, LEFT, page.y, WIDTH)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


class _QrCode(qrencoder.QRCode):
    """reportlab's encoder choosing the same mask, scored with string and bit operations instead of its
    module-by-module loops (the scoring of eight masks was most of a QR code's cost)."""

    def getBestMaskPattern(self) -> int:
        best, pattern = 0, 0
        for i in range(8):
            self.makeImpl(True, i)
            lost = lost_points(self.modules)
            if i == 0 or best > lost:
                best, pattern = lost, i
        return pattern


_RUN = re.compile(r"0{5,}|1{5,}")
_FINDER = "10111010000"  # the one finder-like pattern reportlab's rule 3 looks for


def lost_points(modules: list[list[bool]]) -> int:
    """reportlab's ``QRUtil.getLostPoint``, point for point: runs of five or more of one colour (length - 2
    each), 2x2 blocks of one colour (3 each), the finder-like pattern (40 each; in rows only, with its scan's
    bounds: reportlab's scan of the columns compares tuples with a list and never matches) and the distance
    of the dark share from half (10 per 5 %)."""
    rows = ["".join("1" if m else "0" for m in row) for row in modules]
    columns = ["".join(column) for column in zip(*rows)]
    lost = 0
    for line in rows + columns:
        lost += sum(len(run) - 2 for run in _RUN.findall(line))
    last = len(rows) - len(_FINDER)  # reportlab scans while j < len - 11: a match at the very end is missed
    for line in rows:
        j = line.find(_FINDER)
        while 0 <= j < last:
            lost += 40
            j = line.find(_FINDER, j + len(_FINDER))
    size = len(rows)
    full = (1 << size) - 1
    ints = [int(row, 2) for row in rows]
    for upper, lower in zip(ints, ints[1:]):
        same_vertically = ~(upper ^ lower) & full
        same_across = ~(upper ^ (upper >> 1)) & (full >> 1)
        lost += 3 * (same_vertically & (same_vertically >> 1) & same_across).bit_count()
    dark = sum(row.count("1") for row in rows)
    lost += 10 * (abs(100 * dark // (size * size) - 50) // 5)
    return lost


@lru_cache(maxsize=256)
def qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code of ``text`` (level M) as rows of dark modules; kept for the ticket's later downloads."""
    qr = _QrCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    return tuple(tuple(bool(m) for m in row) for row in qr.modules)


def _draw_qr(canvas: Canvas, modules, x: float, y: float, size: float, border: int = 4) -> None:
    """A rectangle per run of dark modules in a row, as reportlab's QrCode flowable draws it."""
    box = size / (len(modules) + 2 * border)
    canvas.setFillColor(colors.black)
    path = canvas.beginPath()
    for r, row in enumerate(modules):
        top = y + size - (r + border + 1) * box
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                path.rect(x + (start + border) * box, top, (c - start) * box, box * 1.05)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)
