"""Reads for accounts, FTP users and jobs, by the names operators and photographers use."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from jobs.exceptions import NotFound
from jobs.models import Account, FTPUser, Membership, PhotoJob, SSHKey


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


# --- roles (DESIGN §6): the one place that says who may do what in a studio ----------------------
#
# An account's owners manage its FTP users, devices and members; its staff (owners too) manage jobs,
# albums, photos, subjects and uploads. Superusers are the operators: they may do everything everywhere.
# Views, the admin and the templates ask these functions, never ``Membership.role`` themselves.


def role_of(user: AbstractBaseUser | AnonymousUser, account: Account | int) -> str | None:
    """``"owner"``, ``"staff"`` or None (no place in this account); a superuser counts as an owner everywhere."""
    if not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "is_superuser", False):
        return Membership.Role.OWNER
    account_id = account if isinstance(account, int) else account.pk
    return (
        Membership.objects.filter(user_id=signed_in(user), account_id=account_id).values_list("role", flat=True).first()
    )


def is_owner(user: AbstractBaseUser | AnonymousUser, account: Account | int) -> bool:
    """May this person manage the account's FTP users, devices and members?"""
    return role_of(user, account) == Membership.Role.OWNER


def is_member(user: AbstractBaseUser | AnonymousUser, account: Account | int) -> bool:
    """May this person manage the account's jobs, albums, photos, subjects and uploads (owner or staff)?"""
    return role_of(user, account) is not None


# The owners' business, by name, for the pages that offer it.
can_manage_ftp_users = is_owner
can_manage_devices = is_owner
can_manage_members = is_owner


def owned_accounts(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The studios this person owns (all of them for a superuser): FTP users, devices and members."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    if getattr(user, "is_superuser", False):
        return Account.objects.all()
    return Account.objects.filter(memberships__user_id=signed_in(user), memberships__role=Membership.Role.OWNER)


def staffed_accounts(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The studios where this person is owner or staff (all of them for a superuser)."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    if getattr(user, "is_superuser", False):
        return Account.objects.all()
    return Account.objects.filter(memberships__user_id=signed_in(user))


def accounts_managed_by(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The studios whose FTP users this person may manage (``owned_accounts``; kept for its callers)."""
    return owned_accounts(user)


def members_of(*, account: Account) -> QuerySet[Membership]:
    """An account's memberships with their logins, owners first."""
    return account.memberships.select_related("user").order_by("role", "user__username")  # "owner" < "staff"


def owner_count(*, account: Account) -> int:
    return account.memberships.filter(role=Membership.Role.OWNER).count()


def signed_in(user: AbstractBaseUser | AnonymousUser) -> int:
    """The id of a logged-in user (the views that ask are behind a login)."""
    assert user.pk is not None, "a view behind a login got an anonymous user"
    return int(user.pk)


def ftp_users_of(*, account: Account) -> QuerySet[FTPUser]:
    return account.ftp_users.prefetch_related("ssh_keys").order_by("username")
