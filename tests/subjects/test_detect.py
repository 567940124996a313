"""subjects.detect: finding the portal's QR cards in photos, and the decode albums.imaging hands it.

The photos are made here (``tests.subjects.cardimages``): a real card code's QR symbol on a white
card, turned a little, slightly blurred, pasted into a noisy photo-like picture.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from albums import imaging
from subjects import codes, detect
from subjects.codes import Card
from tests.subjects import cardimages

JOB = "JOBAAAAAAA"
OTHER_JOB = "JOBBBBBBBB"


def photo_with(*cards: tuple[str, float], seed: int = 1, damaged: bool = False) -> Image.Image:
    img = cardimages.scene(seed=seed)
    spots = [(0.3, 0.4), (0.7, 0.6), (0.5, 0.5)]
    for (code, size), at in zip(cards, spots, strict=False):
        img = cardimages.with_card(img, code, size=size, at=at, damaged=damaged)
    return img


def as_jpeg(img: Image.Image) -> Image.Image:
    """Through a camera's JPEG and back, as the worker sees it."""
    return Image.open(io.BytesIO(cardimages.camera_jpeg(img)))


def forged(code: str) -> str:
    """The same card with a MAC nobody computed: the right format, no card."""
    body, _, mac = code.rpartition("-")
    return f"{body}-{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


# --- what a photo shows ----------------------------------------------------------------------------

# The corpus: every card size from 3 % to 20 % of the frame width, turned either way.
CORPUS = [(size, angle) for size in (0.03, 0.04, 0.05, 0.08, 0.12, 0.2) for angle in (-9.0, -3.0, 4.0, 10.0)]


@pytest.mark.parametrize(("size", "angle"), CORPUS)
def test_it_reads_a_card_from_3_to_20_percent_of_the_frame_width(size: float, angle: float) -> None:
    rng = random.Random(f"{size}/{angle}")
    code = codes.code_for(JOB, rng.randrange(1, 5000))
    img = cardimages.with_card(
        cardimages.scene(seed=rng.randrange(100)), code, size=size, angle=angle, at=(rng.uniform(0.3, 0.7), 0.5)
    )

    assert detect.scan(as_jpeg(img), job_public_id=JOB) == detect.Found(codes=[code])


def test_a_photo_without_a_card_shows_nothing() -> None:
    assert detect.scan(as_jpeg(cardimages.scene(seed=5)), job_public_id=JOB) == detect.Found()


def test_it_reads_siblings_cards_in_one_photo() -> None:
    first, second = codes.code_for(JOB, 7), codes.code_for(JOB, 8)

    found = detect.scan(as_jpeg(photo_with((first, 0.08), (second, 0.06))), job_public_id=JOB)

    assert sorted(found.codes) == sorted([first, second]) and not found.unreadable


def test_a_card_of_another_job_is_foreign() -> None:
    theirs = codes.code_for(OTHER_JOB, 3)

    found = detect.scan(as_jpeg(photo_with((theirs, 0.08))), job_public_id=JOB)

    assert found == detect.Found(foreign=[Card(OTHER_JOB, 3)])
    assert detect.scan(as_jpeg(photo_with((theirs, 0.08))), job_public_id=None).codes == [theirs]


def test_a_forged_card_or_any_other_qr_code_is_no_card() -> None:
    t_shirt = "https://example.com/summer-camp"
    img = photo_with((forged(codes.code_for(JOB, 4)), 0.08), (t_shirt, 0.08))

    assert detect.scan(as_jpeg(img), job_public_id=JOB) == detect.Found()


def test_a_damaged_card_is_seen_but_unreadable() -> None:
    img = photo_with((codes.code_for(JOB, 9), 0.1), damaged=True)

    assert detect.scan(as_jpeg(img), job_public_id=JOB) == detect.Found(unreadable=True)


