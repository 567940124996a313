"""Writes for accounts, FTP users, SSH keys and photo jobs: the one code path every adapter calls.

Functions are keyword-only, named ``<entity>_<action>``, validate their input and raise
``jobs.exceptions`` errors with a message meant for a person.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit import context as audit_context
from audit.services import event_record
from jobs.exceptions import Conflict, Invalid
from jobs.models import (
    FTP_USERNAME_REGEX,
    JOB_INTERNAL_NAME_REGEX,
    Account,
    FTPUser,
    Membership,
    PhotoJob,
    SSHKey,
)
from jobs.passwords import verified_credentials

if TYPE_CHECKING:
    import asyncssh

# RSA below 2048 bits is breakable; DSA is gone from OpenSSH. Everything else asyncssh parses is fine.
ACCEPTED_KEY_TYPES = {
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
}
MIN_RSA_BITS = 2048


def rsa_key_bits(key: asyncssh.SSHKey) -> int:
    """The modulus size of an RSA key (asyncssh keeps the cryptography key as ``pyca_key``)."""
    return int(getattr(getattr(key, "pyca_key", None), "key_size", 0))


def account_create(*, name: str, time_zone: str | None = None, language: str | None = None) -> Account:
    name = name.strip()
    if not name:
        raise Invalid(gettext("An account needs a name."))
    time_zone = settings.ACCOUNT_DEFAULT_TIME_ZONE if time_zone is None else time_zone
    language = settings.ACCOUNT_DEFAULT_LANGUAGE if language is None else language
    _account_locale_check(time_zone=time_zone, language=language)
    try:
        with transaction.atomic():
            account = Account.objects.create(name=name, time_zone=time_zone, language=language)
            event_record(action="account.create", account=account, target=account)
            return account
    except IntegrityError:
        raise Conflict(gettext("An account named {name!r} already exists.").format(name=name)) from None


def valid_time_zone(name: str) -> bool:
    """Is this an IANA time zone name (``Europe/Berlin``) this machine knows?"""
    if not name or name != name.strip():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _account_locale_check(*, time_zone: str, language: str) -> None:
    if not valid_time_zone(time_zone):
        raise Invalid(gettext("{zone!r} is not a time zone; use a name such as Europe/Berlin.").format(zone=time_zone))
    if language not in dict(settings.LANGUAGES):
        raise Invalid(
            gettext("{language!r} is not a language of the portal; use one of {choices}.").format(
                language=language, choices=", ".join(dict(settings.LANGUAGES))
            )
        )


@transaction.atomic
def account_set_locale(*, account: Account, time_zone: str, language: str) -> Account:
    """Set the zone the account's pages and upload log show times in, and the language of its doors."""
    _account_locale_check(time_zone=time_zone, language=language)
    before = {"time_zone": account.time_zone, "language": account.language}
    account.time_zone, account.language = time_zone, language
    account.save(update_fields=["time_zone", "language"])
    event_record(
        action="account.locale_set",
        account=account,
        target=account,
        detail={"before": before, "after": {"time_zone": time_zone, "language": language}},
    )
    return account


# What studio staff may do in the admin; rows are further limited to their own accounts there.
# FTP users are only viewed: changing them is the owners' business, on the FTP settings page (DESIGN §6).
# ``change_upload`` is what "Process again" needs; uploads themselves are never edited.
STUDIO_STAFF_GROUP = "Studio staff"
STUDIO_STAFF_PERMISSIONS = [
    "jobs.view_account",
    "jobs.view_photojob", "jobs.add_photojob", "jobs.change_photojob",
    "jobs.view_ftpuser",
    "jobs.view_sshkey",
    "albums.view_album", "albums.add_album", "albums.change_album", "albums.delete_album",
    "albums.view_photo", "albums.delete_photo",
    "albums.view_upload", "albums.change_upload",
    "subjects.view_subject", "subjects.change_subject",
]  # fmt: skip


