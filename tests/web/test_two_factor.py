"""Two-factor login (TOTP): an owner turns it on through the page by scanning the QR code and typing
a code (computed here as the app would), after which the admin login asks for the code; a wrong
code is refused and counts against the login guard, the right one logs in. Superusers too; users
without it log in as before.
"""

from __future__ import annotations

import re
import time
import uuid
from base64 import b32decode
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from audit.models import AuditEvent
from jobs.models import Account
from tests.conftest import PASSWORD
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot
from tests.web.csp import violations, watch_csp
from webauth import services

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_guard(settings: Settings) -> None:
    settings.LOGIN_REDIS_PREFIX = f"web-test-{uuid.uuid4().hex[:8]}:"
    settings.LOGIN_BAN_USER_FAILURES = 5
    settings.LOGIN_BAN_ADDRESS_FAILURES = 30


def code(key: bytes, ahead: int = 0) -> str:
    """What an authenticator app shows now (``ahead``: that many 30-second steps later)."""
    return f"{totp(key, drift=ahead):06d}"


def _key_on_page(text: str) -> bytes:
    secret = "".join(text.split())
    return b32decode(secret + "=" * (-len(secret) % 8))


def test_an_owner_turns_two_factor_login_on_and_the_login_then_asks_for_the_code(
    browser: WebDriver, width: str, live_server: LiveServer, account: Account
) -> None:
    from selenium.webdriver.common.by import By

    watch_csp(browser)
    log_in(browser, live_server)
    browser.find_element(By.ID, "two-factor-link").click()
    open_page(browser, browser.current_url, "two-factor-state")
    assert "Two-factor login is off." in browser.find_element(By.ID, "two-factor-state").text
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#two-factor-begin input[type=submit]"))
    qr = browser.find_element(By.ID, "two-factor-qr")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", qr) > 0
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"two-factor-setup-{width}")
    key = _key_on_page(browser.find_element(By.ID, "two-factor-secret").text)

    browser.find_element(By.NAME, "code").send_keys("000000" if code(key) != "000000" else "111111")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm input[type=submit]"))
    assert "That code is not right" in browser.page_source
    time.sleep(1.2)  # django-otp waits a second after a wrong code
    browser.find_element(By.NAME, "code").clear()
    browser.find_element(By.NAME, "code").send_keys(code(key))
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#two-factor-confirm input[type=submit]"))
    assert "Two-factor login is on." in browser.find_element(By.ID, "two-factor-state").text
    assert violations(browser) == []
    screenshot(browser, f"two-factor-on-{width}")

    browser.delete_all_cookies()
    open_page(browser, f"{live_server.url}/admin/login/", "login-form")
    browser.find_element(By.NAME, "username").send_keys("olivia")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#login-form input[type=submit]"))
    assert browser.find_element(By.ID, "code-form")  # not logged in yet: the code is asked for
    assert "olivia" in browser.find_element(By.ID, "code-intro").text
    assert violations(browser) == []
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"two-factor-login-{width}")
    assert Client(HTTP_COOKIE=_cookies(browser)).get("/admin/").status_code == 302

    browser.find_element(By.NAME, "code").send_keys("123456" if code(key, 1) != "123456" else "654321")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#code-form input[type=submit]"))
    assert "That code is not right" in browser.page_source
    time.sleep(1.2)
    browser.find_element(By.NAME, "code").clear()
    browser.find_element(By.NAME, "code").send_keys(code(key, 1))
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#code-form input[type=submit]"))
    assert "Site administration" in browser.title


def _cookies(browser: WebDriver) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())


def _turn_on(user: User) -> bytes:
    device = services.two_factor_begin(user=user)
    assert services.two_factor_confirm(user=user, device=device, code=code(device.bin_key))
    return bytes(device.bin_key)


