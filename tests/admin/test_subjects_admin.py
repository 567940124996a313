"""Subjects in the admin (DESIGN §10): an album's review page (photo strips, unassigned photos, flags),
moving photos, typing the code of an unreadable card, marking subjects checked, the ZIP export;
every correction through ``subjects.review``, every refusal a sentence, nothing of another studio.

Each studio's album gets a shoot: the subjects of a roster (``subjects.services.subjects_import``),
real photos through intake (one camera: the file names ``alpha_0001.jpg`` ... share a prefix), what
the scans found in them (a card read, a card seen but not read), and ``subjects.assignment``'s own
placing of them, as after every photo.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import TYPE_CHECKING

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client

from albums.models import Album, Photo
from jobs import services as job_services
from subjects import assignment, codes
from subjects import services as subject_services
from subjects.models import PhotoScan, Subject
from tests.admin.cast import Cast, Studio, intake_file
from tests.admin.pages import text
from tests.conftest import PASSWORD
from tests.images import jpeg
from tests.web import conftest as web
from tests.web.conftest import click_and_wait, log_in, open_page

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response
    from pytest_django.live_server_helper import LiveServer
    from selenium.webdriver.remote.webdriver import WebDriver

SUBJECTS = "/admin/subjects/subject/"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def review_url(album: Album) -> str:
    return f"{SUBJECTS}album/{album.pk}/"


def export_url(album: Album) -> str:
    return f"{SUBJECTS}album/{album.pk}/export/"


# --- the shoot ----------------------------------------------------------------------------------------------


@dataclass
class Shoot:
    album: Album
    anna: Subject
    ben: Subject
    before: Photo  # another camera's photo before its first card: no subject's
    card: Photo  # Anna's card, read
    anna_photos: list[Photo]  # the second one 30 minutes after the first: a gap to flag
    unreadable: Photo  # Ben's card: a symbol seen, not decoded
    after: list[Photo]  # the photos after Ben's card
    group: Photo


def shoot(studio: Studio, colour: int) -> Shoot:
    title, album = studio.prefix.capitalize(), studio.album
    anna, ben = subject_services.subjects_import(
        roster=f"name;id\n{title} Anna;{studio.prefix}-1\n{title} Ben;{studio.prefix}-2\n", album=album
    )
    made = [
        intake_file(album, f"{studio.prefix}_{i:04d}.jpg", jpeg(colour=(colour, 20 * i, 90))).photo for i in range(1, 7)
    ]
    photos = [studio.photo, *(p for p in made if p is not None)]
    assert len(photos) == 7
    # What the scans found: photo 1 shows Anna's card, photo 4 a card too blurred to read.
    for i, photo in enumerate(photos):
        PhotoScan.objects.update_or_create(
            photo=photo,
            defaults={
                "taken_at": T0 + timedelta(seconds=i, minutes=30 if i >= 3 else 0),
                "codes": [anna.code] if i == 1 else [],
                "unreadable": i == 4,
            },
        )
    assignment.assign_album(album.pk)
    return Shoot(album, anna, ben, photos[0], photos[1], photos[2:4], photos[4], photos[5:], studio.group_photo)


@pytest.fixture
def alpha(cast: Cast) -> Shoot:
    return shoot(cast.alpha, 200)


@pytest.fixture
def bravo(cast: Cast) -> Shoot:
    return shoot(cast.bravo, 40)


@pytest.fixture
def reviewer(client: Client, cast: Cast, alpha: Shoot, bravo: Shoot) -> Client:
    """Alpha's staff member with the subjects permissions (the studio staff group may not have them yet)."""
    wanted = Permission.objects.filter(
        content_type__app_label="subjects", codename__in=["view_subject", "change_subject"]
    )
    for studio in (cast.alpha, cast.bravo):
        studio.staff.user_permissions.add(*wanted)
    client.force_login(cast.alpha.staff)
    return client


def photo_ids(subject: Subject) -> set[int]:
    return set(subject.photos.values_list("pk", flat=True))


