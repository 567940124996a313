"""A studio from nothing to its first reviewed photo, without Python (issue 13's "done when").

An operator runs two commands (``account create``, ``account add-member``); from then on the owner
works in a real browser: a photo job in the admin, an FTP user on the settings page. The
photographer uploads with OpenSSH's ``sftp`` to the real SFTP server; a real Celery worker turns one
file into a photo and rejects the other; the owner finds the photo in the album's grid and the
rejection, with what to do about it, in the upload log.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from celery.worker.worker import WorkController
from pytest_django.live_server_helper import LiveServer

from albums.models import Album, Upload
from tests.conftest import PASSWORD, RunningServer
from tests.helpers import openssh_sftp, require_program, wait_for, write_file
from tests.images import jpeg
from tests.jobs.test_commands import manage
from tests.web.conftest import click_and_wait, log_in, open_page, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_studio_goes_from_account_create_to_a_reviewed_first_upload(
    browser: WebDriver,
    live_server: LiveServer,
    sftp_server: RunningServer,
    celery_worker: WorkController,
    askpass: dict[str, str],
    tmp_path: Path,
) -> None:
    require_program("sftp", "openssh-client")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # The operator: two commands, no Python.
    created = manage("account", "create", "Studio Sonne")
    assert created.returncode == 0, created.stderr
    member = manage(
        "account", "add-member", "Studio Sonne", "sonja", "--role", "owner", "--password-stdin", stdin=PASSWORD
    )
    assert member.returncode == 0, member.stderr

    # The owner, in the browser: a planned photo job in the admin.
    log_in(browser, live_server, "sonja")
    open_page(browser, f"{live_server.url}/admin/jobs/photojob/add/", "id_internal_name")
    Select(browser.find_element(By.NAME, "account")).select_by_visible_text("Studio Sonne")
    browser.find_element(By.NAME, "internal_name").send_keys("job00001")
    browser.find_element(By.NAME, "title").send_keys("Grundschule Am Park")
    click_and_wait(browser, browser.find_element(By.NAME, "_save"))
    assert "job00001" in browser.page_source

    # ... and an FTP user for the photographer on the settings page ("View site" leads there).
    open_page(browser, f"{live_server.url}/accounts/", "content")
    click_and_wait(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Studio Sonne"))
    browser.find_element(By.NAME, "username").send_keys("anna")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#create-ftp-user input[type=submit]"))
    assert "anna" in browser.find_element(By.ID, "ftp-users").text

    # The photographer, with OpenSSH's sftp: an album folder, a portrait and a file that is no photo.
    portrait = write_file(tmp_path / "portrait.jpg", jpeg(size=(1200, 1600)))
    notes = tmp_path / "notes.jpg"
    notes.write_text("a shopping list, not a photo")
    session = openssh_sftp(
        sftp_server.port,
        "anna",
        f'cd job00001\nmkdir "Class 1"\ncd "Class 1"\nput {portrait}\nput {notes}\nls\n',
        askpass,
    )
    assert session.returncode == 0, session.stderr
    assert "portrait.jpg" in session.stdout

    wait_for(lambda: Upload.objects.filter(state="done", filename="portrait.jpg").exists(), timeout=60)
    rejected = wait_for(lambda: Upload.objects.filter(state="rejected", filename="notes.jpg").first(), timeout=60)
    album = Album.objects.get(job__internal_name="job00001", name="Class 1")

    # The owner reviews: the portrait in the album's grid, the rejection in the upload log.
    open_page(browser, f"{live_server.url}/admin/albums/album/{album.pk}/change/", "content")
    grid = browser.find_element(By.CSS_SELECTOR, ".photo-grid")
    assert "portrait.jpg" in (grid.get_attribute("innerHTML") or "")
    thumbnail = grid.find_element(By.TAG_NAME, "img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", thumbnail)
    screenshot(browser, "journey-album")

    open_page(browser, f"{live_server.url}/admin/albums/upload/", "result_list")
    log = browser.find_element(By.ID, "result_list").text
    assert "notes.jpg" in log and rejected.reason in log
    open_page(browser, f"{live_server.url}/admin/albums/upload/{rejected.pk}/change/", "content")
    page = browser.find_element(By.ID, "content").text
    assert "process again" in page.lower() and rejected.reason in page and "What to do" in page
    screenshot(browser, "journey-rejection")
