"""The studio's photo management in the admin, in a real browser (Debian's headless Chromium), at desktop
and phone width: the album's thumbnail grid per section and subject, the photo list's filters, a
photo's page, the upload log with a rejected row, "Process again" and the quarantined file.

Everything is made through the real services and the worker's own code path (``upload_process``)
from real images; the screenshots go to ``SCREENSHOT_DIR`` (the README's come from the desktop ones).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from albums import intake
from albums import services as albums
from albums.models import Album, Photo, Upload
from jobs import services as jobs
from jobs.models import Account, FTPUser
from subjects import review
from subjects import services as subjects
from tests.helpers import register_upload
from tests.images import camera_exif, jpeg
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)

TRUNCATED = jpeg(size=(800, 600))[:-2000]


@dataclass
class Studio:
    album: Album
    portrait: Photo
    group: Photo
    rejected: Upload  # a truncated JPEG, kept in quarantine


def _intake(album: Album, filename: str, data: bytes, ftp_user: FTPUser, folder: str = "") -> Upload:
    upload = register_upload(album, filename, data, folder=folder, ftp_user=ftp_user)
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    return Upload.objects.get(pk=upload.pk)


@pytest.fixture
def studio(account: Account, owner: User, outsider_account: Account, ftp_user: FTPUser, queued: list[int]) -> Studio:
    job = jobs.job_create(account=account, internal_name="job00001", title="Elm School")
    album = albums.album_create(job=job, name="Class 1", ftp_user=ftp_user)
    anna, _ben = subjects.subjects_import(roster="name;id\nAnna Weber;1\nBen Kaya;2\n", album=album)
    portrait = _intake(album, "anna-1.jpg", jpeg(size=(1200, 900), exif=camera_exif()), ftp_user)
    _intake(album, "anna-2.jpg", jpeg(size=(1200, 900), colour=(200, 120, 40)), ftp_user)
    _intake(album, "loose.jpg", jpeg(size=(900, 1200), colour=(40, 120, 200)), ftp_user)
    group = _intake(album, "class.jpg", jpeg(size=(1600, 900), colour=(90, 160, 90)), ftp_user, folder="group")
    rejected = _intake(album, "broken.jpg", TRUNCATED, ftp_user)
    _intake(album, "notes.jpg", b"a shopping list, not a photo", ftp_user)
    assert rejected.state == Upload.State.REJECTED and rejected.reason == "JPEG is truncated", rejected.reason
    assert portrait.photo is not None and group.photo is not None
    both = [portrait.photo.pk, Photo.objects.get(filename="anna-2.jpg").pk]
    review.photos_move(album=album, photo_ids=both, to_subject=anna, by=owner)
    # Another studio's: never on these pages.
    other_job = jobs.job_create(account=outsider_account, internal_name="job00001")
    other_album = albums.album_create(job=other_job, name="Secret Class")
    register_upload(other_album, "secret.jpg", jpeg())
    return Studio(album, portrait.photo, group.photo, rejected)


def _images_loaded(browser: WebDriver, selector: str) -> int:
    """How many images match ``selector``, once every one of them has loaded with a real picture."""
    script = (
        "const imgs = [...document.querySelectorAll(arguments[0])];"
        "return imgs.every(i => i.complete && i.naturalWidth > 0) ? imgs.length : -1;"
    )
    deadline = time.monotonic() + 20
    while (count := browser.execute_script(script, selector)) < 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    return int(count)


def _visible_within_width(browser: WebDriver, selector: str) -> bool:
    """Every element matching ``selector`` is on screen, none of it beyond the window's right edge."""
    return bool(
        browser.execute_script(
            "const els = [...document.querySelectorAll(arguments[0])];"
            "return els.length > 0 && els.every(e => { const r = e.getBoundingClientRect();"
            " return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; });",
            selector,
        )
    )


def test_the_album_page_shows_its_photos_as_a_grid_per_section_and_subject(
    browser: WebDriver, live_server: LiveServer, studio: Studio, width: str
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/albums/album/{studio.album.pk}/change/", "section-individuals")
    individuals = browser.find_element(By.ID, "section-individuals").text
    assert "Individuals" in individuals and "Anna Weber" in individuals and "No subject" in individuals
    anna = browser.find_element(By.CSS_SELECTOR, "#section-individuals h4:first-of-type + .photo-grid").text
    assert "anna-1.jpg" in anna and "anna-2.jpg" in anna and "loose.jpg" not in anna
    assert "class.jpg" in browser.find_element(By.ID, "section-group").text
    assert _images_loaded(browser, ".photo-grid img") == 4
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"album-grid-{width}")
    tile = browser.find_element(By.CSS_SELECTOR, f'.photo-tile a[title="{studio.group.filename}"]')
    click_and_wait(browser, tile)
    assert f"/admin/albums/photo/{studio.group.pk}/change/" in browser.current_url


