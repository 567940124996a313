"""Albums, photos and the upload log in the admin: every write through ``albums.services``, refusals as
sentences, never a raw constraint message, never a move into another studio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from albums import services as album_services
from albums.models import Album, Photo, Upload
from jobs.exceptions import Conflict
from tests.admin.cast import Cast
from tests.admin.pages import parse, text

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

ALBUMS, PHOTOS, UPLOADS = "/admin/albums/album/", "/admin/albums/photo/", "/admin/albums/upload/"


def job_choices(response: Response) -> set[str]:
    return {value for name, value in parse(response.content.decode()).choices if name == "job" and value}


# --- albums ---------------------------------------------------------------------------------------


def test_staff_add_an_album_to_a_planned_job_of_their_studio(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{ALBUMS}add/", {"job": cast.alpha.job.pk, "name": "Alpha Class 2"})
    assert response.status_code == 302
    album = Album.objects.get(name="Alpha Class 2")
    assert (album.job, album.created_by) == (cast.alpha.job, None)  # made by staff, not by an FTP user


def test_the_add_form_offers_only_the_studios_planned_jobs(staff: Client, cast: Cast) -> None:
    assert job_choices(staff.get(f"{ALBUMS}add/")) == {str(cast.alpha.job.pk)}


def test_a_superuser_may_add_albums_to_any_studios_planned_job(client: Client, cast: Cast) -> None:
    client.force_login(cast.superuser)
    assert job_choices(client.get(f"{ALBUMS}add/")) == {str(cast.alpha.job.pk), str(cast.bravo.job.pk)}


def test_an_album_cannot_be_added_to_another_studios_job_by_a_forged_post(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{ALBUMS}add/", {"job": cast.bravo.job.pk, "name": "Forged"})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert "bravo" not in text(response).lower()
    assert not Album.objects.filter(name="Forged").exists()


def test_an_album_cannot_be_moved_into_another_studios_job_by_a_forged_post(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    response = staff.post(f"{ALBUMS}{album.pk}/change/", {"job": cast.bravo.job.pk, "name": album.name})
    assert response.status_code == 302
    album.refresh_from_db()
    assert album.job == cast.alpha.job
    assert Photo.objects.filter(album__job=cast.bravo.job).count() == 2  # Bravo's own, nothing more


def test_the_job_of_an_album_is_shown_but_not_editable(staff: Client, cast: Cast) -> None:
    page = staff.get(f"{ALBUMS}{cast.alpha.album.pk}/change/")
    assert not job_choices(page)
    assert cast.alpha.job.internal_name in text(page)


def test_renaming_an_album_goes_through_album_rename_and_the_upload_log_follows(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    assert staff.post(f"{ALBUMS}{album.pk}/change/", {"name": "Alpha Class 1b"}).status_code == 302
    album.refresh_from_db()
    assert album.name == "Alpha Class 1b"
    assert set(Upload.objects.filter(album=album).values_list("album_name", flat=True)) == {"Alpha Class 1b"}


def test_renaming_an_album_onto_a_taken_name_says_so_next_to_the_field(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    # Case-insensitively taken: Windows clients treat both as one folder.
    response = staff.post(f"{ALBUMS}{album.pk}/change/", {"name": "alpha empty"})
    assert response.status_code == 200
    page = text(response)
    assert "The album 'alpha empty' already exists." in page
    assert "Constraint" not in page and "album_name_unique_ci" not in page
    album.refresh_from_db()
    assert album.name == "Alpha Class"


def test_adding_an_album_with_a_taken_name_says_so_next_to_the_field(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{ALBUMS}add/", {"job": cast.alpha.job.pk, "name": "ALPHA CLASS"})
    page = text(response)
    assert "The album 'ALPHA CLASS' already exists." in page
    assert "Constraint" not in page
    assert Album.objects.filter(job=cast.alpha.job).count() == 2


def test_an_album_name_breaking_the_name_rules_is_refused_with_the_rule(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{ALBUMS}{cast.alpha.album.pk}/change/", {"name": "a/b"})
    assert "names cannot contain '/'" in text(response)


def test_a_name_made_over_sftp_keeps_its_spaces_when_the_form_is_saved(staff: Client, cast: Cast) -> None:
    album = album_services.album_create(job=cast.alpha.job, name=" Alpha Spaced ", ftp_user=cast.alpha.ftp_user)
    assert staff.post(f"{ALBUMS}{album.pk}/change/", {"name": " Alpha Spaced "}).status_code == 302
    album.refresh_from_db()
    assert album.name == " Alpha Spaced "


def test_a_refusal_at_save_time_is_shown_as_its_sentence_not_a_traceback(
    staff: Client, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a rename loses to a photographer who made the same folder a moment earlier looks like.
    def quicker(*, album: Album, name: str) -> Album:
        raise Conflict(f"The album {name!r} already exists.")

    monkeypatch.setattr(album_services, "album_rename", quicker)
    album = cast.alpha.album
    response = staff.post(f"{ALBUMS}{album.pk}/change/", {"name": "Alpha Race"}, follow=True)
    assert response.status_code == 200
    assert "The album 'Alpha Race' already exists." in text(response)
    album.refresh_from_db()
    assert album.name == "Alpha Class"


@pytest.mark.parametrize("form", ["add", "change"])
def test_the_databases_constraint_is_answered_by_the_services_sentence_never_by_djangos(
    staff: Client, cast: Cast, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    # The check sees nothing (a folder made over SFTP between the check and the write): the unique
    # index has the last word, and the admin answers with the service's sentence.
    monkeypatch.setattr(album_services, "album_name_check", lambda *, job, name, album=None: name)
    album = cast.alpha.album
    if form == "add":
        response = staff.post(f"{ALBUMS}add/", {"job": cast.alpha.job.pk, "name": "alpha empty"}, follow=True)
    else:
        response = staff.post(f"{ALBUMS}{album.pk}/change/", {"name": "alpha empty"}, follow=True)
    page = text(response)
    assert "The album 'alpha empty' already exists." in page
    assert "Constraint" not in page and "album_name_unique_ci" not in page
    assert Album.objects.filter(job=cast.alpha.job, name__iexact="alpha empty").count() == 1


def test_an_album_with_photos_is_kept_and_the_reason_shown(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    response = staff.post(f"{ALBUMS}{album.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "The album 'Alpha Class' still has photos." in text(response)
    assert Album.objects.filter(pk=album.pk).exists()


def test_an_empty_album_is_deleted(staff: Client, cast: Cast) -> None:
    album = cast.alpha.empty_album
    assert staff.post(f"{ALBUMS}{album.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Album.objects.filter(pk=album.pk).exists()


def test_deleting_albums_in_bulk_deletes_the_empty_ones_and_says_why_not_the_others(staff: Client, cast: Cast) -> None:
    chosen = [cast.alpha.album.pk, cast.alpha.empty_album.pk]
    confirm = staff.post(ALBUMS, {"action": "delete_selected", "_selected_action": chosen})
    assert "Are you sure" in text(confirm)  # Django's confirmation page comes first
    response = staff.post(ALBUMS, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}, follow=True)
    page = text(response)
    assert "Deleted 1 album." in page
    assert "The album 'Alpha Class' still has photos." in page
    assert set(Album.objects.filter(pk__in=chosen).values_list("pk", flat=True)) == {cast.alpha.album.pk}


# --- photos -----------------------------------------------------------------------------------------


def renditions(photo: Photo) -> list[str]:
    names = [str(photo.thumbnail.name), str(photo.preview.name)]
    assert all(names) and all(default_storage.exists(name) for name in names)
    return names


def test_deleting_a_photo_removes_its_renditions_from_storage(
    staff: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    photo = cast.alpha.photo
    names = renditions(photo)
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"{PHOTOS}{photo.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    # The original stays with its upload in the log.
    assert default_storage.exists(str(Upload.objects.get(filename=photo.filename).file.name))


def test_deleting_photos_in_bulk_removes_their_renditions_from_storage(
    staff: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    photos = [cast.alpha.photo, cast.alpha.group_photo]
    names = [name for photo in photos for name in renditions(photo)]
    chosen = [photo.pk for photo in photos]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            PHOTOS, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}, follow=True
        )
    assert "Deleted 2 photos." in text(response)
    assert not Photo.objects.filter(pk__in=chosen).exists()
    assert not any(default_storage.exists(name) for name in names)
    assert renditions(cast.bravo.photo)  # another studio's are untouched


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_photos_are_made_by_intake_only_and_never_edited_in_the_admin(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    photo = cast.alpha.photo
    assert client.get(f"{PHOTOS}add/").status_code == 403
    assert client.post(f"{PHOTOS}{photo.pk}/change/", {"filename": "renamed.jpg"}).status_code == 403
    photo.refresh_from_db()
    assert photo.filename == "alpha-portrait.jpg"


# --- the upload log -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_the_upload_log_is_a_record_nobody_edits_or_deletes(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    upload = cast.alpha.rejected
    assert client.get(f"{UPLOADS}add/").status_code == 403
    assert client.post(f"{UPLOADS}{upload.pk}/change/", {"reason": ""}).status_code == 403
    assert client.post(f"{UPLOADS}{upload.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get(UPLOADS).content.decode()
    upload.refresh_from_db()
    assert upload.reason == "file type .alpha is not accepted"


def test_staff_process_their_uploads_again(staff: Client, cast: Cast) -> None:
    upload = cast.alpha.rejected
    response = staff.post(UPLOADS, {"action": "reprocess", "_selected_action": [upload.pk]}, follow=True)
    assert "1 upload queued again." in text(response)
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("received", "")