def studio_staff_group_sync() -> None:
    """After every migrate: an existing studio staff group gets exactly today's permissions."""
    if Group.objects.filter(name=STUDIO_STAFF_GROUP).exists():
        _studio_staff_group()


def _studio_staff_group() -> Group:
    group, _ = Group.objects.get_or_create(name=STUDIO_STAFF_GROUP)
    wanted = [p.split(".") for p in STUDIO_STAFF_PERMISSIONS]
    perms = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted}, codename__in={code for _, code in wanted}
    )
    # Exactly the list: a permission dropped from it (change_ftpuser) leaves existing groups too.
    group.permissions.set(perms)
    return group


def _check_role(role: str) -> str:
    if role not in Membership.Role.values:
        raise Invalid(gettext("Unknown role {role!r}: use owner or staff.").format(role=role))
    return role


def _keeps_an_owner(membership: Membership) -> None:
    """Refuse to take the last owner away from an account: nobody could manage its FTP users then."""
    others = Membership.objects.filter(account_id=membership.account_id, role=Membership.Role.OWNER)
    if membership.role == Membership.Role.OWNER and not others.exclude(pk=membership.pk).exists():
        raise Conflict(
            gettext("{user} is the last owner of {account}: make someone else owner first.").format(
                user=membership.user, account=membership.account
            )
        )


def _grant_admin_access(user: User) -> None:
    """What lets a member log in to the admin: ``is_staff`` and the studio staff permissions."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(_studio_staff_group())


def _revoke_admin_access(user: User) -> None:
    """A login left in no studio can no longer log in to the admin (superusers keep theirs)."""
    if user.is_superuser or Membership.objects.filter(user=user).exists():
        return
    user.groups.remove(*Group.objects.filter(name=STUDIO_STAFF_GROUP))
    if user.is_staff:
        user.is_staff = False
        user.save(update_fields=["is_staff"])


@transaction.atomic
def account_add_member(*, account: Account, user: User, role: str = Membership.Role.STAFF) -> Membership:
    """Give a login a place (``role``) in a studio, or change its role there; the one path for the
    command, the admin and the members page.

    The login gets admin access (``is_staff``, the studio staff permissions); its rows stay scoped to
    its accounts, and what it may do there follows its role (``jobs.selectors.role_of``).
    """
    _check_role(role)
    membership = Membership.objects.select_for_update().filter(account=account, user=user).first()
    if membership is None:
        membership = Membership.objects.create(account=account, user=user, role=role)
        event_record(action="membership.add", account=account, target=membership, detail={"role": role})
    elif membership.role != role:
        _keeps_an_owner(membership)
        before, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        event_record(
            action="membership.change_role", account=account, target=membership, detail={"from": before, "to": role}
        )
    _grant_admin_access(user)
    return membership


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    return account_add_member(account=membership.account, user=membership.user, role=role)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a login out of a studio (never its last owner); a login left in no studio loses admin access."""
    membership = Membership.objects.select_for_update().select_related("account", "user").get(pk=membership.pk)
    _keeps_an_owner(membership)
    event_record(
        action="membership.remove", account=membership.account, target=membership, detail={"role": membership.role}
    )
    membership.delete()
    _revoke_admin_access(membership.user)


def _checked_login_password(password: str, user: User) -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(str(m) for m in exc.messages)) from None
    return password


def login_create(*, username: str, password: str | None, account: Account | None = None) -> User:
    """A new web login. ``password`` None: it has none yet (an invitation sets it through a one-time link).

    ``account``: the studio it is made for, so the event shows in that studio's log.
    """
    username = username.strip()
    if not username:
        raise Invalid(gettext("A login needs a user name."))
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise Invalid(
            gettext("User name {username!r} is not allowed: use letters, digits and @ . + - _ only.").format(
                username=username
            )
        ) from None
    user = User(username=username)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(_checked_login_password(password, user))
    try:
        with transaction.atomic():
            user.save()
            event_record(action="user.create", account=account, target=user)
    except IntegrityError:
        raise Conflict(gettext("The user name {username!r} is taken.").format(username=username)) from None
    return user


