"""Web security: the login guard on the admin login, security headers, the Content-Security-Policy
in a real Chromium on every kind of page, and sessions that end.

The login tests post to the real admin login (Django's test client for the counting, Chromium for
what a person reads): 25 wrong passwords pause that user name at that address, the right password is
then refused with a sentence that says so, a colleague at the same address (a school's shared
connection) still logs in, and once the pause is over the owner does too.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from albums.models import Album
from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from tests.conftest import PASSWORD
from tests.web.conftest import click_and_wait, log_in, open_page, screenshot
from tests.web.csp import violations, watch_csp

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)

PAUSED = "Too many failed logins"
WRONG = "Please enter the correct username and password"


@pytest.fixture(autouse=True)
def _own_guard(settings: Settings) -> None:
    """A guard of this test's own (its own Redis keys), with the doors' thresholds: 5 per name, 30 per address."""
    settings.LOGIN_REDIS_PREFIX = f"web-test-{uuid.uuid4().hex[:8]}:"
    settings.LOGIN_BAN_USER_FAILURES = 5
    settings.LOGIN_BAN_ADDRESS_FAILURES = 30
    settings.LOGIN_BAN_WINDOW = 600


@pytest.fixture
def colleague(account: Account, django_user_model: type[User]) -> User:
    user = django_user_model.objects.create_user(username="sam", password=PASSWORD, is_staff=True)
    services.account_add_member(account=account, user=user, role="staff")
    return user


def _post_login(client: Client, username: str, password: str) -> tuple[int, str]:
    response = client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"})
    return response.status_code, response.content.decode()


def test_25_wrong_passwords_pause_that_name_but_not_a_colleague_at_the_same_address(
    settings: Settings, account: Account, colleague: User
) -> None:
    settings.LOGIN_BAN_SECONDS = 3
    client = Client()
    answers = [_post_login(client, "olivia", f"wrong {n}") for n in range(25)]
    assert {status for status, _ in answers} == {200}
    assert [WRONG in page for _, page in answers] == [True] * 5 + [False] * 20
    assert all(PAUSED in page for _, page in answers[5:])
    assert "paused for 3 seconds" in answers[-1][1]

    status, page = _post_login(client, "olivia", PASSWORD)
    assert status == 200 and PAUSED in page  # the right password too, while the pause lasts
    assert "_auth_user_id" not in client.session

    status, _ = _post_login(Client(), "sam", PASSWORD)  # same address (127.0.0.1), another name
    assert status == 302

    time.sleep(3.5)
    status, _ = _post_login(client, "olivia", PASSWORD)
    assert status == 302
    assert client.get("/admin/").status_code == 200


def test_many_names_failing_from_one_address_pause_the_address(
    settings: Settings, account: Account, colleague: User
) -> None:
    settings.LOGIN_BAN_ADDRESS_FAILURES = 8
    client = Client()
    for n in range(8):
        _post_login(client, f"guess{n}", "password123")
    status, page = _post_login(client, "sam", PASSWORD)
    assert status == 200 and PAUSED in page
    status, page = _post_login(Client(REMOTE_ADDR="192.0.2.7"), "sam", PASSWORD)
    assert status == 302  # from another address sam is welcome


def test_a_right_password_forgets_the_earlier_failures(account: Account) -> None:
    client = Client()
    for n in range(4):
        _post_login(client, "olivia", f"wrong {n}")
    assert _post_login(client, "olivia", PASSWORD)[0] == 302
    client.logout()
    for n in range(4):
        _post_login(client, "olivia", f"wrong again {n}")
    assert _post_login(client, "olivia", PASSWORD)[0] == 302


def test_behind_the_proxy_logins_are_counted_per_forwarded_address(settings: Settings, account: Account) -> None:
    settings.WEB_BEHIND_PROXY = True
    school = Client(HTTP_X_FORWARDED_FOR="198.51.100.4")
    for n in range(5):
        _post_login(school, "olivia", f"wrong {n}")
    assert PAUSED in _post_login(school, "olivia", PASSWORD)[1]
    # The proxy's own address is the same for everyone; the pause is the school's only.
    assert _post_login(Client(HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.9"), "olivia", PASSWORD)[0] == 302


def test_the_login_page_says_the_pause_in_words(
    browser: WebDriver, width: str, live_server: LiveServer, settings: Settings, account: Account
) -> None:
    from selenium.webdriver.common.by import By

    for attempt in range(6):
        open_page(browser, f"{live_server.url}/admin/login/", "login-form")
        browser.find_element(By.NAME, "username").send_keys("olivia")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD if attempt == 5 else f"wrong {attempt}")
        click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#login-form input[type=submit]"))
    note = browser.find_element(By.CSS_SELECTOR, ".errornote").text
    assert "Too many failed logins. Logging in is paused for 15 minutes" in note
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(browser, f"login-paused-{width}")


# --- headers -----------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(account: Account) -> None:
    response = Client().get("/admin/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert "Strict-Transport-Security" not in response  # plain HTTP: no HSTS


def test_over_https_cookies_are_secure_and_hsts_is_announced(settings: Settings, account: Account) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    client = Client()
    page = client.get("/admin/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000"
    assert page.cookies["csrftoken"]["secure"]
    response = client.post("/admin/login/", {"username": "olivia", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time(settings: Settings, account: Account) -> None:
    settings.WEB_SESSION_IDLE_SECONDS = 1
    client = Client()
    assert _post_login(client, "olivia", PASSWORD)[0] == 302
    assert client.get("/admin/").status_code == 200
    time.sleep(1.5)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "after a while without activity" in response.content.decode()


def test_a_session_ends_a_working_day_after_login_however_busy(settings: Settings, account: Account) -> None:
    client = Client()
    assert _post_login(client, "olivia", PASSWORD)[0] == 302
    session = client.session
    session["webauth.login_at"] = time.time() - settings.SESSION_COOKIE_AGE - 1
    session.save()
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "Your login has expired" in response.content.decode()


# --- the Content-Security-Policy in Chromium ---------------------------------------------------


@pytest.fixture
def superuser(django_user_model: type[User], account: Account) -> User:
    return django_user_model.objects.create_superuser(username="root", password=PASSWORD, email="")


@pytest.fixture
def cast(account: Account, planned_job: PhotoJob, album: Album, ftp_user: FTPUser) -> Account:
    """A studio with a planned job, an album and an FTP user, so every changelist has a row to open."""
    return account


def _admin_pages(live_server: LiveServer) -> list[str]:
    """The admin index, and each registered model's changelist, add form and first change form."""
    pages = [f"{live_server.url}/admin/"]
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}/"
        pages.append(base)
        first = model_admin.get_queryset(_superuser_request()).order_by("pk").first()
        if first is not None:
            pages.append(f"{base}{first.pk}/change/")
        pages.append(f"{base}add/")
    return pages


