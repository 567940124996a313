"""Finding card codes in a photo (DESIGN §10), and recording what was found, for the worker.

- ``scan`` reads the QR symbols in an image (zxing-cpp, QR format only) and sorts them: this
  portal's cards of the job (``Found.codes``), this portal's cards of another job
  (``Found.foreign``), and whether a symbol was seen that could not be decoded
  (``Found.unreadable``: glare, a thumb over it). Any other QR code (a T-shirt, a poster, a card
  made up or of another portal: ``codes.parse`` refuses it) is no card at all and is ignored.
- ``wants_scan`` says whether the worker scans a photo: individuals photos of albums with subjects.
- ``scan_record`` keeps a photo's result on its ``PhotoScan`` (with its capture time to the
  sub-second, which assignment orders by); what a person decided there (``typed_code``,
  ``manual_subjects``) stays.
- ``scan_missing`` scans the individuals photos of an album that were never scanned (uploaded
  before the album had subjects, moved in from ``group``) from their originals.

Resolution. A card can be small in the frame: 3 % of its width is the smallest we promise. The
2048 px preview has little margin for that (about 1 in 8 such cards was missed on it in the
field), the full 24 MP is more than needed. ``MIN_SIDE`` is the least long side of the decode that
is scanned: ``albums.imaging`` decodes at a DCT scale that meets it and hands this module that same
decode, so scanning costs no second decode. The renditions' own decode is 2048 to 4095 px long;
at 2400 px or more a 3 % card's 25-module symbol has 3 px per module or more, so the bodies
photographers use (16 to 24 MP, 4928 to 6000 px wide: a decode at 1/2) are scanned at no extra
decoding cost; smaller decodes (4096 to 4799 px wide photos, 45 MP ones) are made at the next DCT
scale instead, which costs their renditions a bigger resampling (a 5000 px JPEG would cost 0.2 s
more at full size). On the synthetic corpus of ``tests/subjects/cardimages.py``
(``bench.subjects``, 6000x4000, scanned at 3000x2000) every card of 3 % and more is read, as at
full size, with a lens's blur (2.5 px at 24 MP); sharp, cards of 1.5 % still are (the preview:
2 %, the full size: 1.2 %). The scan takes about 15 ms there; a second decode at full size and
its scan would take 0.13 s.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import zxingcpp
from django.db import transaction
from PIL import Image

from albums import imaging, storage
from albums.models import Photo, Section
from jobs.models import PhotoJob
from subjects import codes
from subjects.codes import Card
from subjects.models import PhotoScan, Subject

logger = logging.getLogger(__name__)

MIN_SIDE = 2400  # px: the least long side of the decode that is scanned (or the whole image when smaller)
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)  # the printed cards' format, nothing else


@dataclass(frozen=True)
class Found:
    """What one image showed."""

    codes: list[str] = field(default_factory=list)  # this portal's card payloads (of the job, when given)
    foreign: list[Card] = field(default_factory=list)  # this portal's cards of another job
    unreadable: bool = False  # a QR symbol was seen but could not be decoded


def scan(
    image_or_path: Image.Image | str | os.PathLike[str], *, job_public_id: str | None = None, side: int = MIN_SIDE
) -> Found:
    """The card codes in an image (a decoded Pillow image, or a trusted file: no limits are checked).

    With ``job_public_id``, cards of other jobs are ``foreign``; without it, every valid card
    counts as a code. A file is decoded in greyscale with a long side of at least ``side`` (JPEG
    draft mode), or at full size.
    """
    if isinstance(image_or_path, Image.Image):
        return _scan_image(image_or_path, job_public_id)
    with Image.open(image_or_path) as img:
        scale = min(1.0, side / max(img.size))
        img.draft("L", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
        img.load()
        return _scan_image(img, job_public_id)


def _scan_image(img: Image.Image, job_public_id: str | None) -> Found:
    # zxing works on luminance; handing it greyscale (a 2 ms conversion at 6 MP) halves its time.
    grey = img if img.mode == "L" else img.convert("L")
    # Cards are printed dark on light: looking for inverted symbols too would cost a third more.
    symbols = zxingcpp.read_barcodes(grey, formats=_QR, try_invert=False, return_errors=True)
    found: list[str] = []
    foreign: list[Card] = []
    read = [symbol for symbol in symbols if symbol.valid]
    for symbol in read:
        card = codes.parse(symbol.text)
        if card is None:
            continue  # not a card of this portal: a T-shirt, a made-up card
        if job_public_id is None or card.job_public_id == job_public_id:
            if card.code not in found:
                found.append(card.code)
        elif card not in foreign:
            foreign.append(card)
    # zxing reports a damaged symbol once per attempt (scales, binarizers): any one of them that
    # is not where a symbol was read is a card nobody can read.
    unreadable = any(not symbol.valid and not _inside_any(symbol, read) for symbol in symbols)
    return Found(codes=found, foreign=foreign, unreadable=unreadable)


def _corners(symbol: Any) -> list[tuple[int, int]]:
    p = symbol.position
    return [(q.x, q.y) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]


def _inside_any(symbol: Any, others: list[Any]) -> bool:
    xs, ys = zip(*_corners(symbol), strict=True)
    cx, cy = sum(xs) / 4, sum(ys) / 4
    for other in others:
        oxs, oys = zip(*_corners(other), strict=True)
        if min(oxs) <= cx <= max(oxs) and min(oys) <= cy <= max(oys):
            return True
    return False


# --- the worker's side ----------------------------------------------------------------------------


def wants_scan(*, album_id: int | None, section: str) -> bool:
    """Whether a photo is scanned for cards: an individuals photo of an album with subjects."""
    return (
        album_id is not None and section == Section.INDIVIDUALS and Subject.objects.filter(album_id=album_id).exists()
    )


class Scanner:
    """``albums.imaging.analyse_image``'s ``inspect`` for the worker: scans the decode it is handed.

    Never fails the photo: when scanning itself fails, the photo is recorded as showing a symbol
    nobody could read, so a person looks at it.
    """

    def __init__(self, *, job_public_id: str) -> None:
        self.job_public_id = job_public_id
        self.found: Found | None = None

    def __call__(self, img: Image.Image) -> None:
        try:
            self.found = scan(img, job_public_id=self.job_public_id)
        except MemoryError:
            raise
        except Exception:
            logger.exception("scanning for cards failed; recorded as unreadable")
            self.found = Found(unreadable=True)


def precise_time(taken_at: datetime | None, microsecond: int) -> datetime | None:
    """The capture time with the sub-seconds EXIF keeps apart (``ImageInfo.taken_microsecond``)."""
    return taken_at.replace(microsecond=microsecond) if taken_at is not None else None


def scan_record(*, photo: Photo, found: Found, taken_at: datetime | None) -> PhotoScan:
    """Keep what the scan of ``photo``'s bytes found (in the caller's transaction).

    ``taken_at`` is the capture time with its sub-seconds. Assignment's own fields
    (``is_card``, ``flags``, ``held_reason``, ``camera``, ``sequence``) are left for it to set, and a
    person's decisions (``typed_code``, ``manual_subjects``) stay.
    """
    scan, _ = PhotoScan.objects.get_or_create(photo=photo)
    scan.codes = list(found.codes)
    scan.foreign = describe_foreign(found.foreign, account_id=photo.album.job.account_id)
    scan.unreadable = found.unreadable
    scan.taken_at = taken_at
    scan.save(update_fields=["codes", "foreign", "unreadable", "taken_at", "scanned_at"])
    return scan


def describe_foreign(cards: list[Card], *, account_id: int) -> str:
    """Why a card of another job holds photos; it names the job when it is one of the same studio's."""
    if not cards:
        return ""
    names = dict(
        PhotoJob.objects.filter(public_id__in=[c.job_public_id for c in cards], account_id=account_id).values_list(
            "public_id", "internal_name"
        )
    )
    known = [f"{names[c.job_public_id]} no. {c.number}" for c in cards if c.job_public_id in names]
    text = "a card of another job" + (f" ({', '.join(known)})" if known else "")
    column = PhotoScan._meta.get_field("foreign").max_length or 200
    return text if len(text) <= column else text[: column - 1] + "…"


