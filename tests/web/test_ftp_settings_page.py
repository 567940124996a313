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
from tests.helpers import connect, require_program
from tests.web.conftest import click_and_wait, log_in, open_page

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

    click_and_wait(browser, browser.find_element(By.ID, "deactivate"))
    assert "deactivated" in browser.find_element(By.ID, "notice").text
    with pytest.raises(asyncssh.PermissionDenied):
        _can_list_jobs(sftp_server.port, ftp_user.username, password=PASSWORD)


def test_only_owners_of_the_studio_reach_its_settings(
    client: Client, account: Account, outsider_account: Account, django_user_model: type[User]
) -> None:
    assert client.get(f"/accounts/{account.pk}/ftp/").status_code == 302  # login first
    staff = django_user_model.objects.create_user(username="sam", password=PASSWORD)
    services.account_add_member(account=account, user=staff, role="staff")
    client.force_login(staff)
    assert client.get(f"/accounts/{account.pk}/ftp/").status_code == 404
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
