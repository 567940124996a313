"""An album as a ZIP, a folder per subject (DESIGN §10), streamed as it is read.

Layout::

    subjects.csv                 number, name, external_id, code, folder, photos (one row per subject)
    0042 Anna Müller/IMG_0101.JPG   the subject's originals (a photo of siblings is in each one's folder)
    group/IMG_0300.JPG           the group section
    unassigned/IMG_0001.JPG      individuals photos of no subject (before the first card, held, unscanned)

Card photos (``PhotoScan.is_card``) are left out. Originals are read from Django's storage in
chunks while the ZIP is written (``zipstream``, stored uncompressed: JPEGs do not shrink), so an
album of any size costs no temporary copy and little memory. Names come from people and cameras:
each is made one safe path segment, and two photos of one name in a folder get `` (2)``.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime

import zipstream

from albums import storage
from albums.models import Album, Photo, Section
from jobs.exceptions import StorageFailed
from subjects.models import PhotoScan, Subject

CHUNK = 1024 * 1024
GROUP, UNASSIGNED, CSV_NAME = "group", "unassigned", "subjects.csv"
CSV_COLUMNS = ("number", "name", "external_id", "code", "folder", "photos")
_UNSAFE = set('/\\:*?"<>|')  # a path separator anywhere, or a character Windows refuses in names


def safe_name(name: str) -> str:
    """``name`` as one path segment any unzip tool and file system accepts."""
    cleaned = "".join("_" if ch in _UNSAFE or unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in name)
    cleaned = cleaned.strip().rstrip(".")  # Windows drops trailing dots and spaces
    return cleaned if cleaned.strip(".") else "_"


def zip_filename(album: Album) -> str:
    """The download's file name: ``job00001 Class 1.zip``."""
    return safe_name(f"{album.job.internal_name} {album.name}") + ".zip"


def _chunks(photo: Photo, name: str) -> Iterator[bytes]:
    # Opened only when the ZIP reaches this file, so one original at a time is open.
    try:
        with storage.open_bytes(name) as f:
            while chunk := f.read(CHUNK):
                yield chunk
    except OSError as exc:  # the stream stops here: say which photo, not where the ZIP was going
        raise StorageFailed(f"The original of {photo} could not be read ({exc.strerror or exc}).") from exc


def _in_order(photos: Iterable[Photo]) -> list[Photo]:
    return sorted(photos, key=lambda p: (p.taken_at is None, p.taken_at or datetime.min, p.filename, p.pk))


class _Folder:
    """The names used in one ZIP folder, compared as Windows and macOS do (case-insensitively)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.taken: set[str] = set()

    def place(self, filename: str) -> str:
        name = safe_name(filename)
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate.casefold() in self.taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        self.taken.add(candidate.casefold())
        return f"{self.name}/{candidate}"


def album_layout(album: Album) -> tuple[list[tuple[str, Photo]], list[tuple[Subject, int]]]:
    """What the ZIP of ``album`` holds: (name in the ZIP, photo) in order, and each subject's photo count."""
    cards = set(PhotoScan.objects.filter(photo__album=album, is_card=True).values_list("photo_id", flat=True))
    subjects = list(Subject.objects.filter(album=album).prefetch_related("photos").order_by("number"))
    photos = list(Photo.objects.filter(album=album))
    entries: list[tuple[str, Photo]] = []
    counts: list[tuple[Subject, int]] = []
    assigned: set[int] = set()
    for subject in subjects:
        folder = _Folder(safe_name(subject.folder_name))
        own = _in_order(p for p in subject.photos.all() if p.album_id == album.pk and p.pk not in cards)
        own = [p for p in own if p.section == Section.INDIVIDUALS]
        entries += [(folder.place(p.filename), p) for p in own]
        counts.append((subject, len(own)))
        assigned.update(p.pk for p in own)
    group, unassigned = _Folder(GROUP), _Folder(UNASSIGNED)
    rest = _in_order(p for p in photos if p.pk not in cards and p.pk not in assigned)
    entries += [(group.place(p.filename), p) for p in rest if p.section == Section.GROUP]
    entries += [(unassigned.place(p.filename), p) for p in rest if p.section != Section.GROUP]
    return entries, counts


def subjects_csv(counts: Iterable[tuple[Subject, int]]) -> bytes:
    """The ZIP's ``subjects.csv``: UTF-8 with a BOM, so Excel shows the names' accents."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for subject, count in counts:
        writer.writerow(
            [subject.number, subject.name, subject.external_id, subject.code, safe_name(subject.folder_name), count]
        )
    return out.getvalue().encode("utf-8-sig")


def album_zip(album: Album) -> Iterator[bytes]:
    """The ZIP of ``album`` as a stream of bytes (for a ``StreamingHttpResponse`` or a file).

    The photos are looked up when iteration starts; each original is read as the stream gets to it.
    """
    entries, counts = album_layout(album)
    archive = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED)
    archive.add(subjects_csv(counts), CSV_NAME, compress_type=zipstream.ZIP_DEFLATED)
    for arcname, photo in entries:
        name = photo.original.name
        assert name, f"photo {photo.pk} has no original"
        # The size is a hint only (it spares the ZIP64 fields); a mismatch still gives a valid ZIP.
        archive.add(_chunks(photo, name), arcname, size=photo.size)
    yield from archive
