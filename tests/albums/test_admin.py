"""The upload log in the Django admin: rejection reasons are shown, and "Process again" re-queues."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from albums import intake, services
from albums.models import Upload
from tests.helpers import register_upload
from tests.images import jpeg


@pytest.fixture
def rejected(planned_job, tmp_path: Path, queued: list[int], settings) -> Upload:
    settings.MEDIA_ROOT = tmp_path / "media"
    album = services.album_create(job=planned_job, name="Class 1")
    uploaded = []
    for name, data in (("anna.jpg", jpeg()), ("IMG_0001.CR2", b"\x00" * 64)):
        upload = register_upload(album, name, data)
        intake.upload_process(upload_id=upload.pk, token=intake.new_token())
        uploaded.append(upload)
    return Upload.objects.get(pk=uploaded[1].pk)


def test_the_upload_log_shows_why_an_upload_was_rejected(admin_client: Client, rejected: Upload) -> None:
    page = admin_client.get("/admin/albums/upload/", {"state__exact": "rejected"}).content.decode()
    assert "IMG_0001.CR2" in page
    assert "file type .cr2 is not accepted" in page
    assert "anna.jpg" not in page

    detail = admin_client.get(f"/admin/albums/upload/{rejected.pk}/change/").content.decode()
    assert "file type .cr2 is not accepted" in detail


def test_process_again_queues_the_chosen_uploads(admin_client: Client, rejected: Upload, queued: list[int]) -> None:
    queued.clear()
    response = admin_client.post(
        "/admin/albums/upload/",
        {"action": "reprocess", "_selected_action": [str(rejected.pk)]},
        follow=True,
    )
    assert "1 upload queued again." in response.content.decode()
    rejected.refresh_from_db()
    assert (rejected.state, rejected.reason, rejected.attempts) == ("received", "", 0)


def test_uploads_cannot_be_added_by_hand(admin_client: Client, db) -> None:
    assert admin_client.get("/admin/albums/upload/add/").status_code == 403
