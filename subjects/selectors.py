"""Reads for subjects: an album by name, and the subjects of a job with their photos and flags as JSON.

``subjects_json`` is what ``manage.py subjects list --json`` prints (DESIGN §7): one object per
subject, plus one per album with ``number: null`` for its individuals photos of no subject.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from albums.models import Album, Photo, Section
from jobs.exceptions import NotFound
from jobs.models import PhotoJob
from subjects.models import PhotoScan, Subject


def album_get(*, job: PhotoJob, name: str) -> Album:
    """The album of ``job`` named ``name`` (case-insensitively, as the tree matches album folders)."""
    album = Album.objects.filter(job=job, name__iexact=name).select_related("job").first()
    if album is None:
        raise NotFound(f"The job {job.internal_name} has no album named {name!r}.")
    return album


def _photo(photo: Photo, scan: PhotoScan | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": photo.pk, "filename": photo.filename}
    if scan is not None:
        entry["flags"] = scan.flags
        if scan.held_reason:
            entry["held_reason"] = scan.held_reason
    return entry


def _in_order(photos: Iterable[Photo]) -> list[Photo]:
    return sorted(photos, key=lambda p: (p.taken_at is None, p.taken_at or datetime.min, p.filename, p.pk))


def _unique(flags: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for flag in flags:
        seen.setdefault(json.dumps(flag, sort_keys=True, default=str), flag)
    return list(seen.values())


def subjects_json(job: PhotoJob, album: Album | None = None) -> list[dict[str, Any]]:
    """The subjects of ``job`` (or of one ``album`` of it), album by album, by number.

    Each object: ``album``, ``number``, ``name``, ``external_id``, ``code``, ``photos`` (``id``,
    ``filename``, the scan's ``flags``; the card photos not among them), ``card_photos`` (the photos
    of its card: the code was read or typed in), ``flags``, ``checked_at``, ``activated_at``. After
    an album's subjects comes its ``number: null`` entry: individuals photos of no subject, the card
    photos of no subject of the album, and their flags together.
    """
    albums = [album] if album is not None else list(job.albums.all())
    result: list[dict[str, Any]] = []
    for current in albums:
        photos = {p.pk: p for p in Photo.objects.filter(album=current)}
        scans = {s.photo_id: s for s in PhotoScan.objects.filter(photo__album=current)}
        cards_by_code: dict[str, set[int]] = {}
        for scan in scans.values():
            if scan.is_card:
                for code in [*scan.codes, scan.typed_code]:
                    if code:
                        cards_by_code.setdefault(str(code).upper(), set()).add(scan.photo_id)
        card_ids = {pid for pid, scan in scans.items() if scan.is_card}
        assigned: set[int] = set()
        shown_cards: set[int] = set()
        for subject in Subject.objects.filter(album=current).prefetch_related("photos").order_by("number"):
            own = [p for p in subject.photos.all() if p.pk in photos]
            cards = {p.pk for p in own if p.pk in card_ids} | cards_by_code.get(subject.code, set())
            own = [p for p in own if p.pk not in card_ids]
            assigned.update(p.pk for p in own)
            shown_cards |= cards
            result.append(
                {
                    "album": current.name,
                    "number": subject.number,
                    "name": subject.name,
                    "external_id": subject.external_id,
                    "code": subject.code,
                    "photos": [_photo(p, scans.get(p.pk)) for p in _in_order(own)],
                    "card_photos": [_photo(photos[i], scans.get(i)) for i in _ordered_ids(cards, photos)],
                    "flags": subject.flags,
                    "checked_at": subject.checked_at.isoformat() if subject.checked_at else None,
                    "activated_at": subject.activated_at.isoformat() if subject.activated_at else None,
                }
            )
        loose = [
            p
            for p in photos.values()
            if p.section == Section.INDIVIDUALS and p.pk not in assigned and p.pk not in card_ids
        ]
        loose_cards = card_ids - shown_cards
        result.append(
            {
                "album": current.name,
                "number": None,
                "name": "",
                "external_id": "",
                "code": None,
                "photos": [_photo(p, scans.get(p.pk)) for p in _in_order(loose)],
                "card_photos": [_photo(photos[i], scans.get(i)) for i in _ordered_ids(loose_cards, photos)],
                "flags": _unique(
                    flag for pid in [*(p.pk for p in loose), *loose_cards] if pid in scans for flag in scans[pid].flags
                ),
                "checked_at": None,
                "activated_at": None,
            }
        )
    return result


def _ordered_ids(ids: Iterable[int], photos: dict[int, Photo]) -> list[int]:
    return [p.pk for p in _in_order(photos[i] for i in ids if i in photos)]
