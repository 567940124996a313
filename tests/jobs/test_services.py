"""Accounts, FTP users, SSH keys and jobs through their services, on the real database."""

from __future__ import annotations

import asyncssh
import pytest
from django.db import IntegrityError, transaction

from jobs import services
from jobs.exceptions import Conflict, Invalid
from jobs.models import Account, FTPUser, PhotoJob
from tests.conftest import PASSWORD


def test_it_stores_only_a_password_hash(ftp_user: FTPUser) -> None:
    assert PASSWORD not in ftp_user.password
    assert ftp_user.password.startswith("argon2$argon2id$")


def test_it_authenticates_the_right_password_only(ftp_user: FTPUser) -> None:
    assert services.ftp_user_authenticate_password(username="photographer", password=PASSWORD) == ftp_user
    assert services.ftp_user_authenticate_password(username="PHOTOGRAPHER", password=PASSWORD) == ftp_user
    assert services.ftp_user_authenticate_password(username="photographer", password="wrong") is None


def test_it_refuses_unknown_and_inactive_users(ftp_user: FTPUser) -> None:
    assert services.ftp_user_authenticate_password(username="nobody", password=PASSWORD) is None
    assert services.ftp_user_authenticate_password(username="../etc", password=PASSWORD) is None
    services.ftp_user_set_active(ftp_user=ftp_user, is_active=False)
    assert services.ftp_user_authenticate_password(username="photographer", password=PASSWORD) is None


def test_a_user_without_password_cannot_log_in_with_an_empty_one(account: Account) -> None:
    services.ftp_user_create(account=account, username="camera-1")
    assert services.ftp_user_authenticate_password(username="camera-1", password="") is None


@pytest.mark.parametrize("name", ["ab", "Anna Smith", "anna/x", "x" * 65, "émile"])
def test_it_rejects_bad_usernames(account: Account, name: str) -> None:
    with pytest.raises(Invalid):
        services.ftp_user_create(account=account, username=name, password=PASSWORD)


def test_usernames_are_unique_across_the_server_ignoring_case(ftp_user: FTPUser, outsider_account: Account) -> None:
    with pytest.raises(Conflict):
        services.ftp_user_create(account=outsider_account, username="Photographer", password=PASSWORD)


def test_the_database_refuses_a_username_the_service_would_refuse(account: Account) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        FTPUser.objects.create(account=account, username="Bad Name")


def test_it_rejects_short_passwords(ftp_user: FTPUser) -> None:
    with pytest.raises(Invalid):
        services.ftp_user_set_password(ftp_user=ftp_user, password="short")


def test_it_adds_an_ssh_key_with_its_sha256_fingerprint(ftp_user: FTPUser) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="anna@laptop")
    line = key.export_public_key().decode()
    stored = services.ssh_key_add(ftp_user=ftp_user, public_key=line)
    assert stored.fingerprint == key.get_fingerprint("sha256")
    assert stored.comment == "anna@laptop"
    assert stored.key_type == "ssh-ed25519"
    with pytest.raises(Conflict):
        services.ssh_key_add(ftp_user=ftp_user, public_key=line)


def test_it_rejects_weak_or_broken_keys(ftp_user: FTPUser) -> None:
    weak = asyncssh.generate_private_key("ssh-rsa", key_size=1024).export_public_key().decode()
    with pytest.raises(Invalid, match="2048"):
        services.ssh_key_add(ftp_user=ftp_user, public_key=weak)
    with pytest.raises(Invalid):
        services.ssh_key_add(ftp_user=ftp_user, public_key="ssh-ed25519 not-base64")


def test_it_creates_jobs_with_safe_folder_names(account: Account) -> None:
    job = services.job_create(account=account, internal_name="job00001")
    assert job.status == PhotoJob.Status.PLANNED
    for bad in ["..", ".hidden", "a/b", "job 1", ""]:
        with pytest.raises(Invalid):
            services.job_create(account=account, internal_name=bad)
    with pytest.raises(Conflict):
        services.job_create(account=account, internal_name="job00001")


def test_the_same_job_name_may_exist_in_two_accounts(account: Account, outsider_account: Account) -> None:
    services.job_create(account=account, internal_name="job00001")
    assert services.job_create(account=outsider_account, internal_name="job00001").pk


def test_it_changes_a_job_status_and_refuses_unknown_ones(planned_job: PhotoJob) -> None:
    services.job_set_status(job=planned_job, status="active")
    planned_job.refresh_from_db()
    assert planned_job.status == "active"
    with pytest.raises(Invalid):
        services.job_set_status(job=planned_job, status="closed")
