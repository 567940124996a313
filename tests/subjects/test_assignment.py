"""subjects.assignment through the real worker: photo sequences made here, uploaded as a door does
(``albums.services.file_finished``), processed by ``albums.intake.upload_process``, which scans them
for cards and assigns the album (DESIGN §10).

Each test shoots sequences with one or two cameras (``Shoot``): card photos carry a real card's QR
symbol (``tests.subjects.cardimages``) from 3 % to 20 % of the frame width, portraits are plain
photo-like pictures, every photo has the EXIF of its camera with the capture time to 1/100 s.
"""

from __future__ import annotations

import functools
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from albums import intake
from albums import services as album_services
from albums.models import Album, Door, Photo
from albums.services import FilePath
from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from subjects import assignment, codes, detect
from subjects.models import PhotoScan, Subject
from tests.helpers import register_upload
from tests.subjects import cardimages
from tests.subjects.cardimages import CANON, NIKON, Camera

START = datetime(2026, 5, 6, 10, 0, 0)
CARD_SIZES = (0.03, 0.05, 0.08, 0.12, 0.2)  # of the frame width; cards take them in turn


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path, queued: list[int]) -> Path:
    """Each test its own storage; uploads are processed here, in the test, never sent to a broker."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@functools.lru_cache(maxsize=4)
def _background(seed: int) -> Image.Image:
    return cardimages.scene((2400, 1600), seed=seed)


@dataclass(frozen=True)
class Shot:
    name: str
    data: bytes
    taken: datetime | None  # the camera's clock, to the 1/100 s


class Shoot:
    """One camera's photos in capture order: ``IMG_0001.JPG``, ``IMG_0002.JPG``, ... ``step`` apart."""

    def __init__(
        self,
        camera: Camera | None,
        prefix: str,
        start: datetime | None = START,
        *,
        step: timedelta = timedelta(seconds=20),
        counter: int = 1,
    ) -> None:
        self.camera, self.prefix, self.step, self.counter = camera, prefix, step, counter
        self.clock = start
        self.shots: list[Shot] = []
        self.cards = 0

    def _next(self, img: Image.Image, after: timedelta | None, name: str) -> Shot:
        if self.clock is not None and (self.shots or after is not None):
            self.clock += self.step if after is None else after
        taken = self.clock
        shot = Shot(
            name or f"{self.prefix}{self.counter:04d}.JPG",
            cardimages.camera_jpeg(img, camera=self.camera, taken=taken),
            taken,
        )
        self.counter += 1
        self.shots.append(shot)
        return shot

    def card(
        self, *card_codes: str, size: float | None = None, damaged: bool = False, after: timedelta | None = None
    ) -> Shot:
        """A photo of one card (or of several: siblings), held up in the middle of the frame."""
        img = _background(self.counter % 4)
        spots = [(0.35, 0.45), (0.65, 0.55), (0.5, 0.3)]
        for code, at in zip(card_codes, spots, strict=False):
            card_size = size if size is not None else CARD_SIZES[self.cards % len(CARD_SIZES)]
            self.cards += 1
            angle = random.Random(code).uniform(-8, 8)
            img = cardimages.with_card(img, code, size=card_size, at=at, angle=angle, damaged=damaged)
        return self._next(img, after, "")

    def photo(self, *, after: timedelta | None = None, name: str = "") -> Shot:
        """A portrait: no card in it."""
        seed = zlib.crc32(f"{self.camera}/{self.prefix}/{self.counter}".encode())
        return self._next(cardimages.scene((800, 533), seed=seed), after, name)

    def photos(self, count: int) -> list[Shot]:
        return [self.photo() for _ in range(count)]


def interleaved(*sequences: list[Shot], seed: int = 3) -> list[Shot]:
    """The cameras' photos in an upload order that follows neither camera: merged, then shuffled in part."""
    merged = [shot for group in zip(*sequences, strict=False) for shot in group]
    merged += [shot for sequence in sequences for shot in sequence[min(map(len, sequences)) :]]
    rng = random.Random(seed)
    for i in range(0, len(merged) - 1, 3):
        j = rng.randrange(i, len(merged))
        merged[i], merged[j] = merged[j], merged[i]
    return merged


# --- the cast -------------------------------------------------------------------------------------