def section(response: Response, element_id: str) -> str:
    """The part of the review page with this id (a ``<section>``)."""
    match = re.search(rf'<section id="{element_id}".*?</section>', response.content.decode(), re.S)
    assert match, f"no section {element_id!r} on the page"
    return match.group(0)


def said(response: Response) -> str:
    """The messages the page shows (the admin's message list), one a line."""
    return "\n".join(unescape(m) for m in re.findall(r'<li class="\w+">(.*?)</li>', response.content.decode()))


def text_of(html: str) -> str:
    return unescape(html)


def thumbnails(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def thumbnail(photo: Photo) -> str:
    assert photo.thumbnail, f"{photo} has no thumbnail"
    return photo.thumbnail.url


def assert_nothing_of_bravo(response: Response) -> None:
    assert "bravo" not in response.content.decode().lower()


# --- the review page ----------------------------------------------------------------------------------------


def test_the_review_page_shows_each_subject_with_its_photo_strip(reviewer: Client, alpha: Shoot) -> None:
    response = reviewer.get(review_url(alpha.album))
    assert response.status_code == 200
    anna = section(response, f"subject-{alpha.anna.pk}")
    assert str(alpha.anna) in anna and alpha.anna.name == "Alpha Anna"
    for photo in alpha.anna_photos:
        assert thumbnail(photo) in anna
    assert thumbnail(alpha.before) not in anna
    assert str(alpha.ben) in section(response, f"subject-{alpha.ben.pk}")
    assert_nothing_of_bravo(response)


def test_the_thumbnails_come_from_the_photo_file_view_which_serves_only_the_studios_own(
    reviewer: Client, alpha: Shoot, bravo: Shoot
) -> None:
    response = reviewer.get(thumbnail(alpha.anna_photos[0]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert reviewer.get(thumbnail(bravo.anna_photos[0])).status_code == 404


def test_the_review_page_shows_unassigned_photos_cards_not_read_and_flags_at_the_top(
    reviewer: Client, alpha: Shoot
) -> None:
    response = reviewer.get(review_url(alpha.album))
    page = text(response)
    flags = section(response, "flags")
    gap = f"gap between {alpha.anna_photos[0].filename} and {alpha.anna_photos[1].filename}"
    assert str(alpha.anna) in flags and gap in flags  # the subject's flag, as assignment says it
    assert alpha.unreadable.filename in flags and assignment.UNREADABLE in text_of(flags)  # a photo's flag
    unassigned = section(response, "unassigned")
    assert thumbnail(alpha.before) in unassigned
    assert {thumbnail(p) for p in alpha.after} <= set(thumbnails(unassigned))  # held after the unread card
    assert f"after a card that could not be read in {alpha.unreadable.filename}" in page  # and why
    assert thumbnail(alpha.card) not in unassigned  # a card photo belongs to nobody, but is not "unassigned"
    unreadable = section(response, "unreadable")
    assert thumbnail(alpha.unreadable) in unreadable
    assert f'name="photo" value="{alpha.unreadable.pk}"' in unreadable  # with a field for its code
    # The order a person reads it in: flags, cards not read, unassigned, then the subjects.
    html = response.content.decode()
    ids = ("flags", "unreadable", "unassigned", f"subject-{alpha.anna.pk}", f"subject-{alpha.ben.pk}")
    positions = [html.index(f'<section id="{i}"') for i in ids]
    assert positions == sorted(positions)


def test_the_album_page_and_the_subject_list_link_to_the_review(reviewer: Client, alpha: Shoot) -> None:
    album_page = reviewer.get(f"/admin/albums/album/{alpha.album.pk}/change/").content.decode()
    assert f'href="{review_url(alpha.album)}"' in album_page
    listing = reviewer.get(SUBJECTS).content.decode()
    assert f'href="{review_url(alpha.album)}#subject-{alpha.anna.pk}"' in listing


def test_another_studios_album_answers_exactly_as_a_missing_one(reviewer: Client, alpha: Shoot, bravo: Shoot) -> None:
    missing = Album.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    for path in (f"{SUBJECTS}album/{bravo.album.pk}/", f"{SUBJECTS}album/{bravo.album.pk}/export/"):
        assert reviewer.get(path).status_code == 404
        assert reviewer.get(path.replace(str(bravo.album.pk), str(missing))).status_code == 404
    before = photo_ids(bravo.anna)
    forged = {"action": "move", "photo": [p.pk for p in bravo.anna_photos], "to": "unassigned"}
    assert reviewer.post(review_url(bravo.album), forged).status_code == 404
    assert reviewer.post(review_url(bravo.album), {"action": "check", "subject": bravo.anna.pk}).status_code == 404
    assert photo_ids(bravo.anna) == before
    bravo.anna.refresh_from_db()
    assert bravo.anna.checked_at is None


def test_staff_without_the_subjects_permissions_are_refused(client: Client, cast: Cast, alpha: Shoot) -> None:
    nobody = User.objects.create_user(username="alpha-temp", is_staff=True)
    client.force_login(nobody)
    assert client.get(review_url(alpha.album)).status_code == 403
    assert client.get(export_url(alpha.album)).status_code == 403
    assert client.post(review_url(alpha.album), {"action": "check", "subject": alpha.anna.pk}).status_code == 403


def test_viewing_without_the_change_permission_shows_the_page_but_refuses_corrections(
    client: Client, cast: Cast, alpha: Shoot
) -> None:
    viewer = User.objects.create_user(username="alpha-viewer")
    job_services.account_add_member(account=cast.alpha.account, user=viewer, role="staff")
    viewer.groups.clear()  # none of the studio staff permissions: only the one below
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="subjects", codename="view_subject"))
    client.force_login(viewer)
    response = client.get(review_url(alpha.album))
    assert response.status_code == 200
    assert 'id="move"' not in response.content.decode()
    assert client.post(review_url(alpha.album), {"action": "check", "subject": alpha.anna.pk}).status_code == 403


# --- moving photos ------------------------------------------------------------------------------------------


def move(client: Client, album: Album, photos: list[Photo], to: str | int) -> Response:
    return client.post(review_url(album), {"action": "move", "photo": [p.pk for p in photos], "to": to}, follow=True)


def test_selected_photos_move_to_the_chosen_subject_and_stay_there_when_the_album_is_recomputed(
    reviewer: Client, alpha: Shoot
) -> None:
    chosen = [alpha.before, alpha.anna_photos[1]]
    response = move(reviewer, alpha.album, chosen, alpha.ben.pk)
    assert f"Moved 2 photos to {alpha.ben}" in said(response)
    assert {p.pk for p in chosen} <= photo_ids(alpha.ben)
    assert alpha.anna_photos[1].pk not in photo_ids(alpha.anna)
    assignment.assign_album(alpha.album.pk)  # the next photo of the album is done
    assert {p.pk for p in chosen} <= photo_ids(alpha.ben)
    assert alpha.anna_photos[1].pk not in photo_ids(alpha.anna)
    assert photo_ids(alpha.anna) >= {alpha.anna_photos[0].pk}  # the rest as the cards say
    assert LogEntry.objects.filter(object_id=str(alpha.album.pk), change_message__contains="Moved 2 photos").exists()


def test_photos_moved_to_unassigned_belong_to_no_subject_for_good(reviewer: Client, alpha: Shoot) -> None:
    response = move(reviewer, alpha.album, alpha.anna_photos, "unassigned")
    assert "Moved 2 photos out of every subject (unassigned)" in said(response)
    assignment.assign_album(alpha.album.pk)
    assert not Subject.objects.filter(photos__in=alpha.anna_photos).exists()
    unassigned = section(reviewer.get(review_url(alpha.album)), "unassigned")
    assert {thumbnail(p) for p in alpha.anna_photos} <= set(thumbnails(unassigned))
    assert "placed by hand" in unassigned


def test_a_move_with_another_studios_photo_among_the_chosen_is_refused_and_nothing_moves(
    reviewer: Client, alpha: Shoot, bravo: Shoot
) -> None:
    response = move(reviewer, alpha.album, [alpha.anna_photos[0], bravo.anna_photos[0]], alpha.ben.pk)
    assert "Some of the chosen photos are not photos of this album; nothing was moved." in said(response)
    assert_nothing_of_bravo(response)
    assert not photo_ids(alpha.ben) & {alpha.anna_photos[0].pk, bravo.anna_photos[0].pk}
    assert bravo.anna_photos[0].pk in photo_ids(bravo.anna)
    assert PhotoScan.objects.get(pk=bravo.anna_photos[0].pk).manual_subjects is None


def test_a_move_into_another_studios_subject_is_refused(reviewer: Client, alpha: Shoot, bravo: Shoot) -> None:
    response = move(reviewer, alpha.album, [alpha.anna_photos[0]], bravo.ben.pk)
    assert "There is no such subject in this album." in said(response)
    assert_nothing_of_bravo(response)
    assert not photo_ids(bravo.ben) and alpha.anna_photos[0].pk in photo_ids(alpha.anna)


def test_a_move_without_photos_or_target_says_what_is_missing(reviewer: Client, alpha: Shoot) -> None:
    assert "Choose the photos to move first." in said(move(reviewer, alpha.album, [], alpha.ben.pk))
    assert "Choose where to move the photos to." in said(move(reviewer, alpha.album, [alpha.before], ""))


@pytest.mark.parametrize("which", ["group", "card"])
def test_group_photos_and_card_photos_are_not_moved_into_subjects(reviewer: Client, alpha: Shoot, which: str) -> None:
    photo = alpha.group if which == "group" else alpha.card
    response = move(reviewer, alpha.album, [photo], alpha.ben.pk)
    expected = "is a group photo" if which == "group" else "is a card photo"
    assert f"The photo {photo.filename} {expected}" in said(response)
    assert photo.pk not in photo_ids(alpha.ben)


def test_a_photo_not_scanned_for_cards_yet_is_not_moved_until_it_is(reviewer: Client, alpha: Shoot) -> None:
    PhotoScan.objects.filter(pk=alpha.before.pk).delete()  # as before the album had subjects
    response = move(reviewer, alpha.album, [alpha.before], alpha.ben.pk)
    assert f"The photo {alpha.before.filename} has not been scanned for cards yet" in said(response)
    assert alpha.before.pk not in photo_ids(alpha.ben)
    assert not PhotoScan.objects.filter(pk=alpha.before.pk).exists()  # still to be scanned


# --- typing the code of a card that was not read ------------------------------------------------------------


def type_code(client: Client, album: Album, photo: Photo, code: str) -> Response:
    return client.post(review_url(album), {"action": "type_code", "photo": photo.pk, "code": code}, follow=True)


def test_typing_the_code_of_an_unreadable_card_gives_the_photos_after_it_to_that_subject(
    reviewer: Client, alpha: Shoot
) -> None:
    # As a person types it: lower case, spaces around.
    response = type_code(reviewer, alpha.album, alpha.unreadable, f"  {alpha.ben.code.lower()} ")
    assert f"The photo {alpha.unreadable.filename} is the card of {alpha.ben}." in said(response)
    scan = PhotoScan.objects.get(pk=alpha.unreadable.pk)
    assert (scan.typed_code, scan.is_card) == (alpha.ben.code, True)
    assert {p.pk for p in alpha.after} <= photo_ids(alpha.ben)
    assert not {p.pk for p in alpha.after} & photo_ids(alpha.anna)


def test_an_empty_code_takes_a_typed_one_back(reviewer: Client, alpha: Shoot) -> None:
    type_code(reviewer, alpha.album, alpha.unreadable, alpha.ben.code)
    response = type_code(reviewer, alpha.album, alpha.unreadable, "")
    assert "was taken back" in said(response)
    assert PhotoScan.objects.get(pk=alpha.unreadable.pk).typed_code == ""
    assert not {p.pk for p in alpha.after} & photo_ids(alpha.ben)


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("PJ1-ABCDEFGHIJ-2-ABCDEFGHIJ", "is not a card code"),  # the MAC does not fit: made up
        ("hello", "is not a card code"),
        ("bravo-ben", "is a card of another job"),  # a real card of another studio
        ("alpha-closed-job", "is a card of another job"),  # a real card of the studio's other job
        ("alpha-no-subject", "no subject has the number 99"),
        ("alpha-other-album", "not of this album"),
    ],
)
def test_a_code_that_is_no_card_of_this_album_is_refused_with_the_reason(
    reviewer: Client, cast: Cast, alpha: Shoot, bravo: Shoot, code: str, says: str
) -> None:
    if code == "bravo-ben":
        code = bravo.ben.code
    elif code == "alpha-closed-job":
        code = codes.code_for(cast.alpha.closed_job.public_id, alpha.ben.number)
    elif code == "alpha-no-subject":
        code = codes.code_for(cast.alpha.job.public_id, 99)
    elif code == "alpha-other-album":
        (other,) = subject_services.subjects_blank(album=cast.alpha.empty_album, count=1)
        code = other.code
    response = type_code(reviewer, alpha.album, alpha.unreadable, code)
    assert says in said(response)
    assert_nothing_of_bravo(response)
    assert PhotoScan.objects.get(pk=alpha.unreadable.pk).typed_code == ""


