"""Studio staff in the Django admin, driven in a real browser (Debian's headless Chromium).

A staff member logs in, sees the upload log of their own studio with its rejection reasons, and the
photo list with thumbnails served through the studio-checked media view; another studio's uploads
stay invisible.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from django.contrib.auth.models import User
from django.http import FileResponse
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from albums import intake
from albums import services as albums
from albums.models import Photo
from jobs import services as jobs
from jobs.models import Account, PhotoJob
from tests.conftest import PASSWORD
from tests.helpers import register_upload, write_file
from tests.images import jpeg
from tests.web.conftest import log_in

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


def _intake(job: PhotoJob, filename: str, path: Path) -> None:
    """An upload through the real services, processed at once (the worker's own code path)."""
    album = albums.album_create(job=job, name="Class 1") if not job.albums.exists() else job.albums.get()
    upload = register_upload(album, filename, path.read_bytes())
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())


@pytest.fixture
def studio_with_uploads(account: Account, outsider_account: Account, tmp_path: Path) -> PhotoJob:
    job = jobs.job_create(account=account, internal_name="job00001")
    _intake(job, "anna.jpg", write_file(tmp_path / "anna.jpg", jpeg(size=(1600, 1200))))
    notes = tmp_path / "notes.jpg"
    notes.write_text("this is a shopping list, not a photo")
    _intake(job, "notes.jpg", notes)
    other_job = jobs.job_create(account=outsider_account, internal_name="job00001")
    _intake(other_job, "secret.jpg", write_file(tmp_path / "secret.jpg", jpeg(colour=(1, 1, 1))))
    return job


def test_staff_see_their_upload_log_with_reasons_and_not_other_studios(
    browser, live_server, studio_with_uploads, tmp_path: Path
) -> None:
    log_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/albums/upload/")
    page = browser.page_source
    assert "anna.jpg" in page
    assert "notes.jpg" in page and "not an image" in page
    assert "secret.jpg" not in page
    assert "Other Studio" not in page  # not even in the filters
    browser.save_screenshot(str(tmp_path / "upload-log.png"))


def test_staff_see_photo_thumbnails_served_to_them(
    browser: WebDriver, live_server: LiveServer, studio_with_uploads: PhotoJob
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/albums/photo/")
    from selenium.webdriver.support.ui import WebDriverWait

    images = browser.find_elements(By.CSS_SELECTOR, "#result_list img")
    assert len(images) == 1
    width = WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", images[0])
    )
    assert width == 400


def test_photo_files_are_not_public(
    studio_with_uploads: PhotoJob, client: Client, django_user_model: type[User]
) -> None:
    photo = Photo.objects.get(filename="anna.jpg")
    url = photo.thumbnail.url
    assert client.get(url).status_code == 302  # to the login page
    stranger = django_user_model.objects.create_user(username="stranger", password=PASSWORD, is_staff=True)
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.logout()
    client.login(username="olivia", password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    # The test client types every response as an HttpResponse; the media view answers with a
    # FileResponse over a sync file, so its content streams as bytes.
    streamed = cast(Iterator[bytes], cast(FileResponse, response).streaming_content)
    assert b"".join(streamed)[:2] == b"\xff\xd8"