def _password(client: Client, username: str) -> str:
    response = client.post(reverse("admin:login"), {"username": username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    return str(response["Location"])


def test_a_superuser_with_two_factor_login_needs_the_code_and_wrong_codes_count_as_failed_logins(
    settings: Settings, django_user_model: type[User]
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the guard's count, not django-otp's delay, is what this is about
    root = django_user_model.objects.create_superuser(username="root", password=PASSWORD, email="")
    key = _turn_on(root)
    client = Client()
    assert _password(client, "root") == reverse("webauth:login_code")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # not logged in before the code

    for n in range(5):
        page = client.post(reverse("webauth:login_code"), {"code": f"{n:06d}"}).content.decode()
        assert "That code is not right" in page
    page = client.post(reverse("webauth:login_code"), {"code": code(key, 1)}).content.decode()
    assert "Too many failed logins" in page  # five wrong codes pause root at this address, as passwords do
    assert "_auth_user_id" not in client.session
    again = client.post(reverse("admin:login"), {"username": "root", "password": PASSWORD})
    assert "Too many failed logins" in again.content.decode()


def test_the_right_code_logs_in_and_lands_where_the_login_was_asked_for(django_user_model: type[User]) -> None:
    root = django_user_model.objects.create_superuser(username="root", password=PASSWORD, email="")
    key = _turn_on(root)
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": "root", "password": PASSWORD, "next": "/admin/auth/user/"}
    )
    assert response["Location"] == reverse("webauth:login_code")
    response = client.post(reverse("webauth:login_code"), {"code": code(key, 1)})
    assert response.status_code == 302 and response["Location"] == "/admin/auth/user/"
    assert client.get("/admin/auth/user/").status_code == 200


def test_the_code_page_without_a_password_first_sends_back_to_the_login(account: Account) -> None:
    response = Client().get(reverse("webauth:login_code"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:login")
    assert "log in with your user name and password first" in response.content.decode()


def test_turning_it_on_logs_out_the_other_sessions_but_not_this_one(owner: User, account: Account) -> None:
    elsewhere, here = Client(), Client()
    _password(elsewhere, "olivia")
    _password(here, "olivia")
    assert elsewhere.get("/admin/").status_code == 200

    page = here.post(reverse("webauth:two_factor"), {"begin": "1"}, follow=True).content.decode()
    match = re.search(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match is not None
    key = _key_on_page(match.group(1))
    here.post(reverse("webauth:two_factor"), {"code": code(key)})
    assert services.two_factor_device(owner) is not None
    assert AuditEvent.objects.filter(action="user.two_factor_on", account=account, actor_name="olivia").exists()

    assert here.get("/admin/").status_code == 200
    response = elsewhere.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "please log in again with your code" in response.content.decode()


def test_turning_it_off_takes_a_code_and_then_the_password_is_enough(owner: User, account: Account) -> None:
    key = _turn_on(owner)
    client = Client()
    _password(client, "olivia")
    client.post(reverse("webauth:login_code"), {"code": code(key, 1)})
    page = client.post(reverse("webauth:two_factor"), {"code": "12345x"}).content.decode()
    assert "digits only" in page and services.two_factor_device(owner) is not None
    time.sleep(1.2)
    client.post(reverse("webauth:two_factor"), {"code": code(key, 2)})
    assert services.two_factor_device(owner) is None
    assert AuditEvent.objects.filter(action="user.two_factor_off", account=account).exists()
    assert _password(Client(), "olivia") == "/admin/"


def test_users_without_it_log_in_with_the_password_alone(owner: User, account: Account) -> None:
    assert _password(Client(), "olivia") == "/admin/"


def test_an_operator_turns_it_off_for_a_lost_phone(owner: User, account: Account) -> None:
    from io import StringIO

    from django.core.management import call_command

    _turn_on(owner)
    out = StringIO()
    call_command("twofactor", "off", "olivia", stdout=out)
    assert "Two-factor login of olivia is off." in out.getvalue()
    assert services.two_factor_device(owner) is None
    event = AuditEvent.objects.get(action="user.two_factor_off", account=account)
    assert event.actor_name.startswith("manage.py")
    assert _password(Client(), "olivia") == "/admin/"
