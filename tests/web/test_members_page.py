"""Onboarding without Python, in a real browser: an owner made with ``account add-member`` logs in,
invites staff from the settings area, the invited person sets a password through the one-time link,
logs in as staff and is offered nothing an owner alone may do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from audit.models import AuditEvent
from jobs import selectors, services
from jobs.models import Account
from tests.conftest import PASSWORD
from tests.jobs.test_commands import manage
from tests.web.conftest import click_and_wait, log_in, no_horizontal_scroll, open_page, screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.django_db(transaction=True)


def _view_site(browser: WebDriver) -> str:
    """The admin's "View site" link, where both roles land."""
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.CSS_SELECTOR, "#user-tools a[href='/accounts/']").get_attribute("href"))


def test_an_owner_from_the_command_line_invites_staff_who_sets_a_password_and_logs_in(
    browser: WebDriver, live_server: LiveServer, width: str
) -> None:
    from selenium.webdriver.common.by import By

    account = services.account_create(name="Sunshine Studio")
    made = manage(
        "account", "add-member", "Sunshine Studio", "olivia", "--role", "owner", "--password-stdin", stdin=PASSWORD
    )
    assert made.returncode == 0, made.stderr

    log_in(browser, live_server, "olivia")
    open_page(browser, _view_site(browser), "members-link")
    open_page(browser, str(browser.find_element(By.ID, "members-link").get_attribute("href")), "invite")
    browser.find_element(By.NAME, "username").send_keys("sam")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#invite button[value=invite]"))
    link = str(browser.find_element(By.ID, "set-password-link").get_attribute("value"))
    assert "/accounts/set-password/" in link
    assert "sam" in browser.find_element(By.ID, "member-sam").text
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"members-invite-{width}")

    browser.delete_all_cookies()
    open_page(browser, link, "id_new_password1")
    browser.find_element(By.ID, "id_new_password1").send_keys(PASSWORD)
    browser.find_element(By.ID, "id_new_password2").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    assert browser.find_element(By.ID, "login-link")
    assert no_horizontal_scroll(browser)
    open_page(browser, link, "content")  # used: it works once
    assert not browser.find_elements(By.ID, "id_new_password1")

    log_in(browser, live_server, "sam")
    admin_home = browser.page_source
    assert "Audit" not in admin_home  # the audit log is the owners'
    assert "/accounts/" in _view_site(browser)
    open_page(browser, _view_site(browser), "content")
    page = browser.page_source
    assert "You do not manage any studio" not in page
    assert not browser.find_elements(By.ID, "members-link")
    assert no_horizontal_scroll(browser)
    screenshot(browser, f"members-staff-view-site-{width}")
    browser.get(f"{live_server.url}/accounts/{account.pk}/members/")
    assert not browser.find_elements(By.ID, "invite")  # a staff member reaches no members page

    sam = User.objects.get(username="sam")
    assert selectors.role_of(sam, account) == "staff"
    invited = AuditEvent.objects.get(action="membership.add", object_repr__startswith="sam ")
    assert (invited.actor_kind, invited.actor_name, invited.address) == ("staff", "olivia", "127.0.0.1")
    password_set = AuditEvent.objects.get(action="user.set_password")
    assert (password_set.actor_name, password_set.account_id) == ("sam", None)


def test_owners_change_roles_and_remove_members_but_not_the_last_owner(account: Account, owner: User) -> None:
    staff = User.objects.create_user(username="sam", password=PASSWORD)
    membership = services.account_add_member(account=account, user=staff, role="staff")
    own = account.memberships.get(user=owner)
    client = Client()
    client.force_login(owner)
    url = f"/accounts/{account.pk}/members/"

    refused = client.post(url, {"action": "role", "member": own.pk, "role": "staff"})
    assert "last owner" in refused.content.decode()
    assert selectors.is_owner(owner, account)

    client.post(url, {"action": "role", "member": membership.pk, "role": "owner"})
    assert selectors.is_owner(staff, account)
    client.post(url, {"action": "remove", "member": membership.pk})
    assert selectors.role_of(staff, account) is None

    client.force_login(staff)
    assert client.get(url).status_code == 404


def test_a_set_password_link_is_made_only_for_a_login_without_a_password(account: Account, owner: User) -> None:
    other = User.objects.create_user(username="otto", password=PASSWORD)
    client = Client()
    client.force_login(owner)
    url = f"/accounts/{account.pk}/members/"
    page = client.post(url, {"action": "invite", "username": "otto", "role": "staff"}).content.decode()
    assert "set-password-link" not in page
    assert "already has a login" in page
    membership = account.memberships.get(user=other)
    page = client.post(url, {"action": "link", "member": membership.pk}).content.decode()
    assert "set-password-link" not in page


def test_a_membership_added_by_an_operator_in_the_admin_lets_that_person_log_in(
    account: Account, admin_client: Client
) -> None:
    person = User.objects.create_user(username="sam", password=PASSWORD)
    response = admin_client.post(
        f"/admin/jobs/account/{account.pk}/change/",
        {
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(account.memberships.get().pk),
            "memberships-0-account": str(account.pk),
            "memberships-0-user": str(account.memberships.get().user_id),
            "memberships-0-role": "owner",
            "memberships-1-account": str(account.pk),
            "memberships-1-user": str(person.pk),
            "memberships-1-role": "staff",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client = Client()
    assert client.login(username="sam", password=PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert selectors.role_of(person, account) == "staff"
