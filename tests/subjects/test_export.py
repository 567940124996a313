"""The album export (``subjects.export``) read back with ``zipfile``, and the same shoot as
``subjects.selectors.subjects_json`` lists it.

The shoot: a photo before the first card, Anna's card and two portraits, the card of the siblings
Ben and Zoë and a portrait of both, two of Ben with one file name (one in the album folder, one in
``individuals/``), a class photo in ``group/``, a photo held because of another job's card, and a
blank card never photographed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import pytest

from albums import storage
from albums.models import Album, Folder, Photo, Section
from jobs.exceptions import StorageFailed
from jobs.models import PhotoJob
from subjects import export, selectors
from subjects.models import PhotoScan, Subject
from subjects.services import subjects_blank, subjects_import
from tests.images import jpeg, padded

pytestmark = pytest.mark.django_db

START = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)


def make_photo(
    album: Album,
    filename: str,
    *,
    minute: int,
    section: str = Section.INDIVIDUALS,
    folder: str = Folder.ROOT,
    data: bytes | None = None,
) -> Photo:
    """A photo as the intake leaves it: the original in storage, its row (no renditions needed here)."""
    data = data if data is not None else jpeg(colour=(minute * 7 % 256, 90, 160))
    stored = storage.save_bytes(f"uploads/test/{uuid.uuid4().hex}.jpg", data)
    return Photo.objects.create(
        album=album,
        section=section,
        folder=folder,
        filename=filename,
        original=stored,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        width=300,
        height=200,
        format="JPEG",
        taken_at=START + timedelta(minutes=minute),
    )


def card_photo(album: Album, filename: str, *subjects: Subject, minute: int) -> Photo:
    photo = make_photo(album, filename, minute=minute)
    PhotoScan.objects.create(photo=photo, codes=[s.code for s in subjects], is_card=True)
    return photo


def assign(photo: Photo, *subjects: Subject, flags: list[str] | None = None) -> Photo:
    for subject in subjects:
        subject.photos.add(photo)
    PhotoScan.objects.create(photo=photo, flags=flags or [])
    return photo


@dataclass
class Shoot:
    album: Album
    anna: Subject
    ben: Subject
    zoe: Subject
    blank: Subject
    photos: dict[str, Photo]


@pytest.fixture
def shoot(album: Album) -> Shoot:
    anna, ben, zoe = subjects_import(album=album, roster="name;id\nAnna/Lena Müller;17\nBen Okafor;18\nZoë Okafor;19\n")
    [blank] = subjects_blank(album=album, count=1)
    Subject.objects.filter(pk=blank.pk).update(flags=["card with no photos after it"])
    photos = {
        "before": make_photo(album, "before.jpg", minute=0),
        "anna-card": card_photo(album, "anna-card.jpg", anna, minute=1),
        "a1": assign(make_photo(album, "a1.jpg", minute=2), anna),
        "a2": assign(make_photo(album, "a2.jpg", minute=40), anna, flags=["long gap before this photo"]),
        "siblings-card": card_photo(album, "siblings-card.jpg", ben, zoe, minute=41),
        "both": assign(make_photo(album, "both.jpg", minute=42), ben, zoe),
        "ben-root": assign(make_photo(album, "IMG_1.jpg", minute=43), ben),
        "ben-individuals": assign(make_photo(album, "IMG_1.jpg", minute=44, folder=Folder.INDIVIDUALS), ben),
        "class": make_photo(album, "class.jpg", minute=50, section=Section.GROUP, folder=Folder.GROUP),
        "held": make_photo(album, "held.jpg", minute=51),
    }
    PhotoScan.objects.create(
        photo=photos["held"], held_reason="after a card of another job", flags=["card of another job"]
    )
    return Shoot(album, anna, ben, zoe, blank, photos)


def read_zip(album: Album) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(export.album_zip(album))))


def original(photo: Photo) -> bytes:
    with storage.open_bytes(photo.original.name or "") as f:
        return f.read()


def test_the_zip_has_a_folder_per_subject_group_and_unassigned(shoot: Shoot) -> None:
    archive = read_zip(shoot.album)
    assert archive.testzip() is None
    assert archive.namelist() == [
        "subjects.csv",
        "0001 Anna_Lena Müller/a1.jpg",  # the name's slash makes no folder
        "0001 Anna_Lena Müller/a2.jpg",
        "0002 Ben Okafor/both.jpg",
        "0002 Ben Okafor/IMG_1.jpg",
        "0002 Ben Okafor/IMG_1 (2).jpg",  # the same name from individuals/
        "0003 Zoë Okafor/both.jpg",  # siblings: in each one's folder
        "group/class.jpg",
        "unassigned/before.jpg",
        "unassigned/held.jpg",
    ]
    p = shoot.photos
    for name, photo in [
        ("0002 Ben Okafor/IMG_1.jpg", p["ben-root"]),
        ("0002 Ben Okafor/IMG_1 (2).jpg", p["ben-individuals"]),
        ("0003 Zoë Okafor/both.jpg", p["both"]),
        ("group/class.jpg", p["class"]),
    ]:
        assert archive.read(name) == original(photo)
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


def test_card_photos_are_left_out(shoot: Shoot) -> None:
    names = read_zip(shoot.album).namelist()
    assert not [n for n in names if "card" in n]


def test_subjects_csv_lists_every_subject_with_its_photo_count(shoot: Shoot) -> None:
    data = read_zip(shoot.album).read("subjects.csv")
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["number"], r["name"], r["external_id"], r["folder"], r["photos"]) for r in rows] == [
        ("1", "Anna/Lena Müller", "17", "0001 Anna_Lena Müller", "2"),
        ("2", "Ben Okafor", "18", "0002 Ben Okafor", "3"),
        ("3", "Zoë Okafor", "19", "0003 Zoë Okafor", "1"),
        ("4", "", "", "0004", "0"),
    ]
    assert [r["code"] for r in rows] == [s.code for s in (shoot.anna, shoot.ben, shoot.zoe, shoot.blank)]


def test_the_zip_is_streamed_one_original_at_a_time_in_chunks(album: Album, monkeypatch: pytest.MonkeyPatch) -> None:
    big = padded(jpeg(), 3 * export.CHUNK + 123)
    photos = [make_photo(album, f"IMG_{n}.jpg", minute=n, data=big + bytes([n])) for n in range(1, 4)]
    opened: list[BinaryIO] = []
    real_open = storage.open_bytes

    def recording_open(name: str) -> BinaryIO:
        opened.append(real_open(name))
        return opened[-1]

    monkeypatch.setattr(storage, "open_bytes", recording_open)
    stream = export.album_zip(album)
    sizes = []
    for chunk in stream:
        sizes.append(len(chunk))
        assert sum(not f.closed for f in opened) <= 1
    assert len(opened) == 3
    assert all(f.closed for f in opened)
    assert max(sizes) <= export.CHUNK
    assert sum(sizes) > 3 * len(big)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(export.album_zip(album))))
    assert [archive.read(f"unassigned/{p.filename}") == original(p) for p in photos] == [True] * 3


def test_a_missing_original_stops_the_zip_with_the_photo_named(album: Album) -> None:
    photo = make_photo(album, "gone.jpg", minute=1)
    storage.delete(photo.original.name or "")
    with pytest.raises(StorageFailed, match=r"The original of Class 1/gone.jpg could not be read \(No such file"):
        b"".join(export.album_zip(album))


def test_an_album_with_no_subjects_and_no_photos_is_a_zip_with_an_empty_list(album: Album) -> None:
    archive = read_zip(album)
    assert archive.namelist() == ["subjects.csv"]
    assert archive.read("subjects.csv").decode("utf-8-sig").splitlines() == [
        "number,name,external_id,code,folder,photos"
    ]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("0001 Anna/Lena", "0001 Anna_Lena"),
        ('a\\b:c*d?e"f<g>h|i', "a_b_c_d_e_f_g_h_i"),
        ("tab\there\x00", "tab_here_"),
        ("..", "_"),
        ("", "_"),
        ("  Zoë. ", "Zoë"),
        ("right\u202eto-left", "right_to-left"),
    ],
)
def test_names_in_the_zip_are_one_safe_segment(name: str, safe: str) -> None:
    assert export.safe_name(name) == safe


def test_the_download_is_named_after_job_and_album(album: Album, planned_job: PhotoJob) -> None:
    assert export.zip_filename(album) == "job00001 Class 1.zip"
    other = Album.objects.create(job=planned_job, name='Class "2": A/B')
    assert export.zip_filename(other) == "job00001 Class _2__ A_B.zip"


def test_subjects_json_lists_photos_cards_and_flags_per_subject(shoot: Shoot, planned_job: PhotoJob) -> None:
    rows = selectors.subjects_json(planned_job)
    p = shoot.photos

    def ids(entries: list[dict[str, object]]) -> list[object]:
        return [e["id"] for e in entries]

    assert [(r["album"], r["number"], r["name"], r["code"]) for r in rows] == [
        ("Class 1", 1, "Anna/Lena Müller", shoot.anna.code),
        ("Class 1", 2, "Ben Okafor", shoot.ben.code),
        ("Class 1", 3, "Zoë Okafor", shoot.zoe.code),
        ("Class 1", 4, "", shoot.blank.code),
        ("Class 1", None, "", None),
    ]
    anna, ben, zoe, blank, loose = rows
    assert anna["photos"] == [
        {"id": p["a1"].pk, "filename": "a1.jpg", "flags": []},
        {"id": p["a2"].pk, "filename": "a2.jpg", "flags": ["long gap before this photo"]},
    ]
    assert ids(anna["card_photos"]) == [p["anna-card"].pk]
    assert ids(ben["photos"]) == [p["both"].pk, p["ben-root"].pk, p["ben-individuals"].pk]
    assert ids(ben["card_photos"]) == ids(zoe["card_photos"]) == [p["siblings-card"].pk]
    assert ids(zoe["photos"]) == [p["both"].pk]
    assert (blank["photos"], blank["card_photos"], blank["flags"]) == ([], [], ["card with no photos after it"])
    assert loose["photos"] == [
        {"id": p["before"].pk, "filename": "before.jpg"},  # never scanned
        {
            "id": p["held"].pk,
            "filename": "held.jpg",
            "flags": ["card of another job"],
            "held_reason": "after a card of another job",
        },
    ]
    assert loose["card_photos"] == []
    assert loose["flags"] == ["card of another job"]


def test_subjects_json_of_one_album_and_a_typed_code(shoot: Shoot, planned_job: PhotoJob) -> None:
    other = Album.objects.create(job=planned_job, name="Class 2")
    [cleo] = subjects_blank(album=other, count=1)
    unreadable = make_photo(other, "cleo-card.jpg", minute=60)
    PhotoScan.objects.create(photo=unreadable, unreadable=True, typed_code=cleo.code, is_card=True)
    stray_card = make_photo(other, "stray-card.jpg", minute=61)
    PhotoScan.objects.create(photo=stray_card, codes=[shoot.anna.code], is_card=True)  # Anna's card in Class 2

    rows = selectors.subjects_json(planned_job, other)

    assert [(r["number"], [c["id"] for c in r["card_photos"]]) for r in rows] == [
        (5, [unreadable.pk]),
        (None, [stray_card.pk]),
    ]
    assert len(selectors.subjects_json(planned_job)) == 5 + 2
