"""The cameras page in a real browser: an owner adds an INSTAR camera, reads its password once and
the exact ft_* values, the camera uploads over FTPS (its Test button, then a picture), and the
camera's page shows the test, the upload and the health figures; at phone width too, with both host
key fingerprints, a ban lifted and the rejection notices switched."""

from __future__ import annotations

import ftplib
import io
import uuid
from typing import TYPE_CHECKING

import pytest
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from albums.models import Photo
from devices import services as device_services
from jobs.models import Account, FTPUser, PhotoJob
from portal.connection import host_key_fingerprints
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import tls_context
from tests.helpers import wait_for
from tests.images import jpeg
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot
from tree.guard import make_guard

if TYPE_CHECKING:
    from celery.worker.worker import WorkController
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_adds_an_instar_camera_that_uploads_over_ftps_and_shows_its_health(
    browser: WebDriver,
    live_server: LiveServer,
    ftp_server: RunningFTPServer,
    celery_worker: WorkController,
    account: Account,
    planned_job: PhotoJob,
    settings: Settings,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    settings.FTPD_PORT = ftp_server.port  # what the page tells the camera

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "cameras-link")
    click_and_wait(browser, browser.find_element(By.ID, "cameras-link"))
    browser.find_element(By.NAME, "username").send_keys("garden-cam")
    Select(browser.find_element(By.NAME, "job")).select_by_value("job00001")
    browser.find_element(By.NAME, "album").send_keys("Garden")
    Select(browser.find_element(By.NAME, "profile")).select_by_value("instar")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#add-camera input[type=submit]"))
    password = browser.find_element(By.ID, "new-password").text
    ftps_values = browser.find_element(By.ID, "instar-ftps").text
    assert "ft_ssl 1" in ftps_values and f"ft_port {ftp_server.port}" in ftps_values and "ft_mode 1" in ftps_values
    assert "refused" in browser.find_element(By.ID, "plain-ftp").text

    with ftplib.FTP_TLS(context=tls_context(), encoding="utf-8") as ftp:
        ftp.connect(ftp_server.host, ftp_server.port, timeout=30)
        ftp.auth()
        ftp.login("garden-cam", password)
        ftp.prot_p()
        assert ftp.pwd() == "/"
        ftp.storbinary("STOR Test-Snapshot.jpeg", io.BytesIO(jpeg()))  # the camera's Test button
        ftp.mkd("20261202")  # ft_dirmode=1: a folder per day
        ftp.storbinary("STOR 20261202/A_2026-12-02_09-30-00.jpeg", io.BytesIO(jpeg(colour=(10, 200, 10))))
        assert ftp.nlst("20261202") == ["A_2026-12-02_09-30-00.jpeg"]
        assert ftp.nlst("/") == ["20261202"]  # the test left nothing behind

    wait_for(lambda: Photo.objects.filter(album__name="Garden").exists(), timeout=30)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/cameras/garden-cam/", "health")
    assert "test received at" in browser.find_element(By.ID, "last-test").text
    assert "Test-Snapshot.jpeg" in browser.find_element(By.ID, "last-test").text
    assert "1 uploads, 0 rejected" in browser.find_element(By.ID, "today").text
    assert "127.0.0.1" in browser.find_element(By.ID, "last-connection").text
    photo = Photo.objects.get(album__name="Garden")
    assert photo.filename == "20261202__A_2026-12-02_09-30-00.jpeg"


def test_the_owner_changes_which_names_are_tests_and_the_camera_page_warns_when_it_is_silent(
    browser: WebDriver, live_server: LiveServer, account: Account, planned_job: PhotoJob
) -> None:
    import datetime

    from django.utils import timezone
    from selenium.webdriver.common.by import By

    from devices import services as device_services
    from devices.models import Device

    device = device_services.device_create(account=account, username="yard", job=planned_job, album_name="Yard")
    Device.objects.filter(pk=device.pk).update(created_at=timezone.now() - datetime.timedelta(hours=30))
    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/cameras/yard/", "health")
    assert "Silent for 30 hours" in browser.find_element(By.ID, "silent").text
    field = browser.find_element(By.NAME, "test_patterns")
    field.clear()
    field.send_keys("probe*.jpg")
    interval = browser.find_element(By.NAME, "expected_interval_hours")
    interval.clear()
    interval.send_keys("48")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#camera-settings button"))
    assert "Settings saved" in browser.find_element(By.ID, "notice").text
    assert not browser.find_elements(By.ID, "silent")
    device.refresh_from_db()
    assert device_services.is_connection_test(device, "probe-01.jpg")
    assert not device_services.is_connection_test(device, "test.jpg")


def test_the_camera_page_fits_a_phone_shows_both_fingerprints_lifts_a_ban_and_switches_notices(
    browser: WebDriver,
    width: str,
    live_server: LiveServer,
    sftp_server: RunningServer,
    account: Account,
    planned_job: PhotoJob,
    settings: Settings,
) -> None:
    from selenium.webdriver.common.by import By

    settings.LOGIN_REDIS_PREFIX = f"camera-page-{uuid.uuid4().hex[:8]}:"
    settings.LOGIN_BAN_USER_FAILURES = 2
    device = device_services.device_create(
        account=account, username="gate-cam", job=planned_job, album_name="Gate", password=PASSWORD, profile="instar"
    )
    FTPUser.objects.filter(pk=device.ftp_user.pk).update(last_login_address="10.0.0.5")
    guard = make_guard()
    try:
        for _ in range(2):
            guard.failed("10.0.0.5", "gate-cam")
        assert guard.refusal("10.0.0.5", "gate-cam")

        log_in(browser, live_server)
        open_page(browser, f"{live_server.url}/accounts/{account.pk}/cameras/gate-cam/", "camera-connection")
        shown = browser.find_element(By.ID, "camera-connection").text
        for fp in host_key_fingerprints():
            assert fp.sha256 in shown and fp.md5 in shown  # FileZilla's and the cameras' kind
        assert no_horizontal_scroll(browser)
        screenshot(browser, f"camera-page-{width}")

        assert "gate-cam from 10.0.0.5" in browser.find_element(By.ID, "ban").text
        click_and_wait(browser, browser.find_element(By.ID, "lift-ban"))
        assert "1 ban(s) lifted" in browser.find_element(By.ID, "notice").text
        assert not guard.refusal("10.0.0.5", "gate-cam")

        assert "off" in browser.find_element(By.ID, "rejection-notices").text  # a camera starts without
        click_and_wait(browser, browser.find_element(By.ID, "notices-on"))
        assert FTPUser.objects.get(username="gate-cam").rejection_notices
        click_and_wait(browser, browser.find_element(By.ID, "notices-off"))
        assert not FTPUser.objects.get(username="gate-cam").rejection_notices
    finally:
        guard.close()
