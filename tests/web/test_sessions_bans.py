"""The settings page's live parts with real servers and a real browser: a photographer's open SFTP
session is listed and the owner disconnects it; wrong passwords ban a photographer, the ban is listed
and lifted, and the right password works again; an FTP user is deleted after a confirmation and its
uploads stay listed. At desktop and phone width."""

from __future__ import annotations

import asyncio
import ftplib
import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import asyncssh
import pytest
from django.test import Client
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from albums.models import Album, Photo, Upload
from jobs.models import Account, FTPUser, PhotoJob
from tests.admin.cast import intake_file
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import ftps
from tests.helpers import connect, sftp_login_attempt, wait_for
from tests.images import jpeg
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot
from tree.models import LiveSession

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_ban_state(settings: Settings) -> None:
    """Bans of this test only (Redis is shared by the tests running side by side)."""
    settings.LOGIN_REDIS_PREFIX = f"web-test-{uuid.uuid4().hex[:8]}:"


class OpenSFTPSession:
    """A photographer's asyncssh client, logged in and idle, in an event loop of its own."""

    def __init__(self, port: int, username: str = "photographer", password: str = PASSWORD) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-client", daemon=True)
        self._thread.start()
        self.conn: asyncssh.SSHClientConnection = self._call(self._open(port, username, password), 30)

    async def _open(self, port: int, username: str, password: str) -> asyncssh.SSHClientConnection:
        conn = await connect(port, username, password)
        sftp = await conn.start_sftp_client()
        await sftp.listdir("/")
        return conn

    def _call(self, coro: object, timeout: float) -> asyncssh.SSHClientConnection:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def closed_within(self, seconds: float) -> bool:
        async def wait() -> bool:
            try:
                await asyncio.wait_for(self.conn.wait_closed(), seconds)
            except TimeoutError:
                return False
            return True

        return bool(asyncio.run_coroutine_threadsafe(wait(), self._loop).result(seconds + 10))

    def close(self) -> None:
        async def end() -> None:
            self.conn.close()
            await self.conn.wait_closed()

        asyncio.run_coroutine_threadsafe(end(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def open_sftp_session(
    sftp_server: RunningServer, ftp_user: FTPUser, planned_job: PhotoJob
) -> Iterator[OpenSFTPSession]:
    session = OpenSFTPSession(sftp_server.port)
    yield session
    session.close()


def test_an_open_sftp_session_is_listed_and_the_owner_disconnects_it(
    browser: WebDriver, width: str, live_server: LiveServer, account: Account, open_sftp_session: OpenSFTPSession
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "sessions")
    listed = browser.find_element(By.ID, "session-list").text
    assert "photographer" in listed and "127.0.0.1" in listed and "SFTP" in listed
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"settings-sessions-{width}")

    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#session-list button.disconnect"))
    assert "is being ended" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert open_sftp_session.closed_within(15), "the client was not disconnected"
    wait_for(lambda: not LiveSession.objects.exists(), timeout=15)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "sessions")
    assert "Nobody is connected." in browser.find_element(By.ID, "session-list").text


def test_an_ftps_session_is_listed_with_its_door_and_ends_on_disconnect(
    client: Client, ftp_server: RunningFTPServer, account: Account, ftp_user: FTPUser, planned_job: PhotoJob
) -> None:
    client.login(username="olivia", password=PASSWORD)
    with ftps(ftp_server) as ftp:
        ftp.nlst("/")
        page = client.get(f"/accounts/{account.pk}/ftp/").content.decode()
        assert "FTPS" in page and "photographer" in page
        session = LiveSession.objects.get()
        response = client.post(f"/accounts/{account.pk}/sessions/{session.pk}/disconnect/")
        assert response.status_code == 302

        def ended() -> bool:
            try:
                ftp.voidcmd("NOOP")
            except (ftplib.Error, OSError, EOFError) as exc:
                return "421" in str(exc) or isinstance(exc, (OSError, EOFError))
            return False

        wait_for(ended, timeout=15)
    wait_for(lambda: not LiveSession.objects.exists(), timeout=15)


@pytest.fixture
def strict_bans(settings: Settings) -> None:
    settings.LOGIN_BAN_USER_FAILURES = 3
    settings.LOGIN_BAN_ADDRESS_FAILURES = 100
    settings.LOGIN_BAN_SECONDS = 600


def _sftp_login(server: RunningServer, password: str) -> Exception | None:
    return asyncio.run(asyncio.wait_for(sftp_login_attempt(server.port, "photographer", password), 60))