def test_a_code_cannot_be_typed_for_another_studios_photo(reviewer: Client, alpha: Shoot, bravo: Shoot) -> None:
    response = type_code(reviewer, alpha.album, bravo.unreadable, bravo.ben.code)
    assert "There is no such scanned photo in this album." in said(response)
    assert PhotoScan.objects.get(pk=bravo.unreadable.pk).typed_code == ""


# --- checked ------------------------------------------------------------------------------------------------


def test_marking_a_subject_checked_records_when_and_who_and_checking_again_keeps_the_time(
    reviewer: Client, cast: Cast, alpha: Shoot
) -> None:
    response = reviewer.post(review_url(alpha.album), {"action": "check", "subject": alpha.anna.pk}, follow=True)
    assert f"{alpha.anna} is marked checked." in said(response)
    alpha.anna.refresh_from_db()
    first = alpha.anna.checked_at
    assert first is not None
    assert "Mark not checked" in section(response, f"subject-{alpha.anna.pk}")
    reviewer.post(review_url(alpha.album), {"action": "check", "subject": alpha.anna.pk})
    alpha.anna.refresh_from_db()
    assert alpha.anna.checked_at == first
    entry = LogEntry.objects.get(object_id=str(alpha.anna.pk), change_message=f"{alpha.anna} is marked checked.")
    assert entry.user == cast.alpha.staff
    reviewer.post(review_url(alpha.album), {"action": "uncheck", "subject": alpha.anna.pk})
    alpha.anna.refresh_from_db()
    assert alpha.anna.checked_at is None


