"""The account FTP settings page in a real browser: an owner creates an FTP user, reads its
generated password once, adds an SSH key, and the photographer logs in over SFTP with both."""

from __future__ import annotations

import asyncio
import ftplib
from typing import TYPE_CHECKING, Any

import asyncssh
import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import plain_ftp
from tests.helpers import connect, require_program, wait_for
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


def _can_list_jobs(port: int, username: str, **credentials: Any) -> list[str]:
    async def run() -> list[str]:
        async with connect(port, username, **credentials) as conn, conn.start_sftp_client() as sftp:
            return list(await sftp.listdir("/"))

    return asyncio.run(run())


def test_owner_creates_an_ftp_user_whose_generated_password_works_over_sftp(
    browser: WebDriver, live_server: LiveServer, sftp_server: RunningServer, account: Account, planned_job: PhotoJob
) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/", "connection")
    assert "FTP users of Sunshine Studio" in browser.page_source
    assert "not FTPS" in browser.find_element(By.ID, "connection").text
    browser.find_element(By.NAME, "username").send_keys("anna")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#create-ftp-user input[type=submit]"))
    password = browser.find_element(By.ID, "new-password").text
    assert len(password) >= 16

    assert _can_list_jobs(sftp_server.port, "anna", password=password) == ["job00001"]
    browser.get(browser.current_url)  # the password is never shown again
    assert password not in browser.page_source
    assert "anna" in browser.find_element(By.ID, "ftp-users").text


def test_owner_adds_a_key_that_logs_in_and_sees_bad_keys_refused(
    browser: WebDriver,
    live_server: LiveServer,
    sftp_server: RunningServer,
    account: Account,
    ftp_user: FTPUser,
    planned_job: PhotoJob,
) -> None:
    from selenium.webdriver.common.by import By

    key = asyncssh.generate_private_key("ssh-ed25519", comment="camera-1")
    log_in(browser, live_server)
    browser.get(f"{live_server.url}/accounts/{account.pk}/ftp/{ftp_user.username}/")
    browser.find_element(By.NAME, "public_key").send_keys("ssh-rsa AAAAB3NzaC1yc2E this-is-not-a-key")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#add-key button"))
    assert "not an OpenSSH public key" in browser.page_source
    browser.find_element(By.NAME, "public_key").clear()
    browser.find_element(By.NAME, "public_key").send_keys(key.export_public_key().decode().strip())
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#add-key button"))
    fingerprint = key.get_fingerprint("sha256")
    assert fingerprint in browser.find_element(By.ID, "keys").text

    assert _can_list_jobs(sftp_server.port, ftp_user.username, client_keys=[key]) == ["job00001"]

    # Removing the key asks first; cancelling keeps it.
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#keys a.remove-key"))
    assert fingerprint in browser.find_element(By.TAG_NAME, "h1").text
    click_and_wait(browser, browser.find_element(By.ID, "cancel"))
    assert fingerprint in browser.find_element(By.ID, "keys").text
    assert _can_list_jobs(sftp_server.port, ftp_user.username, client_keys=[key]) == ["job00001"]
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#keys a.remove-key"))
    click_and_wait(browser, browser.find_element(By.ID, "confirm-remove-key"))
    assert "removed" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "No keys." in browser.find_element(By.ID, "keys").text
    with pytest.raises(asyncssh.PermissionDenied):
        _can_list_jobs(sftp_server.port, ftp_user.username, client_keys=[key])

    # Deactivating asks first too.
    click_and_wait(browser, browser.find_element(By.ID, "deactivate"))
    assert "can no longer log in" in browser.find_element(By.ID, "confirm").text
    assert ftp_user_is_active(ftp_user)
    click_and_wait(browser, browser.find_element(By.ID, "confirm-deactivate"))
    assert "deactivated" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    with pytest.raises(asyncssh.PermissionDenied):
        _can_list_jobs(sftp_server.port, ftp_user.username, password=PASSWORD)


def ftp_user_is_active(ftp_user: FTPUser) -> bool:
    return FTPUser.objects.get(pk=ftp_user.pk).is_active