def login_set_password(*, user: User, password: str, account: Account | None = None) -> User:
    user.set_password(_checked_login_password(password, user))
    with transaction.atomic():
        user.save(update_fields=["password"])
        event_record(action="user.set_password", account=account, target=user)
    return user


@transaction.atomic
def account_member_onboard(
    *, account: Account, username: str, role: str, password: str | None = None
) -> tuple[Membership, bool]:
    """Add ``username`` to ``account`` as ``role``, making the login when there is none (with
    ``password``, or without one for an invitation); ``password`` also replaces an existing login's.

    Returns the membership and whether the login is new. ``manage.py account add-member`` and the
    members page's "invite" both come here.
    """
    _check_role(role)
    user = User.objects.filter(username=username.strip()).first()
    created = user is None
    if user is None:
        user = login_create(username=username, password=password, account=account)
    elif password is not None:
        login_set_password(user=user, password=password, account=account)
    return account_add_member(account=account, user=user, role=role), created


def _clean_username(username: str) -> str:
    username = username.strip().lower()
    if not re.fullmatch(FTP_USERNAME_REGEX, username):
        raise Invalid(
            gettext("FTP user name {username!r} is not allowed: use 3 to 64 of a-z, 0-9, '.', '_' and '-'.").format(
                username=username
            )
        )
    return username


def _password_hash(password: str) -> str:
    if len(password) < 8:
        raise Invalid(gettext("The password must have at least 8 characters."))
    return make_password(password)


def ftp_user_create(
    *, account: Account, username: str, password: str | None = None, kind: str = FTPUser.Kind.PERSON
) -> FTPUser:
    """A new FTP user; a device (``kind``) also needs its ``devices.models.Device`` (``devices.services``)."""
    username = _clean_username(username)
    hashed = _password_hash(password) if password is not None else ""
    try:
        with transaction.atomic():
            user = FTPUser.objects.create(
                account=account,
                username=username,
                password=hashed,
                kind=kind,
                rejection_notices=kind != FTPUser.Kind.DEVICE,
            )
            event_record(action="ftp_user.create", account=account, target=user, detail={"kind": kind})
            return user
    except IntegrityError:
        raise Conflict(gettext("The FTP user name {username!r} is taken.").format(username=username)) from None


@transaction.atomic
def ftp_user_set_password(*, ftp_user: FTPUser, password: str) -> FTPUser:
    ftp_user.password = _password_hash(password)
    ftp_user.save(update_fields=["password"])
    event_record(action="ftp_user.set_password", account=ftp_user.account, target=ftp_user)
    return ftp_user


def ftp_user_set_plain_ftp(*, ftp_user: FTPUser, allowed: bool) -> FTPUser:
    """Let this FTP user log in over plain FTP (its password crosses the network readable; for cameras)."""
    ftp_user.allow_plain_ftp = allowed
    with transaction.atomic():
        ftp_user.save(update_fields=["allow_plain_ftp"])
        event_record(
            action="ftp_user.set_plain_ftp", account=ftp_user.account, target=ftp_user, detail={"allowed": allowed}
        )
    return ftp_user


def ftp_user_set_rejection_notices(*, ftp_user: FTPUser, enabled: bool) -> FTPUser:
    """Show this FTP user its rejections (login banner, REJECTED.txt; DESIGN §12). Devices start with it off."""
    ftp_user.rejection_notices = enabled
    with transaction.atomic():
        ftp_user.save(update_fields=["rejection_notices"])
        event_record(
            action="ftp_user.set_rejection_notices",
            account=ftp_user.account,
            target=ftp_user,
            detail={"enabled": enabled},
        )
    return ftp_user


def ftp_user_set_active(*, ftp_user: FTPUser, is_active: bool) -> FTPUser:
    ftp_user.is_active = is_active
    with transaction.atomic():
        ftp_user.save(update_fields=["is_active"])
        event_record(
            action="ftp_user.activate" if is_active else "ftp_user.deactivate",
            account=ftp_user.account,
            target=ftp_user,
        )
    return ftp_user


