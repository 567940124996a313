"""The studio's photo pages in the admin, read as a person reads them (DESIGN §6): the album grid, the
photo list's filters, the photo page, the job and album lists' counts and links, the upload log and an
upload's page with "Process again" and its file. Scoping is in ``test_scoping``; these pages' own
links and files are checked there too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import TYPE_CHECKING, cast

import pytest
from django.http import FileResponse
from django.test import Client

from albums.models import Photo, Upload
from subjects import review
from tests.admin.cast import Cast, intake_file
from tests.admin.pages import result_rows, text
from tests.images import camera_exif, jpeg

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

ALBUMS, PHOTOS, UPLOADS, JOBS = (
    "/admin/albums/album/",
    "/admin/albums/photo/",
    "/admin/albums/upload/",
    "/admin/jobs/photojob/",
)


def streamed(response: Response) -> bytes:
    return b"".join(cast(Iterator[bytes], cast(FileResponse, response).streaming_content))


def rows(response: Response) -> str:
    """The changelist's result rows as words."""
    return re.sub(r"<[^>]+>", " ", unescape(result_rows(response.content.decode())))


def photo_of(upload: Upload) -> Photo:
    assert upload.photo is not None, upload.reason
    return upload.photo


def visible_text(response: Response) -> str:
    """The page's words without its markup (so an image's storage name in a src is not "shown")."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(response)))


# --- the album's grid ------------------------------------------------------------------------------


def test_the_album_page_shows_its_photos_as_thumbnails_per_section(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    response = staff.get(f"{ALBUMS}{album.pk}/change/")
    page = response.content.decode()
    individuals = page[page.index('id="section-individuals"') : page.index('id="section-group"')]
    group = page[page.index('id="section-group"') :]
    assert cast.alpha.photo.thumbnail.url in individuals and cast.alpha.group_photo.thumbnail.url not in individuals
    assert cast.alpha.group_photo.thumbnail.url in group
    assert f'href="{PHOTOS}{cast.alpha.photo.pk}/change/"' in individuals
    # The album has a subject: its individuals are shown per subject, then those of no subject.
    assert "0001 Alpha Child" in individuals and "No subject" in individuals
    assert individuals.index("0001 Alpha Child") < individuals.index("No subject") < individuals.index("alpha-portrait")


def test_an_album_without_subjects_shows_each_section_whole(staff: Client, cast: Cast) -> None:
    album = cast.alpha.empty_album
    intake_file(album, "alpha-extra.jpg", jpeg(colour=(1, 2, 3)), ftp_user=cast.alpha.ftp_user)
    page = visible_text(staff.get(f"{ALBUMS}{album.pk}/change/"))
    assert "alpha-extra.jpg" in page
    assert "No subject" not in page
    assert "No photos." in page  # the group section


def test_a_photo_moved_to_a_subject_shows_under_that_subject(
    staff: Client, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    album = cast.alpha.album
    # Scanned for cards (the album has a subject), so the review can move it.
    upload = intake_file(album, "alpha-child.jpg", jpeg(colour=(9, 9, 9)), ftp_user=cast.alpha.ftp_user)
    review.photos_move(album=album, photo_ids=[photo_of(upload).pk], to_subject=cast.alpha.subject, by=cast.alpha.staff)
    page = staff.get(f"{ALBUMS}{album.pk}/change/").content.decode()
    subject = page[page.index("0001 Alpha Child") : page.index("No subject")]
    assert "alpha-child.jpg" in subject and "alpha-portrait.jpg" not in subject


def test_albums_link_to_their_photos(staff: Client, cast: Cast) -> None:
    page = staff.get(ALBUMS).content.decode()
    album = cast.alpha.album
    assert f"{PHOTOS}?album__id__exact={album.pk}" in page
    assert f"{PHOTOS}?album__id__exact={album.pk}&amp;section__exact=group" in page
    listed = staff.get(PHOTOS, {"album__id__exact": str(album.pk), "section__exact": "group"})
    assert "alpha-group.jpg" in rows(listed) and "alpha-portrait.jpg" not in rows(listed)


# --- jobs ---------------------------------------------------------------------------------------------


def test_jobs_show_album_and_photo_counts_linking_to_them(staff: Client, cast: Cast) -> None:
    job = cast.alpha.job
    page = staff.get(JOBS).content.decode()
    assert f'<a href="{ALBUMS}?job__id__exact={job.pk}">2</a>' in page
    assert f'<a href="{PHOTOS}?album__job__id__exact={job.pk}">2</a>' in page
    albums = rows(staff.get(ALBUMS, {"job__id__exact": job.pk}))
    assert "Alpha Class" in albums and "Alpha Empty" in albums
    photos = staff.get(PHOTOS, {"album__job__id__exact": job.pk})
    assert photos.status_code == 200 and "alpha-portrait.jpg" in rows(photos)


# --- the photo list -----------------------------------------------------------------------------------


def test_the_job_filter_is_shown_with_a_single_job(staff: Client, cast: Cast) -> None:
    page = staff.get(PHOTOS).content.decode()
    assert "By job" in page and f"album__job__id__exact={cast.alpha.job.pk}" in page
    assert f"album__id__exact={cast.alpha.album.pk}" in page


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"section__exact": "group"}, "alpha-group.jpg", "alpha-portrait.jpg"),
        ({"section__exact": "individuals"}, "alpha-portrait.jpg", "alpha-group.jpg"),
        ({"created_at__gte": "2000-01-01 00:00:00+00:00"}, "alpha-portrait.jpg", "bravo"),
        ({"review": "unassigned"}, "alpha-portrait.jpg", "alpha-group.jpg"),
    ],
)
def test_the_photo_list_filters(staff: Client, cast: Cast, params: dict[str, str], shown: str, hidden: str) -> None:
    listed = rows(staff.get(PHOTOS, params))
    assert shown in listed and hidden not in listed


def test_the_photo_list_filters_by_uploader(staff: Client, cast: Cast) -> None:
    listed = rows(staff.get(PHOTOS, {"uploaded_by__id__exact": cast.alpha.ftp_user.pk}))
    assert "alpha-portrait.jpg" in listed and "alpha-group.jpg" in listed


def test_the_review_filter_tells_assigned_and_checked_photos_apart(staff: Client, cast: Cast) -> None:
    album = cast.alpha.album
    upload = intake_file(album, "alpha-child.jpg", jpeg(colour=(9, 9, 9)), ftp_user=cast.alpha.ftp_user)
    review.photos_move(album=album, photo_ids=[photo_of(upload).pk], to_subject=cast.alpha.subject, by=cast.alpha.staff)
    assert "alpha-child.jpg" in rows(staff.get(PHOTOS, {"review": "assigned"}))
    assert "alpha-child.jpg" not in rows(staff.get(PHOTOS, {"review": "unassigned"}))
    assert "alpha-child.jpg" not in rows(staff.get(PHOTOS, {"review": "checked"}))
    review.subject_mark_checked(subject=cast.alpha.subject, by=cast.alpha.staff)
    assert "alpha-child.jpg" in rows(staff.get(PHOTOS, {"review": "checked"}))
    assert "alpha-child.jpg" not in rows(staff.get(PHOTOS, {"review": "assigned"}))


# --- the photo's page ------------------------------------------------------------------------------------


def test_the_photo_page_shows_the_preview_and_readable_metadata(staff: Client, cast: Cast) -> None:
    upload = intake_file(
        cast.alpha.album, "alpha-canon.jpg", jpeg(size=(640, 480), exif=camera_exif()), ftp_user=cast.alpha.ftp_user
    )
    photo = photo_of(upload)
    response = staff.get(f"{PHOTOS}{photo.pk}/change/")
    page, shown = response.content.decode(), visible_text(response)
    assert "View photo" in page
    assert f'src="{photo.preview.url}"' in page
    for words in (
        "Taken at",
        "Canon EOS R5",
        "032021001234",
        "640 × 480 px",  # noqa: RUF001 - the multiplication sign is meant
        "KB",
        "SHA-256",
        "Latitude: -33.860000",
        "Longitude: -151.215000",
        "Uploaded by: alpha-photographer",
        "Door: SFTP",
        "Upload history",
    ):
        assert words in shown, words
    assert "https://www.openstreetmap.org/?mlat=-33.860000&amp;mlon=-151.215000" in page
    for raw in ("Sha256", "Gps latitude", "Camera make", "photos/", "uploads/", "Original:", "bytes"):
        assert raw not in shown, raw
    assert f'href="{UPLOADS}{upload.pk}/change/"' in page  # its upload history links to the upload
    assert 'name="_save"' not in page


def test_the_uploader_stays_on_the_photo_page_when_the_ftp_user_is_gone(staff: Client, cast: Cast) -> None:
    photo = cast.alpha.photo
    Photo.objects.filter(pk=photo.pk).update(uploaded_by=None)  # what SET_NULL leaves after a delete
    Upload.objects.filter(photo=photo).update(ftp_user=None)
    assert "Uploaded by: alpha-photographer" in visible_text(staff.get(f"{PHOTOS}{photo.pk}/change/"))


# --- the upload log -------------------------------------------------------------------------------------


def test_the_upload_log_shows_state_badges_the_full_reason_and_the_uploader(staff: Client, cast: Cast) -> None:
    page = result_rows(staff.get(UPLOADS).content.decode())
    assert '<span class="upload-state state-rejected">Rejected</span>' in page
    assert '<span class="upload-state state-done">Done</span>' in page
    assert '<span class="upload-reason">file type .alpha is not accepted</span>' in page
    listed = rows(staff.get(UPLOADS))
    for words in ("alpha-notes.alpha", "alphajob1 / Alpha Class", "alpha-photographer", "SFTP"):
        assert words in listed, words


def test_the_upload_log_keeps_the_uploader_of_a_deleted_ftp_user(staff: Client, cast: Cast) -> None:
    Upload.objects.filter(account=cast.alpha.account).update(ftp_user=None)
    assert "alpha-photographer" in rows(staff.get(UPLOADS))
    assert "alpha-notes.alpha" in rows(staff.get(UPLOADS, {"ftp_username": "alpha-photographer"}))


def test_the_upload_page_is_a_view_without_internal_values(staff: Client, cast: Cast) -> None:
    upload = cast.alpha.rejected
    Upload.objects.filter(pk=upload.pk).update(claimed_by="8d5e1c7a-claim/abc123")
    response = staff.get(f"{UPLOADS}{upload.pk}/change/")
    page, shown = response.content.decode(), visible_text(response)
    assert "<h1>View upload</h1>" in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert "8d5e1c7a" not in page and "Attempts" not in shown and "Requeued" not in shown
    assert "quarantine/" not in shown
    assert "432 bytes" in shown and "Size 432" not in shown
    assert "file type .alpha is not accepted" in shown
    assert "Only JPEG and PNG photos are taken." in shown  # what the photographer should do
    assert 'id="process-again"' in page
    assert f'href="{UPLOADS}{upload.pk}/file/?download=1"' in page


def test_process_again_from_the_upload_page(staff: Client, cast: Cast, queued: list[int]) -> None:
    upload = cast.alpha.rejected
    url = f"{UPLOADS}{upload.pk}/reprocess/"
    assert staff.get(url).status_code == 405  # a write: POST only
    response = staff.post(url, follow=True)
    assert "1 upload queued again." in text(response)
    assert response.redirect_chain[-1][0] == f"{UPLOADS}{upload.pk}/change/"
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("received", "")


def test_a_processing_upload_offers_no_process_again(staff: Client, cast: Cast) -> None:
    upload = cast.alpha.rejected
    Upload.objects.filter(pk=upload.pk).update(state=Upload.State.PROCESSING)
    assert 'id="process-again"' not in staff.get(f"{UPLOADS}{upload.pk}/change/").content.decode()
    response = staff.post(f"{UPLOADS}{upload.pk}/reprocess/", follow=True)
    assert f"Being processed now, so not queued: {upload.pk}." in text(response)


def test_the_quarantined_file_is_downloaded_by_the_studios_staff(staff: Client, cast: Cast) -> None:
    upload = cast.alpha.rejected
    assert str(upload.file.name).startswith("quarantine/")
    response = staff.get(f"{UPLOADS}{upload.pk}/file/", {"download": "1"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert streamed(response)[:6] == b"GIF87a" or streamed(response)[:6] == b"GIF89a"


def test_a_rejected_file_that_is_no_picture_type_is_never_shown_inline(staff: Client, cast: Cast) -> None:
    upload = intake_file(
        cast.alpha.album, "alpha-page.html", b"<script>alert(1)</script>", ftp_user=cast.alpha.ftp_user
    )
    assert upload.state == Upload.State.REJECTED
    response = staff.get(f"{UPLOADS}{upload.pk}/file/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_rejected_picture_is_shown_on_its_page(staff: Client, cast: Cast) -> None:
    broken = jpeg(size=(400, 300))[:-500]
    upload = intake_file(cast.alpha.album, "alpha-broken.jpg", broken, ftp_user=cast.alpha.ftp_user)
    assert upload.reason == "JPEG is truncated"
    page = staff.get(f"{UPLOADS}{upload.pk}/change/").content.decode()
    assert f'<img class="upload-picture" src="{UPLOADS}{upload.pk}/file/"' in page
    response = staff.get(f"{UPLOADS}{upload.pk}/file/")
    assert response["Content-Type"] == "image/jpeg" and response["Content-Disposition"].startswith("inline")
    assert streamed(response) == broken


def test_a_purged_file_is_said_to_be_gone(staff: Client, cast: Cast) -> None:
    upload = cast.alpha.rejected
    Upload.objects.filter(pk=upload.pk).update(file="")
    assert "Removed by housekeeping." in visible_text(staff.get(f"{UPLOADS}{upload.pk}/change/"))
    assert staff.get(f"{UPLOADS}{upload.pk}/file/").status_code == 404
