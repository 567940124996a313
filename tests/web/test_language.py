"""The pages in German for a German browser, and the language switch (DESIGN §6), in a real Chromium that
asks for German (``--lang=de``, Accept-Language de): the login, the admin, the settings pages; the switch
to English sticks from page to page; an owner sets the studio's time zone and language."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from pytest_django.live_server_helper import LiveServer

from jobs.models import Account, PhotoJob
from tests.conftest import PASSWORD
from tests.helpers import require_program
from tests.web.conftest import click_and_wait, no_horizontal_scroll, open_page, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Chromium as a German-speaking studio has it: German interface, German first in Accept-Language."""
    chromium = require_program("chromium", "chromium")
    driver_path = require_program("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1400,1000", "--lang=de",
    ):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "de-DE,de"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def page_language(browser: WebDriver) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.TAG_NAME, "html").get_attribute("lang"))


def log_in_german(browser: WebDriver, live_server: LiveServer) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, f"{live_server.url}/admin/login/", "login-form")
    assert page_language(browser) == "de"
    assert "Anmelden" in browser.page_source
    browser.find_element(By.NAME, "username").send_keys("olivia")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]"))
    assert "Website-Verwaltung" in browser.title


def switch_to(browser: WebDriver, language: str) -> None:
    from selenium.webdriver.common.by import By

    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, f".language-switch button[value={language}]"))


def test_a_german_browser_gets_german_pages_and_the_switch_to_english_sticks(
    browser: WebDriver, live_server: LiveServer, account: Account, planned_job: PhotoJob, width: str
) -> None:
    from selenium.webdriver.common.by import By

    log_in_german(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/ftp/", "content")
    assert page_language(browser) == "de"
    assert "FTP-Benutzer" in browser.find_element(By.ID, "content").text
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"language-settings-de-{width}")

    switch_to(browser, "en")
    assert page_language(browser) == "en"
    assert browser.current_url.endswith(f"/accounts/{account.pk}/ftp/")  # the switch returns to the same page
    assert "FTP users" in browser.find_element(By.ID, "content").text

    open_page(browser, f"{live_server.url}/admin/", "content")  # another page: still English
    assert page_language(browser) == "en" and "Site administration" in browser.title
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"language-admin-en-{width}")

    switch_to(browser, "de")
    assert page_language(browser) == "de" and "Website-Verwaltung" in browser.title


def test_an_owner_sets_the_studios_time_zone_and_language_on_the_account_page(
    browser: WebDriver, live_server: LiveServer, account: Account, width: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    log_in_german(browser, live_server)
    open_page(browser, f"{live_server.url}/accounts/{account.pk}/settings/", "account-settings")
    assert "Studio-Einstellungen von Sunshine Studio" in browser.page_source
    Select(browser.find_element(By.CSS_SELECTOR, "#account-settings select[name=time_zone]")).select_by_value(
        "America/New_York"
    )
    Select(browser.find_element(By.CSS_SELECTOR, "#account-settings select[name=language]")).select_by_value("de")
    assert no_horizontal_scroll(browser)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#account-settings [type=submit]"))
    assert "Zeitzone und Sprache des Studios wurden gespeichert." in browser.page_source
    screenshot(browser, f"account-settings-de-{width}")

    account.refresh_from_db()
    assert (account.time_zone, account.language) == ("America/New_York", "de")
    selected = Select(
        browser.find_element(By.CSS_SELECTOR, "#account-settings select[name=time_zone]")
    ).first_selected_option
    assert selected.get_attribute("value") == "America/New_York"