def ftp_user_delete(*, ftp_user: FTPUser) -> None:
    """Delete an FTP user (a camera's device too); its uploads and photos stay, under its name.

    ``Upload.ftp_username`` keeps the name and ``Photo.uploaded_by`` becomes empty; its open sessions
    are asked to end (``tree.live``), so nothing goes on uploading as a user that no longer exists.
    """
    from audit.services import event_record
    from tree import live

    with transaction.atomic():
        event_record(action="ftp_user.delete", account=ftp_user.account, target=ftp_user)
        live.sessions_disconnect_user(ftp_user_id=ftp_user.pk)
        ftp_user.delete()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash made by the first hasher, as every new password is, so checking it costs what a real check does."""
    return make_password("timing equaliser for unknown users")


def ftp_user_authenticate_password(*, username: str, password: str) -> FTPUser | None:
    """The active FTP user whose password this is, or None.

    Unknown and inactive users pay for one hash check too, so the answer's timing does not tell
    which user names exist. An active user's correct password is remembered for
    ``LOGIN_VERIFIED_TTL`` seconds (``jobs.passwords``), so a client's next connections skip the
    hash; everything else (the user, whether active) is read again each time. A hash made by an
    older hasher or with other parameters is replaced on a successful check.
    """
    user = (
        FTPUser.objects.select_related("account").filter(username=username.lower()).first()
        if re.fullmatch(FTP_USERNAME_REGEX, username.lower())
        else None
    )
    if user is None or not user.is_active or not user.password:
        check_password(password, user.password if user is not None and user.password else _dummy_hash())
        return None
    found = user  # for the closures: mypy forgets the narrowing of ``user`` there
    encoded, ttl = found.password, settings.LOGIN_VERIFIED_TTL

    def upgrade(raw: str) -> None:
        # Only over the hash just checked: of two simultaneous logins, one writes and the other leaves it.
        new = make_password(raw)
        if FTPUser.objects.filter(pk=found.pk, password=encoded).update(password=new):
            found.password = new
            verified_credentials.remember(username=found.username, password=raw, encoded=new, ttl=ttl)

    matches = verified_credentials.check(
        username=found.username,
        password=password,
        encoded=encoded,
        ttl=ttl,
        verify=lambda: check_password(password, encoded, upgrade),
    )
    return found if matches else None


@transaction.atomic
def ftp_user_record_login(*, ftp_user: FTPUser, address: str | None, key: SSHKey | None = None) -> None:
    """A successful login: when and from where (and with which key); an event of this FTP user's own."""
    now = timezone.now()
    FTPUser.objects.filter(pk=ftp_user.pk).update(last_login_at=now, last_login_address=address)
    if key is not None:
        SSHKey.objects.filter(pk=key.pk).update(last_used_at=now)
    with audit_context.acting(audit_context.ftp_user(ftp_user, address)):
        event_record(
            action="ftp_user.login",
            account=Account(pk=ftp_user.account_id),
            target=ftp_user,
            detail={"key": key.fingerprint} if key is not None else {},
        )


def ssh_key_add(*, ftp_user: FTPUser, public_key: str) -> SSHKey:
    """Add an OpenSSH public key line (``ssh-ed25519 AAAA... comment``) to an FTP user."""
    import asyncssh  # here, not at the top: it costs every Celery worker process ~30 MiB

    line = public_key.strip()
    try:
        key = asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise Invalid(gettext("This is not an OpenSSH public key line: {exc}").format(exc=exc)) from None
    algorithm = key.get_algorithm()
    if algorithm not in ACCEPTED_KEY_TYPES:
        raise Invalid(
            gettext("Keys of type {algorithm} are not accepted; use Ed25519, ECDSA or RSA.").format(algorithm=algorithm)
        )
    if algorithm == "ssh-rsa" and rsa_key_bits(key) < MIN_RSA_BITS:
        raise Invalid(gettext("RSA keys need at least {min_rsa_bits} bits.").format(min_rsa_bits=MIN_RSA_BITS))
    comment = key.get_comment() or ""
    exported = key.export_public_key("openssh").decode().split()
    try:
        with transaction.atomic():
            added = SSHKey.objects.create(
                ftp_user=ftp_user,
                key_type=algorithm,
                public_key=f"{exported[0]} {exported[1]}",
                fingerprint=key.get_fingerprint("sha256"),
                comment=comment[:255],
            )
            event_record(
                action="ssh_key.add", account=ftp_user.account, target=added, detail={"ftp_user": ftp_user.username}
            )
            return added
    except IntegrityError:
        raise Conflict(gettext("This key is already on this FTP user.")) from None


