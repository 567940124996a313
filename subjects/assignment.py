"""The sequence rule (DESIGN §10): which subject each individuals photo of an album belongs to.

``assign_album`` is the one writer of ``Subject.photos``, ``Subject.flags``, ``Subject.activated_at``
and of a scan's ``is_card``, ``flags``, ``held_reason``, ``camera`` and ``sequence``. It recomputes
the whole album from its scans each time, under a lock on the album row, and writes only what
differs, so running it again changes nothing (Zulip's ``ensure_*``). It runs whenever an
individuals photo of the album is done (``albums.intake``), moved or deleted (``albums.services``)
or re-scanned (``subjects.detect.scan_missing``), and after a person's change in the review.

The rule:

- Each camera is its own sequence (EXIF make, model and body serial; a device's camera id; else
  the file-name prefix, ``IMG_`` of ``IMG_0001.jpg``), in capture order: the capture time with
  its sub-seconds, then the file name's counter (its digits), then the name. Two cameras never
  interleave: a card only owns photos of its own camera.
- A card photo (this album's card codes found, or typed by staff for an unreadable card) is marked
  ``is_card``, is never a portrait, and starts a run: the photos after it belong to its subjects,
  until the next card. Several codes in one photo (siblings): the photos after it belong to all of
  them. The same card again (a retake, or a second shot of the card) is the same subject.
- Held, unassigned with the reason in ``held_reason``: photos before the camera's first card;
  photos after a valid card of another job, or of this job but no subject of this album; photos
  after a card nobody could read (until staff type its code). A held run ends at the next card of
  this album.
- A photo a person placed in the review (``PhotoScan.manual_subjects``) belongs where they said,
  whatever the cards say; its own card, if it shows one, still starts a run.
- Flags for the review (recomputed, never accumulated): a code seen but unreadable (on the
  photo); a gap longer than ``SUBJECTS_GAP_MINUTES`` between consecutive photos of one run (on the
  subject and the photo after the gap); a card followed by no photos (on the subject and the card
  photo); a subject with more than ``SUBJECTS_MEDIAN_FACTOR`` times the album's median number of
  photos (the median of the subjects that have photos); photos not scanned for cards yet.
- ``Subject.activated_at`` is the capture time of its first card photo (its upload time when the
  camera wrote none).

Photos with no scan (not scanned: the album had no subjects when they came, or they came from
``group``) count as portraits; ``scan_missing`` scans them.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from albums.models import Album, Photo, Section
from subjects import codes
from subjects.detect import describe_foreign
from subjects.models import PhotoScan, Subject

logger = logging.getLogger(__name__)

BEFORE_FIRST_CARD = "before the first card of its camera"
UNREADABLE = "a QR code was seen but could not be read: type the card's code"
NO_PHOTOS_AFTER = "no photos after this card"

_DIGITS = re.compile(r"[0-9]+")
_FIRST_DIGIT = re.compile(r"[0-9]")
_CAMERA_LENGTH = PhotoScan._meta.get_field("camera").max_length or 300
_SEQUENCE_LENGTH = PhotoScan._meta.get_field("sequence").max_length or 100


def camera_of(photo: Photo) -> str:
    """The camera a photo's sequence is kept for: EXIF make|model|serial, a device's id, or its file-name prefix."""
    exif = (photo.camera_make, photo.camera_model, photo.camera_serial)
    if any(exif):
        return "|".join(exif)[:_CAMERA_LENGTH]
    if photo.camera_id:
        return f"camera {photo.camera_id}"[:_CAMERA_LENGTH]
    prefix = _FIRST_DIGIT.split(_stem(photo.filename), maxsplit=1)[0]
    return f"files {prefix.upper()}*"[:_CAMERA_LENGTH]


def _stem(filename: str) -> str:
    return filename.rpartition(".")[0] or filename


def counter_of(filename: str) -> tuple[int, ...]:
    """The file name's counter: its runs of digits, as numbers (``IMG_0042.jpg`` -> (42,))."""
    return tuple(int(digits) for digits in _DIGITS.findall(_stem(filename)))


@dataclass
class _Entry:
    """One individuals photo in its camera's sequence, and what assignment makes of it."""

    photo: Photo
    scan: PhotoScan | None
    taken: datetime | None
    is_card: bool = False
    flags: list[str] = field(default_factory=list)
    held: str = ""

    @property
    def when(self) -> datetime:
        return self.taken or self.photo.created_at


@dataclass
class _Card:
    """What the cards in one photo say."""

    subjects: tuple[int, ...]  # this album's subjects, by id; empty: the photos after it are held
    held: str  # why the photos after it are held
    flags: list[str]