def test_only_owners_of_the_studio_reach_its_settings(
    client: Client, account: Account, outsider_account: Account, django_user_model: type[User]
) -> None:
    assert client.get(f"/accounts/{account.pk}/ftp/").status_code == 302  # login first
    staff = django_user_model.objects.create_user(username="sam", password=PASSWORD)
    services.account_add_member(account=account, user=staff, role="staff")
    client.force_login(staff)
    assert client.get(f"/accounts/{account.pk}/ftp/").status_code == 404
    for path in ("ftp/photographer/delete/", "ftp/photographer/deactivate/", "bans/lift/"):
        assert client.post(f"/accounts/{account.pk}/{path}").status_code == 404
    index = client.get("/accounts/").content.decode()  # not a dead end: what staff do, and where
    assert "you are staff" in index and "managed by the studio" in index
    client.login(username="olivia", password=PASSWORD)
    assert client.get(f"/accounts/{outsider_account.pk}/ftp/").status_code == 404
    response = client.post(f"/accounts/{account.pk}/ftp/", {"username": "ab", "password": ""})
    assert response.status_code == 200
    assert "not allowed" in response.content.decode()
    assert not FTPUser.objects.exists()
    page = client.get(f"/accounts/{account.pk}/ftp/")
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]


def _served_certificate_fingerprint(server: RunningFTPServer) -> str:
    """What the FTP server presents after AUTH TLS, fingerprinted by openssl itself."""
    import subprocess

    pem = subprocess.run(
        ["openssl", "s_client", "-starttls", "ftp", "-connect", f"{server.host}:{server.port}", "-showcerts"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    cert = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=cert, capture_output=True, text=True, check=True
    ).stdout
    return out.strip().split("=", 1)[1]


def test_the_page_shows_the_ftps_certificate_and_lets_the_owner_allow_plain_ftp_for_a_camera(
    browser: WebDriver, live_server: LiveServer, ftp_server: RunningFTPServer, account: Account, ftp_user: FTPUser
) -> None:
    from selenium.webdriver.common.by import By

    require_program("openssl", "openssl")
    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/{ftp_user.username}/", "ftps-fingerprint")
    shown = browser.find_element(By.ID, "ftps-fingerprint").text
    assert shown == _served_certificate_fingerprint(ftp_server)
    assert "passive" in browser.find_element(By.ID, "ftps-connection").text

    with pytest.raises(ftplib.error_perm, match="FTPS"), plain_ftp(ftp_server, ftp_user.username):
        pass
    click_and_wait(browser, browser.find_element(By.ID, "allow-plain-ftp"))
    assert "Plain FTP allowed" in browser.find_element(By.ID, "notice").text
    with plain_ftp(ftp_server, ftp_user.username) as ftp:
        assert ftp.pwd() == "/"
    click_and_wait(browser, browser.find_element(By.ID, "refuse-plain-ftp"))
    with pytest.raises(ftplib.error_perm, match="FTPS"), plain_ftp(ftp_server, ftp_user.username):
        pass


def _served_host_key(server: RunningServer) -> asyncssh.SSHKey:
    async def run() -> asyncssh.SSHKey:
        async with connect(server.port, "photographer", PASSWORD, server_host_key_algs=["ssh-ed25519"]) as conn:
            key = conn.get_server_host_key()
            assert key is not None
            return key

    return asyncio.run(run())


def test_the_connection_card_has_the_users_own_data_both_fingerprints_its_folders_and_copy_buttons(
    browser: WebDriver,
    width: str,
    live_server: LiveServer,
    sftp_server: RunningServer,
    ftp_server: RunningFTPServer,
    account: Account,
    ftp_user: FTPUser,
    planned_job: PhotoJob,
) -> None:
    from selenium.webdriver.common.by import By

    services.job_create(account=account, internal_name="job00002", status=PhotoJob.Status.ARCHIVED)
    served = _served_host_key(sftp_server)
    log_in(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/{ftp_user.username}/", "connection")
    card = browser.find_element(By.ID, "connection")
    assert browser.find_element(By.ID, "sftp-username").text == "photographer"
    assert "your FTP user name" not in card.text
    assert "SSH key added below" not in card.text  # no keys yet: nothing to point at
    keys = browser.find_element(By.ID, "host-keys").text
    assert served.get_fingerprint("sha256") in keys and served.get_fingerprint("md5") in keys
    assert browser.find_element(By.ID, "ftps-fingerprint").text.count(":") == 31
    folders = browser.find_element(By.ID, "seen-folders").text
    assert "/job00001/" in folders and "job00002" not in folders  # what the photographer lists now

    # Nothing is cut off at phone width: every fingerprint wraps inside the window.
    assert no_horizontal_scroll(browser)
    overflowing = browser.execute_script(
        "return [...document.querySelectorAll('code.fp')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length"
    )
    assert overflowing == 0
    screenshot(browser, f"settings-connection-card-{width}")

    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": live_server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    button = browser.find_element(By.CSS_SELECTOR, "#sftp-connection dd:has(#sftp-username) button.copy")
    button.click()
    wait_for(lambda: button.text == "Copied", timeout=10)
    copied = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], e => arguments[0]('!' + e))"
    )
    assert copied == "photographer"