def make_subjects(album: Album, count: int, *, first: int = 1) -> list[Subject]:
    """Subjects as blank cards make them: numbered, with their card codes."""
    return [
        Subject.objects.create(album=album, number=n, code=codes.code_for(album.job.public_id, n))
        for n in range(first, first + count)
    ]


@pytest.fixture
def subjects(album: Album) -> list[Subject]:
    return make_subjects(album, 6)


def code(subjects: list[Subject], number: int) -> str:
    return subjects[number - 1].code


def upload(album: Album, ftp_user: FTPUser, shots: Iterable[Shot], *, folder: str = "") -> None:
    for shot in shots:
        recorded = register_upload(album, shot.name, shot.data, folder=folder, ftp_user=ftp_user)
        assert intake.upload_process(upload_id=recorded.pk, token=intake.new_token()) == "done"


def photo(album: Album, name: str) -> Photo:
    return Photo.objects.get(album=album, filename=name)


def owners(album: Album) -> dict[str, set[int]]:
    """Each individuals photo's subjects, by number."""
    result: dict[str, set[int]] = {
        name: set()
        for name in Photo.objects.filter(album=album, section="individuals").values_list("filename", flat=True)
    }
    for name, number in Subject.photos.through.objects.filter(subject__album=album).values_list(
        "photo__filename", "subject__number"
    ):
        result[name].add(number)
    return result


def scans(album: Album) -> dict[str, PhotoScan]:
    return {s.photo.filename: s for s in PhotoScan.objects.filter(photo__album=album).select_related("photo")}


def cards(album: Album) -> set[str]:
    return {name for name, scan in scans(album).items() if scan.is_card}


def held(album: Album) -> dict[str, str]:
    return {name: scan.held_reason for name, scan in scans(album).items() if scan.held_reason}


def flags(subject: Subject) -> list[str]:
    subject.refresh_from_db()
    return subject.flags


def aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return timezone.make_aware(moment)


# --- the sequence rule ------------------------------------------------------------------------------


def test_each_camera_s_photos_follow_its_own_cards_whatever_the_upload_order(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.photo()  # before the first card
    first_card = canon.card(code(subjects, 1), size=0.03)
    canon.photos(2)
    canon.card(code(subjects, 2), size=0.2)
    canon.photo()
    # The second camera's clock runs 10.5 s behind the first's: their photos alternate in time.
    nikon = Shoot(NIKON, "DSC_", START + timedelta(seconds=10, milliseconds=500))
    nikon_card = nikon.card(code(subjects, 3), size=0.05)
    nikon.photos(2)
    nikon.card(code(subjects, 4), size=0.12)
    nikon.photo()

    upload(album, ftp_user, interleaved(canon.shots, nikon.shots))

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": set(),
        "IMG_0003.JPG": {1},
        "IMG_0004.JPG": {1},
        "IMG_0005.JPG": set(),
        "IMG_0006.JPG": {2},
        "DSC_0001.JPG": set(),
        "DSC_0002.JPG": {3},  # taken between IMG_0002 (card 1) and IMG_0003: still card 3's
        "DSC_0003.JPG": {3},
        "DSC_0004.JPG": set(),
        "DSC_0005.JPG": {4},
    }
    assert cards(album) == {"IMG_0002.JPG", "IMG_0005.JPG", "DSC_0001.JPG", "DSC_0004.JPG"}
    assert held(album) == {"IMG_0001.JPG": assignment.BEFORE_FIRST_CARD}
    by_number = {s.number: s for s in Subject.objects.filter(album=album)}
    assert by_number[1].activated_at == aware(first_card.taken)
    assert by_number[3].activated_at == aware(nikon_card.taken)
    assert by_number[3].activated_at.microsecond == 500000
    assert by_number[5].activated_at is None
    assert all(s.flags == [] for s in by_number.values())
    camera = scans(album)["DSC_0002.JPG"].camera
    assert camera == "NIKON CORPORATION|NIKON Z 6_2|6012877"