@dataclass
class _Run:
    """A card (or the same cards again) and the photos after it, up to the next card."""

    subjects: tuple[int, ...]
    entries: list[_Entry] = field(default_factory=list)  # cards and portraits, in order
    portraits: list[_Entry] = field(default_factory=list)


@dataclass
class _Outcome:
    members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # subject id -> photo ids
    flags: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # subject id -> reasons
    activated: dict[int, datetime] = field(default_factory=dict)


def assign_album(album_id: int) -> None:
    """Recompute who owns which individuals photo of an album, and the review flags (idempotent)."""
    if not (
        Subject.objects.filter(album_id=album_id).exists()
        or PhotoScan.objects.filter(photo__album_id=album_id).exists()
    ):
        return  # nothing to assign, nothing to clear: no lock taken
    with transaction.atomic():
        album = Album.objects.select_for_update().filter(pk=album_id).first()
        if album is None:
            return
        subjects = list(Subject.objects.filter(album_id=album_id))
        photos = list(Photo.objects.filter(album_id=album_id))
        by_id = {photo.pk: photo for photo in photos}
        # A photo committed since the line above is left for its own worker's assignment, which
        # waits for this lock.
        scans = {s.photo_id: s for s in PhotoScan.objects.filter(photo__album_id=album_id) if s.photo_id in by_id}
        through = Subject.photos.through
        if not subjects and not scans:
            return
        job_public_id = album.job.public_id
        cameras: dict[str, list[_Entry]] = defaultdict(list)
        for photo in photos:
            if photo.section == Section.INDIVIDUALS:
                scan = scans.get(photo.pk)
                taken = scan.taken_at if scan is not None and scan.taken_at else photo.taken_at
                cameras[camera_of(photo)].append(_Entry(photo, scan, taken))
        outcome = _Outcome()
        by_code = {subject.code: subject for subject in subjects}
        entries: dict[int, _Entry] = {}
        for sequence in cameras.values():
            sequence.sort(key=_capture_order)
            _walk(sequence, by_code, job_public_id, album.job.account_id, outcome)
            entries.update((entry.photo.pk, entry) for entry in sequence)
        _flag_large(subjects, outcome)

        # Memberships: exactly the computed ones. Those of a photo moved to another album, with
        # either album's subjects, are stale from both albums' side.
        desired = {(sid, pid) for sid, pids in outcome.members.items() for pid in pids}
        current = list(
            through.objects.filter(Q(subject__album_id=album_id) | Q(photo__album_id=album_id)).values_list(
                "pk", "subject_id", "photo_id"
            )
        )
        stale = [pk for pk, sid, pid in current if (sid, pid) not in desired]
        if stale:
            through.objects.filter(pk__in=stale).delete()
        have = {(sid, pid) for _, sid, pid in current}
        through.objects.bulk_create([through(subject_id=sid, photo_id=pid) for sid, pid in sorted(desired - have)])

        changed_subjects = []
        for subject in subjects:
            flags, activated = outcome.flags.get(subject.pk, []), outcome.activated.get(subject.pk)
            if (subject.flags, subject.activated_at) != (flags, activated):
                subject.flags, subject.activated_at = flags, activated
                changed_subjects.append(subject)
        Subject.objects.bulk_update(changed_subjects, ["flags", "activated_at"])

        changed_scans = []
        for photo_id, scan in scans.items():
            photo = by_id[photo_id]
            entry = entries.get(photo_id)
            state = (
                entry.is_card if entry else False,
                entry.flags if entry else [],
                entry.held if entry else "",
                camera_of(photo),
                "-".join(_DIGITS.findall(_stem(photo.filename)))[:_SEQUENCE_LENGTH],
            )
            if (scan.is_card, scan.flags, scan.held_reason, scan.camera, scan.sequence) != state:
                scan.is_card, scan.flags, scan.held_reason, scan.camera, scan.sequence = state
                changed_scans.append(scan)
        PhotoScan.objects.bulk_update(changed_scans, ["is_card", "flags", "held_reason", "camera", "sequence"])
    logger.info(
        "album %s assigned: %d subjects, %d photos assigned, %d subjects and %d scans changed",
        album_id,
        len(subjects),
        len({pid for _, pid in desired}),
        len(changed_subjects),
        len(changed_scans),
    )


def _capture_order(entry: _Entry) -> tuple[bool, float, tuple[int, ...], str, int]:
    taken = entry.taken
    return (
        taken is None,
        taken.timestamp() if taken else 0.0,
        counter_of(entry.photo.filename),
        entry.photo.filename,
        entry.photo.pk,
    )


