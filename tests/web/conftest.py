"""A real browser for the web tests: Debian's Chromium, headless, driven through chromedriver."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.conftest import PASSWORD
from tests.helpers import require_program

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement


@pytest.fixture
def browser() -> Iterator[WebDriver]:
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
        f"--user-data-dir={profile}", "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def log_in(browser: WebDriver, live_server: LiveServer, username: str = "olivia") -> None:
    """Log in through the admin login form, as a person does."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "Site administration" in b.title)


def click_and_wait(browser: WebDriver, element: WebElement) -> None:
    """Click a submit button and wait until the next page has replaced this one.

    Chromium answers a question about the old page's element either "stale" or, while it is
    swapping documents, "Node ... does not belong to the document": both mean it was replaced.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_: WebDriver) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" not in str(exc):
                raise
            return True
        return False

    WebDriverWait(browser, 20).until(replaced)


def open_page(browser: WebDriver, url: str, ready_id: str) -> None:
    """Load a page (following redirects) and wait until the element ``ready_id`` is in the final document.

    Chromium may still be swapping documents after a redirect when ``get`` returns; reading an
    element then fails with "Node ... does not belong to the document".
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script("return document.readyState") == "complete" and b.find_element(By.ID, ready_id)
    )


# Where browser tests save their screenshots: CI keeps this folder as an artifact.
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
WIDTHS = {"desktop": (1400, 1000), "phone": (390, 844)}


def screenshot(browser: WebDriver, name: str) -> Path:
    """Save the whole page as ``SCREENSHOT_DIR/name.png`` and return the path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


@pytest.fixture(params=sorted(WIDTHS))
def width(request: pytest.FixtureRequest, browser: WebDriver) -> str:
    """Run a browser test at desktop and at phone width; the value names the width for screenshots."""
    browser.set_window_size(*WIDTHS[request.param])
    return str(request.param)


def no_horizontal_scroll(browser: WebDriver) -> bool:
    """The page fits the window's width (nothing cut off or scrolled sideways on a phone)."""
    return bool(browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))