def test_sub_seconds_order_photos_taken_within_one_second(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    canon = Shoot(CANON, "IMG_", counter=9999, step=timedelta(milliseconds=600))
    canon.card(code(subjects, 1), after=timedelta(milliseconds=100))  # IMG_9999.JPG at 10:00:00.10
    canon.counter = 1  # the camera's counter wraps: IMG_0001.JPG, at 10:00:00.70
    canon.photo()

    upload(album, ftp_user, reversed(canon.shots))

    assert owners(album)["IMG_0001.JPG"] == {1}  # by file counter alone it would come first
    portrait = scans(album)["IMG_0001.JPG"]
    assert portrait.taken_at == aware(START + timedelta(milliseconds=700))
    assert portrait.photo.taken_at == aware(START)  # the photo keeps the whole seconds every camera writes
    assert portrait.sequence == "0001"


def test_without_exif_the_file_name_prefix_is_the_camera(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    first = Shoot(None, "IMG_", None)
    first.card(code(subjects, 1))
    first.photos(2)
    second = Shoot(None, "DSC", None)
    second.card(code(subjects, 2))
    second.photos(2)

    upload(album, ftp_user, interleaved(second.shots, first.shots))

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": {1},
        "IMG_0003.JPG": {1},
        "DSC0001.JPG": set(),
        "DSC0002.JPG": {2},
        "DSC0003.JPG": {2},
    }
    assert {scan.camera for scan in scans(album).values()} == {"files IMG_*", "files DSC*"}


def test_siblings_share_the_photos_after_their_cards(album: Album, ftp_user: FTPUser, subjects: list[Subject]) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1), code(subjects, 2), size=0.08)
    canon.photos(2)
    canon.card(code(subjects, 3))
    canon.photo()

    upload(album, ftp_user, canon.shots)

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": {1, 2},
        "IMG_0003.JPG": {1, 2},
        "IMG_0004.JPG": set(),
        "IMG_0005.JPG": {3},
    }
    assert set(scans(album)["IMG_0001.JPG"].codes) == {code(subjects, 1), code(subjects, 2)}


def test_the_same_card_again_is_the_same_subject(album: Album, ftp_user: FTPUser, subjects: list[Subject]) -> None:
    canon = Shoot(CANON, "IMG_")
    first = canon.card(code(subjects, 1))
    canon.card(code(subjects, 1))  # a second shot of the card: no "card with no photos"
    canon.photo()
    canon.card(code(subjects, 2))
    canon.photo()
    canon.card(code(subjects, 1), after=timedelta(minutes=45))  # the retake, after the break
    canon.photos(2)

    upload(album, ftp_user, canon.shots)

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": set(),
        "IMG_0003.JPG": {1},
        "IMG_0004.JPG": set(),
        "IMG_0005.JPG": {2},
        "IMG_0006.JPG": set(),
        "IMG_0007.JPG": {1},
        "IMG_0008.JPG": {1},
    }
    one = Subject.objects.get(album=album, number=1)
    assert one.activated_at == aware(first.taken)
    assert one.flags == []  # a card between the photos is no gap


def test_a_card_of_another_job_holds_the_photos_after_it(
    album: Album, ftp_user: FTPUser, subjects: list[Subject], account: Account
) -> None:
    other = services.job_create(account=account, internal_name="job00002", title="Oak School")
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.card(codes.code_for(other.public_id, 5))
    canon.photos(2)
    canon.card(code(subjects, 2))
    canon.photo()

    upload(album, ftp_user, canon.shots)

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": {1},
        "IMG_0003.JPG": set(),
        "IMG_0004.JPG": set(),
        "IMG_0005.JPG": set(),
        "IMG_0006.JPG": set(),
        "IMG_0007.JPG": {2},
    }
    reason = "after a card of another job (job00002 no. 5) in IMG_0003.JPG"
    assert held(album) == {"IMG_0004.JPG": reason, "IMG_0005.JPG": reason}
    card = scans(album)["IMG_0003.JPG"]
    assert card.is_card and card.codes == [] and card.foreign == "a card of another job (job00002 no. 5)"
    assert card.flags == ["a card of another job (job00002 no. 5)"]


def test_a_card_of_this_job_but_no_subject_of_this_album_holds_too(
    album: Album, ftp_user: FTPUser, subjects: list[Subject], planned_job: PhotoJob
) -> None:
    other_album = album_services.album_create(job=planned_job, name="Class 2")
    (theirs,) = make_subjects(other_album, 1, first=40)
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.card(theirs.code)
    canon.photo()

    upload(album, ftp_user, canon.shots)

    assert owners(album)["IMG_0004.JPG"] == set()
    assert held(album)["IMG_0004.JPG"] == "after a card that is not a subject of this album in IMG_0003.JPG"
    assert scans(album)["IMG_0003.JPG"].flags == ["card no. 40 is not a subject of this album"]