@transaction.atomic
def ssh_key_remove(*, key: SSHKey) -> None:
    ftp_user = key.ftp_user
    event_record(action="ssh_key.remove", account=ftp_user.account, target=key, detail={"ftp_user": ftp_user.username})
    key.delete()


def _job_name_taken(internal_name: str) -> Conflict:
    return Conflict(f"The account already has a job named {internal_name!r}.")


def job_name_check(*, account: Account, internal_name: str, job: PhotoJob | None = None) -> str:
    """The rules a job's folder name must meet in ``account`` (``job``: the one being renamed); raises or returns it.

    The admin's forms call this to show the sentence next to the field; the writes below call it too.
    """
    if not re.fullmatch(JOB_INTERNAL_NAME_REGEX, internal_name):
        raise Invalid(
            gettext(
                "Job name {name!r} is not allowed: start with a letter or digit, then up to 63"
                " of letters, digits, '.', '_' and '-'."
            ).format(name=internal_name)
        )
    taken = PhotoJob.objects.filter(account=account, internal_name=internal_name)
    if job is not None:
        taken = taken.exclude(pk=job.pk)
    if taken.exists():
        raise _job_name_taken(internal_name)
    return internal_name


def job_create(
    *, account: Account, internal_name: str, title: str = "", status: str = PhotoJob.Status.PLANNED
) -> PhotoJob:
    job_name_check(account=account, internal_name=internal_name)
    _check_status(status)
    try:
        with transaction.atomic():
            job = PhotoJob.objects.create(account=account, internal_name=internal_name, title=title, status=status)
            event_record(action="job.create", account=account, target=job, detail={"status": status})
            return job
    except IntegrityError:  # created by someone else since the check
        raise _job_name_taken(internal_name) from None


def job_update(*, job: PhotoJob, internal_name: str, title: str) -> PhotoJob:
    """Rename a job's folder and/or change its title; the account and the status stay (see ``job_set_status``)."""
    job_name_check(account=job.account, internal_name=internal_name, job=job)
    before = job.internal_name, job.title
    try:
        with transaction.atomic():
            job.internal_name, job.title = internal_name, title
            job.save(update_fields=["internal_name", "title"])
            after = internal_name, title
            changed = {k: [a, b] for k, a, b in zip(("internal_name", "title"), before, after, strict=True) if a != b}
            event_record(action="job.update", account=job.account, target=job, detail=changed)
    except IntegrityError:  # taken by someone else since the check
        job.internal_name, job.title = before
        raise _job_name_taken(internal_name) from None
    return job


def _check_status(status: str) -> None:
    if status not in PhotoJob.Status.values:
        raise Invalid(
            gettext("Unknown job status {status!r}: use one of {choices}.").format(
                status=status, choices=", ".join(PhotoJob.Status.values)
            )
        )


def job_set_status(*, job: PhotoJob, status: str) -> PhotoJob:
    """Change a job's status. A job that leaves ``planned`` disappears from SFTP at once."""
    _check_status(status)
    if job.status != status:
        before, job.status = job.status, status
        job.status_changed_at = timezone.now()
        with transaction.atomic():
            job.save(update_fields=["status", "status_changed_at"])
            detail = {"from": before, "to": status}
            event_record(action="job.set_status", account=job.account, target=job, detail=detail)
    return job