def test_staff_filter_the_photo_list_by_job_album_section_and_review(
    browser: WebDriver, live_server: LiveServer, studio: Studio, width: str
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/albums/photo/", "result_list")
    page = browser.page_source
    assert "job00001" in page  # the job filter is there with its one job
    assert "Secret Class" not in page and "Other Studio" not in page

    def choose(href_part: str) -> None:
        link = next(
            a
            for a in browser.find_elements(By.CSS_SELECTOR, "#changelist-filter a")
            if href_part in (a.get_attribute("href") or "")
        )
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        if not link.is_displayed():  # a phone keeps the filters folded away under their title
            browser.find_element(By.CSS_SELECTOR, "#changelist-filter summary, #changelist-filter details").click()
        click_and_wait(browser, link)

    choose("section__exact=group")
    rows = browser.find_element(By.ID, "result_list").text
    assert "class.jpg" in rows and "anna-1.jpg" not in rows
    open_page(browser, f"{live_server.url}/admin/albums/photo/?review=unassigned", "result_list")
    rows = browser.find_element(By.ID, "result_list").text
    assert "loose.jpg" in rows and "anna-1.jpg" not in rows and "class.jpg" not in rows
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"photo-list-filtered-{width}")


def test_a_photos_page_shows_its_preview_and_readable_metadata(
    browser: WebDriver, live_server: LiveServer, studio: Studio, width: str
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/albums/photo/{studio.portrait.pk}/change/", "content-main")
    assert "View photo" in browser.title
    assert _images_loaded(browser, "img.photo-preview") == 1
    text = browser.find_element(By.ID, "content-main").text
    readable = ("Canon EOS R5", "032021001234", "1200 \u00d7 900 px", "SHA-256", "Latitude", "photographer", "SFTP")
    for expected in readable:
        assert expected in text, expected
    assert "Canon Canon" not in text and "photos/" not in text and "Sha256" not in text
    osm = browser.find_element(By.CSS_SELECTOR, "a.photo-map").get_attribute("href") or ""
    assert osm.startswith("https://www.openstreetmap.org/?mlat=-33.86")
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"photo-page-{width}")


def test_the_upload_log_shows_state_and_reason_at_a_glance(
    browser: WebDriver, live_server: LiveServer, studio: Studio, width: str
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/admin/albums/upload/", "result_list")
    rejected_row = browser.find_element(By.XPATH, "//tr[.//a[text()='broken.jpg']]")
    assert "Rejected" in rejected_row.text and "JPEG is truncated" in rejected_row.text
    assert "photographer" in rejected_row.text and "SFTP" in rejected_row.text
    done_row = browser.find_element(By.XPATH, "//tr[.//a[text()='class.jpg']]")
    # Rejected rows stand out from the others.
    colour = "return getComputedStyle(arguments[0].querySelector('td')).backgroundColor"
    assert browser.execute_script(colour, rejected_row) != browser.execute_script(colour, done_row)
    assert "not an image" in browser.find_element(By.ID, "result_list").text
    assert "secret.jpg" not in browser.page_source
    assert _visible_within_width(browser, "#result_list .upload-state")
    assert _visible_within_width(browser, "#result_list .upload-reason")
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"upload-log-{width}")


def test_a_rejected_upload_is_viewed_processed_again_and_its_file_downloaded(
    browser: WebDriver, live_server: LiveServer, studio: Studio, width: str, tmp_path: Path, queued: list[int]
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    page = f"{live_server.url}/admin/albums/upload/{studio.rejected.pk}/change/"
    open_page(browser, page, "content-main")
    assert "View upload" in browser.title and browser.find_element(By.TAG_NAME, "h1").text == "View upload"
    text = browser.find_element(By.ID, "content-main").text
    assert "JPEG is truncated" in text and "Upload it again from the original" in text
    assert not browser.find_elements(By.CSS_SELECTOR, "input[name=_save], input[name=_continue]")
    assert studio.rejected.claimed_by not in browser.page_source
    assert _images_loaded(browser, "img.upload-picture") == 1  # the quarantined file, shown to its studio
    assert _visible_within_width(browser, ".field-advice .readonly")  # the advice is not cut off on a phone
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"upload-page-{width}")

    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.find_element(By.CSS_SELECTOR, "a.upload-download").click()
    downloaded = tmp_path / "broken.jpg"
    deadline = time.monotonic() + 20
    while not downloaded.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert downloaded.read_bytes() == TRUNCATED

    click_and_wait(browser, browser.find_element(By.ID, "process-again"))
    assert "1 upload queued again." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert queued[-1] == studio.rejected.pk
    assert Upload.objects.get(pk=studio.rejected.pk).state == Upload.State.RECEIVED