def test_a_damaged_card_next_to_a_readable_one_is_still_reported() -> None:
    good, bad = codes.code_for(JOB, 10), codes.code_for(JOB, 11)
    img = cardimages.with_card(photo_with((good, 0.08)), bad, size=0.08, at=(0.7, 0.6), damaged=True)

    assert detect.scan(as_jpeg(img), job_public_id=JOB) == detect.Found(codes=[good], unreadable=True)


def test_it_scans_a_file_in_greyscale_at_the_side_it_is_asked_for(tmp_path: Path) -> None:
    code = codes.code_for(JOB, 12)
    path = tmp_path / "card.jpg"
    path.write_bytes(cardimages.camera_jpeg(photo_with((code, 0.06))))

    assert detect.scan(path, job_public_id=JOB).codes == [code]
    # 1/8 of 2400 px: the symbol is 3.6 px across, nothing can read that
    assert detect.scan(path, job_public_id=JOB, side=300) == detect.Found()


def test_a_failing_reader_records_the_photo_as_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("zxing fell over")

    monkeypatch.setattr(detect.zxingcpp, "read_barcodes", broken)
    scanner = detect.Scanner(job_public_id=JOB)
    scanner(cardimages.scene(seed=1))

    assert scanner.found == detect.Found(unreadable=True)


# --- the decode albums.imaging hands over ------------------------------------------------------------


def test_imaging_hands_the_scanner_its_own_decode_at_the_side_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(cardimages.camera_jpeg(cardimages.scene((2000, 1500), seed=2)))
    seen: list[tuple[int, int]] = []

    info, renditions = imaging.analyse_image(
        path, filename="a.jpg", sizes={"preview": 500}, inspect=lambda img: seen.append(img.size), inspect_side=1000
    )

    assert seen == [(1000, 750)]  # DCT scale 1/2: the smallest that covers 1000 px (the preview alone: 1/4)
    assert {r.name: (r.width, r.height) for r in renditions} == {"preview": (500, 375)}
    assert (info.width, info.height) == (2000, 1500)


def test_imaging_decodes_in_full_for_a_scanner_wanting_more_than_there_is(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(cardimages.camera_jpeg(cardimages.scene((1200, 800), seed=2)))
    seen: list[tuple[int, int]] = []

    imaging.analyse_image(path, filename="a.jpg", inspect=lambda img: seen.append(img.size), inspect_side=3000)

    assert seen == [(1200, 800)]


def test_a_scanner_error_is_not_a_verdict_on_the_image(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(cardimages.camera_jpeg(cardimages.scene((400, 300), seed=2)))

    def broken(img: Image.Image) -> None:
        raise KeyError("scanner bug")

    with pytest.raises(KeyError, match="scanner bug"):
        imaging.analyse_image(path, filename="a.jpg", inspect=broken)


def test_imaging_reads_the_sub_seconds_of_the_capture_time(tmp_path: Path) -> None:
    from datetime import datetime

    path = tmp_path / "a.jpg"
    taken = datetime(2026, 5, 6, 9, 30, 15, 470000)
    path.write_bytes(cardimages.camera_jpeg(cardimages.scene((400, 300), seed=2), taken=taken))

    info, _ = imaging.analyse_image(path, filename="a.jpg")

    assert info.taken_at == taken.replace(microsecond=0)  # whole seconds, as every camera agrees
    assert info.taken_microsecond == 470000
    assert detect.precise_time(info.taken_at, info.taken_microsecond) == taken


@pytest.mark.parametrize(
    ("written", "microsecond"), [("47", 470000), ("047", 47000), ("5 ", 500000), ("1234567", 123456), ("", 0), ("x", 0)]
)
def test_sub_seconds_are_digits_of_a_fraction(tmp_path: Path, written: str, microsecond: int) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:05:06 09:30:15"
    if written:
        exif.get_ifd(0x8769)[0x9291] = written
    path = tmp_path / "a.jpg"
    cardimages.scene((300, 200), seed=2).save(path, "JPEG", exif=exif)

    info, _ = imaging.analyse_image(path, filename="a.jpg")

    assert info.taken_microsecond == microsecond