def test_a_forged_card_or_a_qr_code_on_a_t_shirt_is_a_portrait(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    real = code(subjects, 2)
    body, _, mac = real.rpartition("-")
    forged = f"{body}-{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    assert codes.parse(forged) is None
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.card(forged, size=0.1)
    canon.card("https://example.com/summer-camp", size=0.1)
    canon.photo()

    upload(album, ftp_user, canon.shots)

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": {1},
        "IMG_0003.JPG": {1},
        "IMG_0004.JPG": {1},
        "IMG_0005.JPG": {1},
    }
    assert cards(album) == {"IMG_0001.JPG"}


def test_an_unreadable_card_holds_its_photos_until_staff_type_its_code(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.card(code(subjects, 2), size=0.1, damaged=True)
    canon.photos(2)
    canon.card(code(subjects, 3))
    canon.photo()

    upload(album, ftp_user, canon.shots)

    damaged = scans(album)["IMG_0003.JPG"]
    assert damaged.unreadable and damaged.is_card and damaged.codes == []
    assert damaged.flags == [assignment.UNREADABLE]
    reason = "after a card that could not be read in IMG_0003.JPG"
    assert held(album) == {"IMG_0004.JPG": reason, "IMG_0005.JPG": reason}
    assert owners(album)["IMG_0002.JPG"] == {1}  # the photo before it stays with card 1

    # Staff read the card on the photo and type its code (the review's ``card_code_type``).
    PhotoScan.objects.filter(pk=damaged.pk).update(typed_code=code(subjects, 2).lower())
    assignment.assign_album(album.pk)

    assert owners(album) == {
        "IMG_0001.JPG": set(),
        "IMG_0002.JPG": {1},
        "IMG_0003.JPG": set(),
        "IMG_0004.JPG": {2},
        "IMG_0005.JPG": {2},
        "IMG_0006.JPG": set(),
        "IMG_0007.JPG": {3},
    }
    assert held(album) == {}
    assert scans(album)["IMG_0003.JPG"].flags == []


def test_a_long_gap_inside_a_subject_is_flagged(
    album: Album, ftp_user: FTPUser, subjects: list[Subject], settings: Settings
) -> None:
    settings.SUBJECTS_GAP_MINUTES = 20
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.photo(after=timedelta(minutes=19))  # within the limit
    canon.photo(after=timedelta(minutes=29))  # the next child, whose card was forgotten?

    upload(album, ftp_user, canon.shots)

    assert owners(album)["IMG_0004.JPG"] == {1}
    assert flags(subjects[0]) == ["29-minute gap between IMG_0003.JPG and IMG_0004.JPG"]
    assert scans(album)["IMG_0004.JPG"].flags == ["taken 29 minutes after the photo before it"]
    assert scans(album)["IMG_0003.JPG"].flags == []


def test_a_card_followed_by_no_photos_is_flagged_until_its_photos_come(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))  # the child ran off
    canon.card(code(subjects, 2))
    canon.photo()
    canon.card(code(subjects, 3))  # the last card of the day, so far
    upload(album, ftp_user, canon.shots)

    assert flags(subjects[0]) == ["card photographed with no photos after it (IMG_0001.JPG)"]
    assert flags(subjects[1]) == []
    assert flags(subjects[2]) == ["card photographed with no photos after it (IMG_0004.JPG)"]
    assert scans(album)["IMG_0001.JPG"].flags == [assignment.NO_PHOTOS_AFTER]

    upload(album, ftp_user, [canon.photo()])  # its photos arrive: flags are recomputed, not kept

    assert flags(subjects[2]) == []
    assert scans(album)["IMG_0004.JPG"].flags == []


def test_a_subject_with_far_more_photos_than_the_median_is_flagged(
    album: Album, ftp_user: FTPUser, subjects: list[Subject], settings: Settings
) -> None:
    settings.SUBJECTS_MEDIAN_FACTOR = 3
    canon = Shoot(CANON, "IMG_")
    for number in (1, 2, 3):
        canon.card(code(subjects, number))
        canon.photo()
    canon.card(code(subjects, 4))
    canon.photos(4)  # and the next three children's cards were never shown?

    upload(album, ftp_user, canon.shots)

    assert [len(owned) for owned in owners(album).values() if owned] == [1, 1, 1, 1, 1, 1, 1]
    assert flags(subjects[3]) == ["4 photos, more than 3 times the album's median (1)"]
    assert [flags(s) for s in subjects[:3]] == [[], [], []]


