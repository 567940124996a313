"""Jobs, FTP users and accounts in the admin: jobs through ``jobs.services`` with their name rule as a
sentence; FTP users and accounts only shown (no password hash), their changes kept to the owners'
FTP settings page; the studio staff permissions that go with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.exceptions import Conflict, Invalid
from jobs.models import PhotoJob
from tests.admin.cast import Cast
from tests.admin.pages import parse, text

if TYPE_CHECKING:
    pass

JOBS, FTP_USERS, ACCOUNTS = "/admin/jobs/photojob/", "/admin/jobs/ftpuser/", "/admin/jobs/account/"


def new_job(cast: Cast, **fields: object) -> dict[str, object]:
    return {
        "account": cast.alpha.account.pk,
        "internal_name": "alphajob3",
        "title": "Alpha Fair",
        "status": "planned",
    } | fields


# --- jobs ---------------------------------------------------------------------------------------------


def test_staff_add_a_job_to_their_studio(staff: Client, cast: Cast) -> None:
    assert staff.post(f"{JOBS}add/", new_job(cast)).status_code == 302
    job = PhotoJob.objects.get(internal_name="alphajob3")
    assert (job.account, job.title, job.status) == (cast.alpha.account, "Alpha Fair", "planned")


def test_a_job_cannot_be_added_to_another_studio_by_a_forged_post(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{JOBS}add/", new_job(cast, account=cast.bravo.account.pk))
    assert "Select a valid choice" in text(response)
    assert "bravo" not in text(response).lower()
    assert not PhotoJob.objects.filter(internal_name="alphajob3").exists()


def test_a_job_cannot_be_moved_to_another_studio_by_a_forged_post(staff: Client, cast: Cast) -> None:
    job = cast.alpha.job
    data = {
        "account": cast.bravo.account.pk,
        "internal_name": job.internal_name,
        "title": "Moved?",
        "status": "planned",
    }
    assert staff.post(f"{JOBS}{job.pk}/change/", data).status_code == 302
    job.refresh_from_db()
    assert (job.account, job.title) == (cast.alpha.account, "Moved?")


def test_the_account_of_a_job_is_shown_but_not_editable(staff: Client, cast: Cast) -> None:
    page = staff.get(f"{JOBS}{cast.alpha.job.pk}/change/").content.decode()
    assert not [value for name, value in parse(page).choices if name == "account"]


def test_a_taken_job_name_is_refused_with_a_sentence_next_to_the_field(staff: Client, cast: Cast) -> None:
    response = staff.post(f"{JOBS}add/", new_job(cast, internal_name="alphajob1"))
    page = text(response)
    assert "The account already has a job named 'alphajob1'." in page
    assert "Constraint" not in page and "already exists" not in page

    closed = cast.alpha.closed_job
    data = {"internal_name": "alphajob1", "title": closed.title, "status": closed.status}
    page = text(staff.post(f"{JOBS}{closed.pk}/change/", data))
    assert "The account already has a job named 'alphajob1'." in page
    assert "Constraint" not in page
    closed.refresh_from_db()
    assert closed.internal_name == "alphajob2"


def test_a_job_name_only_another_studio_has_is_free(staff: Client, cast: Cast) -> None:
    assert staff.post(f"{JOBS}add/", new_job(cast, internal_name="bravojob1")).status_code == 302
    assert PhotoJob.objects.filter(internal_name="bravojob1").count() == 2


def test_a_job_name_breaking_the_rule_is_refused_with_the_rule(staff: Client, cast: Cast) -> None:
    page = text(staff.post(f"{JOBS}add/", new_job(cast, internal_name="../up")))
    assert "Job name '../up' is not allowed" in page
    assert "Constraint" not in page


def test_renaming_a_job_and_changing_its_status_go_through_the_services(staff: Client, cast: Cast) -> None:
    job = cast.alpha.job
    changed_before = job.status_changed_at
    data = {"internal_name": "alphajob1b", "title": "Alpha Gala 2", "status": "active"}
    assert staff.post(f"{JOBS}{job.pk}/change/", data).status_code == 302
    job.refresh_from_db()
    assert (job.internal_name, job.title, job.status) == ("alphajob1b", "Alpha Gala 2", "active")
    assert job.status_changed_at > changed_before  # job_set_status stamps it


def test_a_job_refusal_at_save_time_is_shown_as_its_sentence(
    staff: Client, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quicker(**kwargs: object) -> PhotoJob:
        raise Conflict("The account already has a job named 'alphajob9'.")

    monkeypatch.setattr(services, "job_update", quicker)
    job = cast.alpha.job
    data = {"internal_name": "alphajob9", "title": job.title, "status": job.status}
    response = staff.post(f"{JOBS}{job.pk}/change/", data, follow=True)
    assert response.status_code == 200
    assert "The account already has a job named 'alphajob9'." in text(response)
    job.refresh_from_db()
    assert job.internal_name == "alphajob1"


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_jobs_are_archived_never_deleted_in_the_admin(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    assert client.post(f"{JOBS}{cast.alpha.job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PhotoJob.objects.filter(pk=cast.alpha.job.pk).exists()


def test_job_update_keeps_the_name_rule_of_job_create(cast: Cast) -> None:
    job = cast.alpha.closed_job
    with pytest.raises(Conflict, match="already has a job named 'alphajob1'"):
        services.job_update(job=job, internal_name="alphajob1", title="x")
    with pytest.raises(Invalid, match="not allowed"):
        services.job_update(job=job, internal_name=".hidden", title="x")
    job.refresh_from_db()
    assert (job.internal_name, job.title) == ("alphajob2", "Alpha Archive")
    services.job_update(job=job, internal_name="bravojob2", title="Renamed")  # only Bravo has it: free
    job.refresh_from_db()
    assert (job.internal_name, job.title, job.status) == ("bravojob2", "Renamed", "archived")


def test_job_update_keeps_a_jobs_own_name(cast: Cast) -> None:
    job = services.job_update(job=cast.alpha.job, internal_name="alphajob1", title="Only the title")
    assert PhotoJob.objects.get(pk=job.pk).title == "Only the title"


# --- FTP users and accounts -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_no_admin_page_shows_an_ftp_users_password_hash(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    ftp_user = cast.alpha.ftp_user
    assert ftp_user.password.startswith("argon2$argon2id$")
    for url in (FTP_USERS, f"{FTP_USERS}{ftp_user.pk}/change/", f"{FTP_USERS}{ftp_user.pk}/history/"):
        page = text(client.get(url))
        assert "argon2" not in page and ftp_user.password not in page, url
    detail = text(client.get(f"{FTP_USERS}{ftp_user.pk}/change/"))
    assert "has a password" in detail.lower() and "yes" in detail


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_ftp_users_are_not_added_changed_or_deleted_in_the_admin(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    ftp_user = cast.alpha.ftp_user
    data = {"username": "alpha-renamed", "account": cast.alpha.account.pk, "is_active": ""}
    assert client.get(f"{FTP_USERS}add/").status_code == 403
    assert client.post(f"{FTP_USERS}{ftp_user.pk}/change/", data).status_code == 403
    assert client.post(f"{FTP_USERS}{ftp_user.pk}/delete/", {"post": "yes"}).status_code == 403
    ftp_user.refresh_from_db()
    assert (ftp_user.username, ftp_user.is_active) == ("alpha-photographer", True)


def test_renaming_onto_another_studios_ftp_user_name_is_not_even_possible(staff: Client, cast: Cast) -> None:
    data = {"username": cast.bravo.ftp_user.username, "account": cast.alpha.account.pk}
    response = staff.post(f"{FTP_USERS}{cast.alpha.ftp_user.pk}/change/", data)
    assert response.status_code == 403
    assert "bravo" not in text(response).lower()


def test_the_ftp_user_page_links_to_the_owners_settings_page(client: Client, cast: Cast) -> None:
    ftp_user = cast.alpha.ftp_user
    settings_page = reverse("jobs:ftp_user", kwargs={"account_id": ftp_user.account_id, "username": ftp_user.username})
    client.force_login(cast.alpha.staff)
    assert settings_page in parse(client.get(f"{FTP_USERS}{ftp_user.pk}/change/").content.decode()).links
    assert client.get(settings_page).status_code == 404  # staff do not manage FTP users
    client.force_login(cast.alpha.owner)
    assert client.get(settings_page).status_code == 200


def test_ssh_keys_are_shown_read_only(staff: Client, cast: Cast) -> None:
    page = text(staff.get(f"{FTP_USERS}{cast.alpha.ftp_user.pk}/change/"))
    assert "alpha@laptop" in page and "SHA256:" in page
    assert 'name="ssh_keys-0-comment"' not in page and 'name="ssh_keys-0-DELETE"' not in page


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_accounts_are_only_shown_in_the_admin(client: Client, cast: Cast, who: str) -> None:
    client.force_login(cast.alpha.staff if who == "staff" else cast.superuser)
    account = cast.alpha.account
    assert client.get(f"{ACCOUNTS}add/").status_code == 403
    client.post(f"{ACCOUNTS}{account.pk}/change/", {"name": "Renamed"})
    account.refresh_from_db()
    assert account.name != "Renamed"
    page = text(client.get(f"{ACCOUNTS}{account.pk}/change/"))
    assert "alpha-staff" in page
    # Members: changed by operators here (tests/web/test_members_page.py), by owners on the members page.
    editable = 'name="memberships-0-role"' in page and 'name="memberships-0-user"' in page
    assert editable == (who == "superuser")


def test_studio_staff_may_manage_albums_but_not_ftp_users(cast: Cast) -> None:
    staff = type(cast.alpha.staff).objects.get(pk=cast.alpha.staff.pk)  # fresh: permissions are cached
    assert not staff.has_perm("jobs.change_ftpuser")
    assert staff.has_perm("jobs.view_ftpuser")
    assert all(staff.has_perm(f"albums.{p}_album") for p in ("view", "add", "change", "delete"))


def test_the_studio_staff_group_holds_exactly_the_listed_permissions(cast: Cast) -> None:
    group = cast.alpha.staff.groups.get(name=services.STUDIO_STAFF_GROUP)
    group.permissions.add(Permission.objects.get(codename="change_ftpuser"))  # as an older version gave it
    services.account_add_member(account=cast.alpha.account, user=cast.alpha.staff, role="staff")
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert held == set(services.STUDIO_STAFF_PERMISSIONS)