def test_another_studios_subject_cannot_be_checked_from_ones_own_album(
    reviewer: Client, alpha: Shoot, bravo: Shoot
) -> None:
    response = reviewer.post(review_url(alpha.album), {"action": "check", "subject": bravo.anna.pk}, follow=True)
    assert "There is no such subject in this album." in said(response)
    bravo.anna.refresh_from_db()
    assert bravo.anna.checked_at is None


# --- the subject list ---------------------------------------------------------------------------------------


def test_the_subject_list_shows_number_name_photos_flags_and_checked(reviewer: Client, alpha: Shoot) -> None:
    Subject.objects.filter(pk=alpha.ben.pk).update(flags=["a card with no photos after it"])
    response = reviewer.get(SUBJECTS)
    page = text(response)
    assert "Alpha Anna" in page and "Alpha Ben" in page and "a card with no photos after it" in page
    row = re.search(r"<tr>(?:(?!</tr>).)*Alpha Anna.*?</tr>", response.content.decode(), re.S)
    assert row and f'<td class="field-photo_count">{alpha.anna.photos.count()}</td>' in row.group(0)
    assert_nothing_of_bravo(response)


def test_the_subject_list_is_searched_by_name_and_code_and_filtered_by_album(reviewer: Client, alpha: Shoot) -> None:
    assert "Alpha Ben" not in text(reviewer.get(SUBJECTS, {"q": "anna"}))
    assert "Alpha Anna" in text(reviewer.get(SUBJECTS, {"q": alpha.anna.code}))
    by_album = text(reviewer.get(SUBJECTS, {"album__id__exact": alpha.album.pk}))
    assert "Alpha Anna" in by_album and "Alpha Ben" in by_album