def scan_missing(*, album_id: int) -> int:
    """Scan the individuals photos of an album that have no scan yet, from their originals.

    For photos the worker did not scan (the album had no subjects yet, or the photo came from
    ``group``). Reads every such original from storage: run it in a task, not in a request.
    Returns the number scanned; assignment follows.
    """
    from subjects import assignment  # it reads what this module records

    photos = Photo.objects.select_related("album__job").filter(
        album_id=album_id, section=Section.INDIVIDUALS, scan__isnull=True
    )
    done = 0
    for photo in photos.iterator():
        scanner = Scanner(job_public_id=photo.album.job.public_id)
        # The photo was accepted once: its own size, pixels and format are the limits that hold.
        limits = imaging.ImagingLimits(
            max_bytes=max(photo.size, 1), max_pixels=photo.width * photo.height, formats=frozenset({photo.format})
        )
        microsecond = 0
        try:
            with storage.local_path(photo.original.name or "") as path:
                info, _ = imaging.analyse_image(
                    path, filename=photo.filename, limits=limits, sizes={}, inspect=scanner, inspect_side=MIN_SIDE
                )
            microsecond = info.taken_microsecond
        except (OSError, imaging.ImageRejected):
            logger.warning("photo %s could not be read to scan it for cards", photo.pk, exc_info=True)
            scanner.found = Found(unreadable=True)
        with transaction.atomic():
            if Photo.objects.filter(pk=photo.pk, album_id=album_id, sha256=photo.sha256).exists():
                found = scanner.found or Found(unreadable=True)
                scan_record(photo=photo, found=found, taken_at=precise_time(photo.taken_at, microsecond))
                done += 1
    assignment.assign_album(album_id)
    return done
