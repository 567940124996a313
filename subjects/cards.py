"""The printable cards (DESIGN §10): A4 sheets of 2 x 4 cards with cutting marks, and a card's QR alone.

A card (95 x 68 mm) carries the QR code of its subject's code on the left, 45 mm wide (readable in
a portrait photo taken from arm's length) with a quiet zone of four modules, the code in letters
under it (to type in when a photo of the card cannot be read), and on the right the subject number
in large type, the name (a line to write it on, for a blank card), the album and the job in words,
and what to do with the card.

The QR code is drawn as vector squares (sharp at any printer resolution) at error correction level
M: the payload (``subjects.codes``, uppercase, digits and ``-``) fits version 2, 25 x 25 modules, in
alphanumeric mode, so each module is 1.8 mm. Text is set in DejaVu Sans (Debian: fonts-dejavu-core)
so any name prints (Zoë Müller, Łukasz, Ørsted). Where that font is missing the cards fall back to
the PDF core fonts, which know only Latin-1: other letters lose their accents (Ł -> L) or become ?.
"""

from __future__ import annotations

import io
import logging
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

import segno
from django.conf import settings
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode
from PIL import Image

from jobs.exceptions import Invalid
from subjects.models import Subject

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
MARGIN_X, MARGIN_Y = 10.0, 12.0  # printers cannot print to the edge; the cutting marks live here
CARD_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS  # 95 mm
CARD_H = (PAGE_H - 2 * MARGIN_Y) / ROWS  # 68.25 mm
QR_SIDE = 45.0  # the symbol without its quiet zone, mm
QUIET_MODULES = 4  # the quiet zone ISO/IEC 18004 asks for
PAD = 4.0  # inside the card's edge, where there is no quiet zone to keep
ERROR_LEVEL = "m"
INSTRUCTION = "Photograph this card before the child's portraits."

# fontTools logs every step of subsetting the fonts into the PDF at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}


def _qr(code: str) -> segno.QRCode:
    # No boost: level M is enough on paper, and a lower level keeps the modules large.
    return segno.make_qr(code, error=ERROR_LEVEL, mode="alphanumeric", boost_error=False)


def card_png(subject: Subject | str, size_px: int) -> bytes:
    """The QR code of a subject (or of a code) alone, as a PNG of ``size_px`` x ``size_px``.

    Black on white with its quiet zone of four modules included in ``size_px``: what a photo of a
    card shows, for tests that paste a card into a photo.
    """
    code = subject if isinstance(subject, str) else subject.code
    qr = _qr(code)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=1, border=QUIET_MODULES)
    out.seek(0)
    with Image.open(out) as small:
        image = small.convert("L").resize((size_px, size_px), Image.Resampling.NEAREST)
    png = io.BytesIO()
    image.save(png, "PNG")
    return png.getvalue()


# --- fonts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    files: dict[str, Path] | None  # None: the core fonts, Latin-1 only

    def register(self, pdf: FPDF) -> None:
        if self.files is not None:
            pdf.add_font("card", "", self.files[""])
            pdf.add_font("card", "B", self.files["B"])
            pdf.add_font("cardmono", "", self.files["mono"])

    def use(self, pdf: FPDF, *, size: float, bold: bool = False, mono: bool = False) -> None:
        if self.files is None:
            pdf.set_font("courier" if mono else "helvetica", "B" if bold and not mono else "", size)
        else:
            pdf.set_font("cardmono" if mono else "card", "B" if bold and not mono else "", size)

    def text(self, value: str) -> str:
        """``value`` as the fonts can print it."""
        if self.files is not None:
            return value
        return "".join(_latin1(ch) for ch in value)


# Letters Unicode does not decompose into a Latin-1 letter and an accent.
_UNDECOMPOSED = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "\u0131": "i", "Œ": "OE", "œ": "oe"}


def _latin1(ch: str) -> str:
    try:
        ch.encode("latin-1")
        return ch
    except UnicodeEncodeError:
        if ch in _UNDECOMPOSED:
            return _UNDECOMPOSED[ch]
        base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
        return "".join(c for c in base if not unicodedata.combining(c)) or "?"


@lru_cache(maxsize=1)
def _fonts() -> _Fonts:
    configured = getattr(settings, "SUBJECTS_CARD_FONT_DIR", "")
    for folder in (configured, *_FONT_DIRS) if configured else _FONT_DIRS:
        files = {style: Path(folder) / name for style, name in _FONT_FILES.items()}
        if all(path.is_file() for path in files.values()):
            return _Fonts(files)
    return _Fonts(None)


# --- the sheets -------------------------------------------------------------------------------------