def test_a_ban_from_wrong_passwords_is_listed_and_lifted_and_the_right_password_works_again(
    strict_bans: None,
    browser: WebDriver,
    width: str,
    live_server: LiveServer,
    sftp_server: RunningServer,
    account: Account,
    ftp_user: FTPUser,
    planned_job: PhotoJob,
) -> None:
    from selenium.webdriver.common.by import By

    for _ in range(3):
        assert isinstance(_sftp_login(sftp_server, "wrong password"), asyncssh.PermissionDenied)
    refused = _sftp_login(sftp_server, PASSWORD)
    assert isinstance(refused, asyncssh.DisconnectError) and "Too many failed logins" in refused.reason

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "bans")
    listed = browser.find_element(By.ID, "ban-list").text
    assert "photographer" in listed and "127.0.0.1" in listed and "10 minutes" in listed
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"settings-bans-{width}")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#ban-list button.lift-ban"))
    assert "Ban lifted" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "No bans." in browser.find_element(By.ID, "ban-list").text

    assert _sftp_login(sftp_server, PASSWORD) is None
    # The failures went with the ban: one more wrong password does not ban again at once.
    assert isinstance(_sftp_login(sftp_server, "wrong password"), asyncssh.PermissionDenied)
    assert _sftp_login(sftp_server, PASSWORD) is None


def test_the_owner_deletes_an_ftp_user_after_confirming_and_its_uploads_stay_listed(
    browser: WebDriver, width: str, live_server: LiveServer, account: Account, ftp_user: FTPUser, album: Album
) -> None:
    from selenium.webdriver.common.by import By

    kept = intake_file(album, "portrait.jpg", jpeg(), ftp_user=ftp_user)
    rejected = intake_file(album, "notes.txt", b"not a picture", ftp_user=ftp_user)
    assert kept.photo is not None and rejected.state == Upload.State.REJECTED

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/photographer/", "delete")
    click_and_wait(browser, browser.find_element(By.ID, "delete"))
    assert "2 uploads and their photos stay" in browser.find_element(By.ID, "confirm").text
    assert no_horizontal_scroll(browser)
    click_and_wait(browser, browser.find_element(By.ID, "cancel"))  # changing one's mind keeps it
    assert FTPUser.objects.filter(username="photographer").exists()

    click_and_wait(browser, browser.find_element(By.ID, "delete"))
    click_and_wait(browser, browser.find_element(By.ID, "confirm-delete"))
    assert "deleted" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "No FTP users yet" in browser.find_element(By.ID, "ftp-users").text
    rejections = browser.find_element(By.ID, "rejection-list").text
    assert "notes.txt" in rejections and "photographer" in rejections
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"settings-after-delete-{width}")

    assert not FTPUser.objects.exists()
    assert sorted(Upload.objects.values_list("ftp_username", flat=True)) == ["photographer", "photographer"]
    assert Photo.objects.get().uploaded_by is None
    browser.find_element(By.LINK_TEXT, "notes.txt").click()  # the admin's page of the upload
    wait_for(lambda: "notes.txt" in browser.page_source and "/admin/albums/upload/" in browser.current_url)


def test_the_settings_page_shows_everything_at_once_and_fits_a_phone(
    strict_bans: None,
    browser: WebDriver,
    width: str,
    live_server: LiveServer,
    account: Account,
    album: Album,
    open_sftp_session: OpenSFTPSession,
    sftp_server: RunningServer,
    ftp_server: RunningFTPServer,
) -> None:
    """The page the README shows: users, who is connected, a ban, the recent rejections."""
    from selenium.webdriver.common.by import By

    from jobs import services

    services.ftp_user_create(account=account, username="assistant", password=PASSWORD)
    intake_file(album, "IMG_0412.jpg", b"\xff\xd8\xff truncated", ftp_user=album.created_by)
    for _ in range(3):
        asyncio.run(sftp_login_attempt(sftp_server.port, "assistant", "an old password"))

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "rejections")
    assert "assistant" in browser.find_element(By.ID, "ban-list").text
    assert "photographer" in browser.find_element(By.ID, "session-list").text
    assert "IMG_0412.jpg" in browser.find_element(By.ID, "rejection-list").text
    assert no_horizontal_scroll(browser)
    if width == "desktop":  # the whole page, for the README
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, min(int(height) + 140, 4000))
    screenshot(browser, f"settings-page-{width}")
