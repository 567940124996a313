"""The studio's review of an album's subjects (DESIGN §10): what the review page shows, and its writes.

``album_review`` reads an album the way a person checks it: the flags first, the card photos whose
code could not be read, the photos no subject owns, then each subject with its photos in capture
order. The writes are the corrections a person makes there:

- ``photos_move`` puts photos into a subject, or takes them out of every subject ("unassigned").
  The decision is stored on the photo's scan (``PhotoScan.manual_subjects``), which assignment keeps
  through every recomputation, so a move survives the next photo of the album being done.
- ``card_code_type`` records the code of a card the reader saw but could not decode, once it is
  known to be a card of this album; assignment then treats the photo as that card.
- ``subject_mark_checked`` / ``subject_mark_unchecked``: a person looked at the subject's photos.

Every write takes the album's row lock first (assignment recomputes an album under the same lock, so
a correction never interleaves with a recomputation), recomputes the album with
``subjects.assignment.assign_album`` where the photos' places may have changed, and records who did
it (``by``). The callers (the admin) fetch the album, subject and scan they pass in from what the
user may see; photo ids come from a form, so ``photos_move`` refuses any that are not this album's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from albums.models import Album, Photo, Section
from audit.services import event_record
from jobs.exceptions import Invalid, NotFound
from subjects import assignment, codes
from subjects.models import PhotoScan, Subject

logger = logging.getLogger(__name__)


# --- reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thumb:
    """One photo on the review page, with what its scan found (``scan`` is None before it is scanned)."""

    photo: Photo
    scan: PhotoScan | None

    @property
    def taken_at(self) -> datetime | None:
        return (self.scan.taken_at if self.scan else None) or self.photo.taken_at

    @property
    def flags(self) -> list[str]:
        return [flag_text(f) for f in self.scan.flags] if self.scan else []

    @property
    def held_reason(self) -> str:
        return self.scan.held_reason if self.scan else ""

    @property
    def unreadable(self) -> bool:
        return bool(self.scan and self.scan.unreadable)

    @property
    def typed_code(self) -> str:
        return self.scan.typed_code if self.scan else ""

    @property
    def is_card(self) -> bool:
        return bool(self.scan and self.scan.is_card)

    @property
    def moved_by_hand(self) -> bool:
        return bool(self.scan and self.scan.manual_subjects is not None)


@dataclass(frozen=True)
class Flag:
    """A reason for review, said of a subject or a photo; ``anchor`` is its place on the page."""

    anchor: str
    about: str
    text: str


@dataclass
class SubjectStrip:
    subject: Subject
    photos: list[Thumb] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        return [flag_text(f) for f in self.subject.flags]


@dataclass
class Review:
    album: Album
    flags: list[Flag]
    unreadable: list[Thumb]  # a symbol seen but not decoded: a card whose code a person may type
    unassigned: list[Thumb]  # individuals photos no subject owns (held ones say why), cards excepted
    subjects: list[SubjectStrip]
    cards: list[Thumb]  # card photos: they start a subject and are never exported
    group_count: int  # group photos belong to no subject; counted, not shown

    @property
    def checked_count(self) -> int:
        return sum(1 for strip in self.subjects if strip.subject.checked_at is not None)


def flag_text(flag: Any) -> str:
    """A flag as a person reads it (assignment stores sentences; anything else is shown as it is)."""
    if isinstance(flag, dict):
        return str(flag.get("text") or flag.get("message") or flag.get("reason") or flag)
    return str(flag)


def _capture_order(thumb: Thumb) -> tuple[bool, datetime | None, str, str]:
    taken_at = thumb.taken_at
    return (taken_at is None, taken_at, thumb.scan.sequence if thumb.scan else "", thumb.photo.filename)


def _scan_of(photo: Photo) -> PhotoScan | None:
    try:
        return photo.scan
    except PhotoScan.DoesNotExist:
        return None


def album_review(*, album: Album) -> Review:
    """Everything the review page of ``album`` shows, in three queries."""
    photos = list(Photo.objects.filter(album=album).select_related("scan"))
    thumbs = {p.pk: Thumb(p, _scan_of(p)) for p in photos if p.section == Section.INDIVIDUALS}
    subjects = list(Subject.objects.filter(album=album).order_by("number"))
    strips = {s.pk: SubjectStrip(s) for s in subjects}
    owned: set[int] = set()
    memberships = Subject.photos.through.objects.filter(subject__album=album).values_list("subject_id", "photo_id")
    for subject_id, photo_id in memberships:
        if photo_id in thumbs:
            strips[subject_id].photos.append(thumbs[photo_id])
            owned.add(photo_id)
    for strip in strips.values():
        strip.photos.sort(key=_capture_order)
    ordered = sorted(thumbs.values(), key=_capture_order)

    flags = [Flag(f"subject-{s.pk}", str(s), text) for s in subjects for text in strips[s.pk].flags]
    flags += [Flag(f"photo-{t.photo.pk}", t.photo.filename, text) for t in ordered for text in t.flags]
    return Review(
        album=album,
        flags=flags,
        unreadable=[t for t in ordered if t.unreadable],
        unassigned=[t for t in ordered if t.photo.pk not in owned and not t.is_card],
        subjects=[strips[s.pk] for s in subjects],
        cards=[t for t in ordered if t.is_card],
        group_count=len(photos) - len(thumbs),
    )


# --- writes --------------------------------------------------------------------------------------


def _lock(album_id: int) -> None:
    Album.objects.select_for_update().filter(pk=album_id).first()


def _who(by: AbstractBaseUser) -> str:
    return f"{by.get_username()} ({by.pk})"


@transaction.atomic
def photos_move(
    *, album: Album, photo_ids: Iterable[int], to_subject: Subject | None, by: AbstractBaseUser
) -> list[Photo]:
    """Make ``to_subject`` the one subject of these photos of ``album`` (None: no subject), for good.

    All or nothing: an id that is not an individuals photo of this album (another album's, another
    studio's, a group photo), a card photo or a photo not scanned yet refuses the whole move.
    Returns the photos moved.
    """
    wanted = set(photo_ids)
    if not wanted:
        raise Invalid("Choose the photos to move first.")
    if to_subject is not None and to_subject.album_id != album.pk:
        raise NotFound("There is no such subject in this album.")
    _lock(album.pk)
    photos = list(Photo.objects.filter(album=album, pk__in=wanted).order_by("filename"))
    if len(photos) != len(wanted):
        raise NotFound("Some of the chosen photos are not photos of this album; nothing was moved.")
    for photo in photos:
        if photo.section != Section.INDIVIDUALS:
            raise Invalid(f"The photo {photo.filename} is a group photo: group photos belong to no subject.")
    scans = {s.photo_id: s for s in PhotoScan.objects.select_for_update().filter(photo__in=photos)}
    for photo in photos:
        scan = scans.get(photo.pk)
        if scan is None:
            # The decision lives on the scan, and a scan row means "scanned for cards": making one here
            # would keep the photo from ever being scanned (``subjects.detect.scan_missing``).
            raise Invalid(f"The photo {photo.filename} has not been scanned for cards yet: move it once it has been.")
        if scan.is_card:
            raise Invalid(f"The photo {photo.filename} is a card photo: cards belong to no subject.")
    manual = [] if to_subject is None else [to_subject.pk]
    for scan in scans.values():
        if scan.manual_subjects != manual:
            scan.manual_subjects = manual
            scan.save(update_fields=["manual_subjects"])
    assignment.assign_album(album.pk)
    event_record(
        action="photos.move",
        account=album.job.account_id,
        target=album,
        detail={"photos": [p.pk for p in photos], "subject": str(to_subject) if to_subject else None},
    )
    logger.info(
        "%d photos of album %s moved to %s by %s",
        len(photos),
        album.pk,
        f"subject {to_subject.pk}" if to_subject else "no subject",
        _who(by),
    )
    return photos


def card_check(*, album: Album, code: str) -> Subject:
    """The subject of ``album`` whose card ``code`` is, or ``Invalid`` saying why it is not one."""
    text = code.strip()
    card = codes.parse(text)
    if card is None:
        raise Invalid(f"The code {text!r} is not a card code: check it letter by letter against the card.")
    if card.job_public_id != album.job.public_id:
        raise Invalid(f"The code {text!r} is a card of another job, not of this album's.")
    subject = Subject.objects.filter(album__job_id=album.job_id, code=card.code).select_related("album").first()
    if subject is None:
        raise Invalid(f"The code {text!r} is a card of this job, but no subject has the number {card.number}.")
    if subject.album_id != album.pk:
        raise Invalid(
            f"The code {text!r} is the card of {subject} in the album {subject.album.name!r}, not of this album."
        )
    return subject


@transaction.atomic
def card_code_type(*, scan: PhotoScan, code: str, by: AbstractBaseUser) -> Subject | None:
    """Record the code of a card whose symbol could not be read (an empty code takes it back).

    The code must be a card of a subject of the photo's own album; then the album is recomputed, so
    the photos after this card go to that subject. Returns that subject (None when taken back).
    """
    photo = scan.photo
    album = Album.objects.select_related("job").get(pk=photo.album_id)
    if photo.section != Section.INDIVIDUALS:
        raise Invalid(f"The photo {photo.filename} is a group photo: it is never a card.")
    subject = card_check(album=album, code=code) if code.strip() else None
    _lock(album.pk)
    typed = subject.code if subject is not None else ""
    PhotoScan.objects.filter(pk=scan.pk).update(typed_code=typed)
    scan.typed_code = typed
    assignment.assign_album(album.pk)
    event_record(action="photo.card_code", account=album.job.account_id, target=photo, detail={"code": typed})
    logger.info("card code of photo %s set to %r by %s", photo.pk, typed, _who(by))
    return subject


def _set_checked(subject: Subject, checked_at: datetime | None, by: AbstractBaseUser) -> Subject:
    with transaction.atomic():
        _lock(subject.album_id)
        # Only a change is written: checking twice keeps the time it was first checked.
        rows = Subject.objects.filter(pk=subject.pk, checked_at__isnull=checked_at is not None).update(
            checked_at=checked_at
        )
        if rows:
            account_id = Album.objects.filter(pk=subject.album_id).values_list("job__account_id", flat=True).get()
            action = "subject.check" if checked_at else "subject.uncheck"
            event_record(action=action, account=account_id, target=subject)
    subject.refresh_from_db(fields=["checked_at"])
    if rows:
        logger.info("subject %s marked %s by %s", subject.pk, "checked" if checked_at else "unchecked", _who(by))
    return subject


def subject_mark_checked(*, subject: Subject, by: AbstractBaseUser) -> Subject:
    """A person has looked at this subject's photos and found them right."""
    return _set_checked(subject, timezone.now(), by)


def subject_mark_unchecked(*, subject: Subject, by: AbstractBaseUser) -> Subject:
    """Take a check back (the subject needs another look)."""
    return _set_checked(subject, None, by)