def cards_pdf(subjects: Iterable[Subject]) -> bytes:
    """The PDF of the cards of ``subjects`` (any iterable, in the order given), eight to an A4 page.

    Reads ``subject.album`` and ``subject.album.job``: pass a queryset with
    ``select_related("album__job")`` for many cards.
    """
    fonts = _fonts()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("photo-job portal")
    pdf.set_title("Subject cards")
    fonts.register(pdf)
    count = 0
    for index, subject in enumerate(subjects):
        slot = index % CARDS_PER_PAGE
        if slot == 0:
            pdf.add_page()
            _cutting_marks(pdf)
        x = MARGIN_X + (slot % COLUMNS) * CARD_W
        y = MARGIN_Y + (slot // COLUMNS) * CARD_H
        _card(pdf, fonts, subject, x, y)
        count += 1
    if count == 0:
        raise Invalid("There are no subjects to print cards for; import a roster or make blank cards first.")
    return bytes(pdf.output())


def pages_for(count: int) -> int:
    return math.ceil(count / CARDS_PER_PAGE)


def _cutting_marks(pdf: FPDF) -> None:
    """Marks in the margins where the guillotine cuts, and a faint dashed line along every cut."""
    xs = [MARGIN_X + i * CARD_W for i in range(COLUMNS + 1)]
    ys = [MARGIN_Y + i * CARD_H for i in range(ROWS + 1)]
    pdf.set_draw_color(200)
    pdf.set_line_width(0.15)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    for x in xs:
        pdf.line(x, ys[0], x, ys[-1])
    for y in ys:
        pdf.line(xs[0], y, xs[-1], y)
    pdf.set_dash_pattern()
    pdf.set_draw_color(0)
    pdf.set_line_width(0.25)
    gap, length = 2.0, 5.0
    for x in xs:
        pdf.line(x, ys[0] - gap - length, x, ys[0] - gap)
        pdf.line(x, ys[-1] + gap, x, ys[-1] + gap + length)
    for y in ys:
        pdf.line(xs[0] - gap - length, y, xs[0] - gap, y)
        pdf.line(xs[-1] + gap, y, xs[-1] + gap + length, y)


def _draw_qr(pdf: FPDF, code: str, x: float, y: float) -> float:
    """Draw the symbol with its top left at (x, y), QR_SIDE wide; returns the module size."""
    matrix = _qr(code).matrix
    module = QR_SIDE / len(matrix)
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules: fewer, seamless shapes
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # A hair taller than a module, so rows print without white seams between them.
            pdf.rect(x + start * module, y + r * module, (c - start) * module, module + 0.02, style="F")
    return module


def _fit(
    pdf: FPDF, fonts: _Fonts, text: str, *, width: float, size: float, smallest: float, lines: int, bold: bool = False
) -> tuple[float, list[str]]:
    """The largest size from ``size`` down to ``smallest`` at which ``text`` takes at most ``lines`` lines."""
    while True:
        fonts.use(pdf, size=size, bold=bold)
        wrapped = cast(
            list[str],
            pdf.multi_cell(width, text=text, dry_run=True, output=MethodReturnValue.LINES, wrapmode=WrapMode.WORD),
        )
        if len(wrapped) <= lines or size <= smallest:
            break
        size -= 0.5
    if len(wrapped) > lines:  # still too long at the smallest size: cut, and say so
        ellipsis = "…" if fonts.files else "..."
        wrapped = wrapped[:lines]
        last = wrapped[-1]
        while last and pdf.get_string_width(last + ellipsis) > width:
            last = last[:-1]
        wrapped[-1] = last.rstrip() + ellipsis
    return size, wrapped


def _lines(pdf: FPDF, lines: list[str], x: float, y: float, width: float, size: float) -> float:
    """Write ``lines`` from ``y`` down; returns the y below them."""
    height = size * 0.3528 * 1.2  # points to mm, with some leading
    for line in lines:
        pdf.set_xy(x, y)
        pdf.cell(width, height, line)
        y += height
    return y


def _card(pdf: FPDF, fonts: _Fonts, subject: Subject, x: float, y: float) -> None:
    album = subject.album
    job = album.job
    modules = len(_qr(subject.code).matrix)
    quiet = QUIET_MODULES * QR_SIDE / modules
    qr_x, qr_y = x + max(quiet, PAD), y + max(quiet, PAD)
    _draw_qr(pdf, subject.code, qr_x, qr_y)

    code_y = qr_y + QR_SIDE + quiet  # text stays outside the quiet zone
    fonts.use(pdf, size=6.5, mono=True)
    pdf.set_text_color(60)
    pdf.set_xy(qr_x - 2, code_y)
    pdf.cell(QR_SIDE + 4, 2.8, fonts.text(subject.code), align="C")

    tx = qr_x + QR_SIDE + quiet
    tw = x + CARD_W - PAD - tx
    ty = y + PAD + 1
    pdf.set_text_color(0)
    size, number = _fit(pdf, fonts, f"{subject.number:04d}", width=tw, size=30, smallest=14, lines=1, bold=True)
    ty = _lines(pdf, number, tx, ty, tw, size) + 1

    if subject.name:
        size, name = _fit(pdf, fonts, fonts.text(subject.name), width=tw, size=12, smallest=8, lines=3, bold=True)
        ty = _lines(pdf, name, tx, ty, tw, size) + 1.5
    else:  # a blank card: room to write the name by hand
        fonts.use(pdf, size=7)
        pdf.set_text_color(90)
        _lines(pdf, ["Name:"], tx, ty, tw, 7)
        pdf.set_draw_color(120)
        pdf.set_line_width(0.2)
        for row in (ty + 8, ty + 14):
            pdf.line(tx, row, tx + tw, row)
        pdf.set_text_color(0)
        ty += 16

    size, album_lines = _fit(pdf, fonts, fonts.text(album.name), width=tw, size=9, smallest=7, lines=2)
    ty = _lines(pdf, album_lines, tx, ty, tw, size) + 0.5
    pdf.set_text_color(70)
    job_words = f"{job.title} ({job.internal_name})" if job.title else job.internal_name
    size, job_lines = _fit(pdf, fonts, fonts.text(job_words), width=tw, size=7.5, smallest=6, lines=2)
    _lines(pdf, job_lines, tx, ty, tw, size)

    size, instruction = _fit(pdf, fonts, INSTRUCTION, width=tw, size=7, smallest=6, lines=3)
    height = size * 0.3528 * 1.2
    _lines(pdf, instruction, tx, y + CARD_H - PAD - height * len(instruction), tw, size)
    pdf.set_text_color(0)
