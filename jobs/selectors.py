"""Reads for accounts, FTP users and jobs, by the names operators and photographers use."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from jobs.exceptions import NotFound
from jobs.models import Account, FTPUser, PhotoJob, SSHKey


def account_get(*, name: str) -> Account:
    try:
        return Account.objects.get(name=name)
    except Account.DoesNotExist:
        raise NotFound(f"There is no account named {name!r}.") from None


def ftp_user_get(*, username: str) -> FTPUser:
    try:
        return FTPUser.objects.select_related("account").get(username=username.strip().lower())
    except FTPUser.DoesNotExist:
        raise NotFound(f"There is no FTP user named {username!r}.") from None


def ftp_user_keys(*, username: str) -> list[SSHKey]:
    """The SSH keys an active FTP user may log in with (empty for unknown or inactive users)."""
    return list(SSHKey.objects.filter(ftp_user__username=username.lower(), ftp_user__is_active=True))


def job_get(*, account: Account, internal_name: str) -> PhotoJob:
    try:
        return PhotoJob.objects.get(account=account, internal_name=internal_name)
    except PhotoJob.DoesNotExist:
        raise NotFound(f"The account {account.name!r} has no job named {internal_name!r}.") from None


def planned_jobs(*, account_id: int) -> QuerySet[PhotoJob]:
    """The jobs an FTP user of this account sees as folders over SFTP."""
    return PhotoJob.objects.filter(account_id=account_id, status=PhotoJob.Status.PLANNED)


def accounts_managed_by(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The studios whose FTP users this person may manage: owners of the studio, and superusers."""
    if getattr(user, "is_superuser", False):
        return Account.objects.all()
    return Account.objects.filter(memberships__user_id=signed_in(user), memberships__role="owner")


def signed_in(user: AbstractBaseUser | AnonymousUser) -> int:
    """The id of a logged-in user (the views that ask are behind a login)."""
    assert user.pk is not None, "a view behind a login got an anonymous user"
    return int(user.pk)


def ftp_users_of(*, account: Account) -> QuerySet[FTPUser]:
    return account.ftp_users.prefetch_related("ssh_keys").order_by("username")