def _superuser_request() -> HttpRequest:
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(is_superuser=True)
    return request


def test_the_pages_pass_the_content_security_policy(
    browser: WebDriver, width: str, live_server: LiveServer, cast: Account, superuser: User
) -> None:
    watch_csp(browser)
    open_page(browser, f"{live_server.url}/admin/login/", "login-form")
    assert violations(browser) == []
    log_in(browser, live_server, "root")
    pages = [
        *_admin_pages(live_server),
        f"{live_server.url}/accounts/",
        f"{live_server.url}/accounts/{cast.pk}/ftp/",
        f"{live_server.url}/accounts/{cast.pk}/ftp/photographer/",
        f"{live_server.url}/accounts/{cast.pk}/cameras/",
        f"{live_server.url}/admin/two-factor/",
        f"{live_server.url}/admin/password_change/",
    ]
    found: dict[str, list[str]] = {}
    shown = 0
    for url in pages:
        browser.get(url)
        assert "/admin/login/" not in browser.current_url, url
        shown += "Forbidden" not in browser.title  # an add form a model has none of answers 403
        seen = violations(browser)
        if seen:
            found[url] = seen
    assert found == {}
    assert shown > 20
    print(f"{shown} pages shown, {len(pages) - shown} forbidden")


def test_the_csp_watch_sees_an_inline_script(browser: WebDriver, live_server: LiveServer, account: Account) -> None:
    """The check above can fail: an inline script slipped into a page is reported."""
    watch_csp(browser)
    open_page(browser, f"{live_server.url}/admin/login/", "login-form")
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.appendChild(s);"
    )
    assert any("script-src" in v for v in violations(browser))
    assert browser.execute_script("return window.ran") is None
