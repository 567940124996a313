"""The printed cards (``subjects.cards``), read back the way a printer and a camera would see them.

The PDF is rasterised with poppler's ``pdftoppm`` at 150 dpi and every QR code on the pages is
decoded with zxing-cpp: what comes back must be exactly the subjects' codes, and cards of this
portal by ``codes.parse``. ``pdftotext`` shows what the cards say in words.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from albums.models import Album
from jobs.exceptions import Invalid
from jobs.models import PhotoJob
from subjects import cards, codes
from subjects.models import Subject
from subjects.services import subjects_blank, subjects_import
from tests.helpers import require_program

pytestmark = pytest.mark.django_db

DPI = 150
ROSTER = (
    "name;class\nZoë Müller;Class 1\nŁukasz Ørsted;Class 1\nMaximilian Alexander Schmidt-Weber;Class 1\n"
    + "".join(f"Child {n};Class 1\n" for n in range(4, 10))
)


def pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    """The PDF's pages as images, as ``pdftoppm -r 150 -png`` renders them."""
    require_program("pdftoppm", "poppler-utils")
    source = tmp_path / "cards.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    return [Image.open(path) for path in sorted(tmp_path.glob("page-*.png"))]


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The words on the pages, with every run of white space as one space (lines wrap on a card)."""
    require_program("pdftotext", "poppler-utils")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def qr_codes(image: Image.Image) -> list[zxingcpp.Barcode]:
    return [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.fixture
def subjects(album: Album) -> list[Subject]:
    """Nine named subjects and two blank cards: two pages."""
    subjects_import(album=album, roster=ROSTER)
    subjects_blank(album=album, count=2)
    return list(Subject.objects.filter(album=album).select_related("album__job"))


def test_every_card_reads_back_as_its_subjects_code(subjects: list[Subject], tmp_path: Path) -> None:
    pdf = cards.cards_pdf(subjects)

    rendered = pages(pdf, tmp_path)
    assert len(rendered) == cards.pages_for(len(subjects)) == 2
    found = [r.text for page in rendered for r in qr_codes(page)]
    assert sorted(found) == sorted(s.code for s in subjects)
    for subject in subjects:
        assert codes.parse(subject.code) == codes.Card(subject.album.job.public_id, subject.number)


def test_the_qr_codes_are_at_least_45_mm_wide_and_in_alphanumeric_mode(subjects: list[Subject], tmp_path: Path) -> None:
    [first, *_] = pages(cards.cards_pdf(subjects[:1]), tmp_path)
    [symbol] = qr_codes(first)
    width_px = symbol.position.top_right.x - symbol.position.top_left.x
    assert width_px / DPI * 25.4 >= 44.5  # the corner points sit on the outer edge, give or take a pixel
    assert symbol.ec_level == "M"
    assert symbol.symbology_identifier == "]Q1"  # ISO/IEC 18004 model 2, no ECI: a plain card code


def test_the_cards_say_who_and_what_in_words(subjects: list[Subject], tmp_path: Path, planned_job: PhotoJob) -> None:
    text = text_of(cards.cards_pdf(subjects), tmp_path)
    for words in ("Zoë Müller", "Łukasz", "Ørsted", "0001", "0011", "Class 1", "Elm School (job00001)", "Name:"):
        assert words in text
    assert text.count("Photograph this card before the child's portraits.") == len(subjects)
    for subject in subjects:
        assert subject.code in text  # to type in when a photo of the card cannot be read


def test_a_long_name_is_shortened_to_fit_rather_than_running_off_the_card(album: Album, tmp_path: Path) -> None:
    [subject] = subjects_import(album=album, roster="name\n" + "Alexandria-Maximiliane " * 8 + "\n")
    text = text_of(cards.cards_pdf([subject]), tmp_path)
    assert "Alexandria-" in text
    assert "…" in text


def test_cards_print_without_the_dejavu_font_too(
    subjects: list[Subject], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cards, "_fonts", lambda: cards._Fonts(None))
    pdf = cards.cards_pdf(subjects)
    assert sorted(r.text for page in pages(pdf, tmp_path) for r in qr_codes(page)) == sorted(s.code for s in subjects)
    text = text_of(pdf, tmp_path)
    assert "Zoë Müller" in text  # Latin-1 still prints
    assert "Lukasz" in text  # beyond Latin-1 letters lose their accents


def test_cards_take_any_iterable_of_subjects(subjects: list[Subject]) -> None:
    pdf = cards.cards_pdf(s for s in subjects)
    assert pdf.startswith(b"%PDF-")
    assert cards.cards_pdf(Subject.objects.all()).startswith(b"%PDF-")


def test_no_subjects_is_no_pdf() -> None:
    with pytest.raises(Invalid, match="no subjects to print"):
        cards.cards_pdf([])


@pytest.mark.parametrize("size_px", [66, 200, 333])
def test_card_png_is_the_qr_code_alone(subjects: list[Subject], size_px: int) -> None:
    png = cards.card_png(subjects[0], size_px)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (size_px, size_px))
    assert image.getpixel((0, 0)) == 255  # the quiet zone is part of the image
    [symbol] = qr_codes(image)
    assert symbol.text == subjects[0].code