def _walk(
    sequence: list[_Entry], by_code: dict[str, Subject], job_public_id: str, account_id: int, outcome: _Outcome
) -> None:
    """One camera's photos in capture order: cards start runs, the photos after them follow."""
    album_subjects = {subject.pk for subject in by_code.values()}
    run: _Run | None = None
    held = BEFORE_FIRST_CARD
    for entry in sequence:
        card = _read_card(entry, by_code, job_public_id, account_id)
        manual = entry.scan.manual_subjects if entry.scan is not None else None
        if card is not None:
            entry.is_card = True
            entry.flags.extend(card.flags)
            if card.subjects:
                if run is None or run.subjects != card.subjects:
                    _close(run, outcome)
                    run = _Run(card.subjects)
                run.entries.append(entry)
                for sid in card.subjects:
                    first = outcome.activated.get(sid)
                    outcome.activated[sid] = entry.when if first is None else min(first, entry.when)
            else:
                _close(run, outcome)
                run, held = None, card.held
        elif manual is None:
            if run is not None:
                run.entries.append(entry)
                run.portraits.append(entry)
            else:
                entry.held = held
        if manual is not None:
            for sid in manual:
                if sid in album_subjects:
                    outcome.members[sid].add(entry.photo.pk)
    _close(run, outcome)


def _read_card(entry: _Entry, by_code: dict[str, Subject], job_public_id: str, account_id: int) -> _Card | None:
    """The cards a photo shows (detected or typed), or None when it is no card photo."""
    scan = entry.scan
    if scan is None:
        return None
    found = list(scan.codes)
    foreign = scan.foreign
    flags: list[str] = []
    if scan.typed_code:
        typed = codes.parse(scan.typed_code)
        if typed is None:
            flags.append(f"the typed code {scan.typed_code!r} is not a card of this portal")
        elif typed.job_public_id == job_public_id:
            found.append(typed.code)
        else:
            foreign = foreign or describe_foreign([typed], account_id=account_id)
    unreadable = scan.unreadable and not scan.typed_code
    if not found and not foreign and not unreadable:
        return None
    if unreadable:
        flags.append(UNREADABLE)
    if foreign:
        flags.append(foreign)
    strays = [code for code in found if code not in by_code]
    for code in strays:
        card = codes.parse(code)
        flags.append(f"card no. {card.number if card else '?'} is not a subject of this album")
    mine = tuple(sorted({by_code[code].pk for code in found if code in by_code}))
    name = entry.photo.filename
    if mine:
        return _Card(mine, "", flags)
    if foreign:
        return _Card((), f"after {foreign} in {name}", flags)
    if strays:
        return _Card((), f"after a card that is not a subject of this album in {name}", flags)
    return _Card((), f"after a card that could not be read in {name}", flags)


def _close(run: _Run | None, outcome: _Outcome) -> None:
    """A run has ended: its portraits go to its subjects; flag an empty run and long gaps."""
    if run is None:
        return
    for sid in run.subjects:
        outcome.members[sid].update(entry.photo.pk for entry in run.portraits)
    if not run.portraits:
        last = run.entries[-1]
        last.flags.append(NO_PHOTOS_AFTER)
        for sid in run.subjects:
            outcome.flags[sid].append(f"card photographed with no photos after it ({last.photo.filename})")
    limit = timedelta(minutes=settings.SUBJECTS_GAP_MINUTES)
    for before, after in pairwise(run.entries):
        if after.is_card:
            continue  # the same card shown again says whose photos follow, however long after
        if before.taken is not None and after.taken is not None and after.taken - before.taken > limit:
            minutes = round((after.taken - before.taken).total_seconds() / 60)
            after.flags.append(f"taken {minutes} minutes after the photo before it")
            for sid in run.subjects:
                outcome.flags[sid].append(
                    f"{minutes}-minute gap between {before.photo.filename} and {after.photo.filename}"
                )
    unscanned = sum(1 for entry in run.portraits if entry.scan is None)
    if unscanned:
        for sid in run.subjects:
            outcome.flags[sid].append(f"{unscanned} photo{'s' if unscanned != 1 else ''} not scanned for cards")


def _flag_large(subjects: list[Subject], outcome: _Outcome) -> None:
    """Flag subjects with far more photos than the album's median: a card missed after them, likely."""
    counts = {subject.pk: len(outcome.members.get(subject.pk, ())) for subject in subjects}
    with_photos = [count for count in counts.values() if count]
    if not with_photos:
        return
    median = statistics.median(with_photos)
    factor = settings.SUBJECTS_MEDIAN_FACTOR
    for sid, count in counts.items():
        if count > factor * median:
            outcome.flags[sid].append(f"{count} photos, more than {factor} times the album's median ({median:g})")