# --- recomputation --------------------------------------------------------------------------------


def test_assigning_again_writes_nothing(album: Album, ftp_user: FTPUser, subjects: list[Subject]) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.photo()
    canon.card(code(subjects, 1))
    canon.photos(2)
    canon.card(code(subjects, 2))
    upload(album, ftp_user, canon.shots)
    before = (owners(album), {n: (s.flags, s.held_reason, s.is_card) for n, s in scans(album).items()})

    with CaptureQueriesContext(connection) as queries:
        assignment.assign_album(album.pk)

    writes = [q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert (owners(album), {n: (s.flags, s.held_reason, s.is_card) for n, s in scans(album).items()}) == before


def test_a_photo_placed_by_hand_stays_where_it_was_put(
    album: Album, ftp_user: FTPUser, subjects: list[Subject]
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photos(2)
    upload(album, ftp_user, canon.shots)
    PhotoScan.objects.filter(photo__filename="IMG_0003.JPG").update(manual_subjects=[subjects[1].pk])

    upload(album, ftp_user, [canon.photo()])  # the next photo recomputes the album

    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0002.JPG": {1}, "IMG_0003.JPG": {2}, "IMG_0004.JPG": {1}}


def test_deleting_a_card_photo_gives_its_photos_to_the_card_before(
    album: Album,
    ftp_user: FTPUser,
    subjects: list[Subject],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photo()
    canon.card(code(subjects, 2))
    canon.photo()
    upload(album, ftp_user, canon.shots)
    assert owners(album)["IMG_0004.JPG"] == {2}

    with django_capture_on_commit_callbacks(execute=True):
        album_services.file_removed(where=FilePath(album, "", "IMG_0003.JPG"), door=Door.SFTP)

    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0002.JPG": {1}, "IMG_0004.JPG": {1}}


def test_a_photo_moved_to_group_leaves_its_subject_and_back_it_returns(
    album: Album,
    ftp_user: FTPUser,
    subjects: list[Subject],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    canon = Shoot(CANON, "IMG_")
    canon.card(code(subjects, 1))
    canon.photos(2)
    upload(album, ftp_user, canon.shots)

    with django_capture_on_commit_callbacks(execute=True):
        album_services.file_renamed(
            old=FilePath(album, "", "IMG_0002.JPG"), new=FilePath(album, "group", "IMG_0002.JPG")
        )

    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0003.JPG": {1}}
    assert subjects[0].photos.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        album_services.file_renamed(
            old=FilePath(album, "group", "IMG_0002.JPG"), new=FilePath(album, "", "IMG_0002.JPG")
        )

    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0002.JPG": {1}, "IMG_0003.JPG": {1}}


# --- what is scanned --------------------------------------------------------------------------------


def test_only_individuals_photos_of_albums_with_subjects_are_scanned(
    album: Album, ftp_user: FTPUser, planned_job: PhotoJob
) -> None:
    canon = Shoot(CANON, "IMG_")
    card = canon.card(codes.code_for(planned_job.public_id, 1))
    upload(album, ftp_user, [card])
    assert not PhotoScan.objects.exists()  # no subjects: nothing to look for

    make_subjects(album, 1)
    upload(album, ftp_user, [canon.card(codes.code_for(planned_job.public_id, 1))], folder="group")
    assert not PhotoScan.objects.exists()  # a group photo is nobody's

    upload(album, ftp_user, [canon.photo()])
    assert list(PhotoScan.objects.values_list("photo__filename", flat=True)) == ["IMG_0003.JPG"]


def test_photos_that_came_before_the_subjects_are_scanned_afterwards(album: Album, ftp_user: FTPUser) -> None:
    canon = Shoot(CANON, "IMG_", step=timedelta(seconds=20, milliseconds=250))
    canon.card(codes.code_for(album.job.public_id, 1))
    canon.photos(2)
    upload(album, ftp_user, canon.shots)
    subjects = make_subjects(album, 1)
    assignment.assign_album(album.pk)
    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0002.JPG": set(), "IMG_0003.JPG": set()}

    assert detect.scan_missing(album_id=album.pk) == 3

    assert owners(album) == {"IMG_0001.JPG": set(), "IMG_0002.JPG": {1}, "IMG_0003.JPG": {1}}
    assert subjects[0].photos.count() == 2
    assert scans(album)["IMG_0002.JPG"].taken_at == aware(START + timedelta(seconds=20, milliseconds=250))