def test_the_mark_checked_action_checks_the_studios_subjects_and_never_another_studios(
    reviewer: Client, alpha: Shoot, bravo: Shoot
) -> None:
    chosen = [alpha.anna.pk, alpha.ben.pk, bravo.anna.pk]
    response = reviewer.post(SUBJECTS, {"action": "mark_checked", "_selected_action": chosen}, follow=True)
    assert "2 subject(s) marked checked." in said(response)
    assert Subject.objects.filter(pk__in=[alpha.anna.pk, alpha.ben.pk], checked_at__isnull=False).count() == 2
    bravo.anna.refresh_from_db()
    assert bravo.anna.checked_at is None


def test_a_subjects_page_shows_its_photos_and_cannot_be_edited(reviewer: Client, alpha: Shoot) -> None:
    response = reviewer.get(f"{SUBJECTS}{alpha.anna.pk}/change/")
    assert response.status_code == 200
    for photo in alpha.anna_photos:
        assert thumbnail(photo) in response.content.decode()
    reviewer.post(f"{SUBJECTS}{alpha.anna.pk}/change/", {"name": "Renamed"})
    alpha.anna.refresh_from_db()
    assert alpha.anna.name == "Alpha Anna"


def test_an_album_without_photos_is_deleted_with_its_subjects_but_no_subject_alone(
    reviewer: Client, cast: Cast
) -> None:
    album = cast.alpha.empty_album
    made = subject_services.subjects_blank(album=album, count=2)
    assert reviewer.post(f"{SUBJECTS}{made[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in reviewer.get(SUBJECTS).content.decode()
    confirm = reviewer.get(f"/admin/albums/album/{album.pk}/delete/")
    assert "Are you sure" in text(confirm) and str(made[0]) in text(confirm)  # they are listed as going along
    assert reviewer.post(f"/admin/albums/album/{album.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Subject.objects.filter(pk__in=[s.pk for s in made]).exists()


# --- the export ---------------------------------------------------------------------------------------------


def test_the_export_streams_a_zip_with_a_folder_per_subject(reviewer: Client, alpha: Shoot) -> None:
    response = reviewer.get(export_url(alpha.album))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="alphajob1 Alpha Class.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))  # the whole stream
    names = archive.namelist()
    assert {f"{alpha.anna.folder_name}/{p.filename}" for p in alpha.anna_photos} <= set(names)
    assert not any(alpha.card.filename in name for name in names)  # a card photo is never exported
    assert not any("bravo" in name for name in names)


browser = web.browser  # the web tests' headless Chromium, as a fixture here too


# --- in a real browser --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_person_selects_photos_and_moves_them_in_a_browser(
    browser: WebDriver, live_server: LiveServer, cast: Cast, reviewer: Client, alpha: Shoot
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    cast.alpha.staff.set_password(PASSWORD)
    cast.alpha.staff.save()
    log_in(browser, live_server, cast.alpha.staff.username)
    open_page(browser, f"{live_server.url}{review_url(alpha.album)}", "move")
    for photo in alpha.anna_photos:
        browser.find_element(By.CSS_SELECTOR, f'input.pick[value="{photo.pk}"]').click()
    Select(browser.find_element(By.ID, "move-to")).select_by_visible_text(str(alpha.ben))
    click_and_wait(browser, browser.find_element(By.ID, "move-button"))
    assert f"Moved 2 photos to {alpha.ben}" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert {p.pk for p in alpha.anna_photos} <= photo_ids(alpha.ben)
