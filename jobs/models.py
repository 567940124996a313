"""Accounts (studios), their staff, FTP users with SSH keys, and photo jobs.

Invariants live in the database as constraints (unique names, allowed characters, allowed statuses)
so no code path can write a row the SFTP tree could not serve. Writes go through ``jobs.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

FTP_USERNAME_REGEX = r"^[a-z0-9._-]{3,64}$"
# A job folder name: one safe path segment, never "." or "..", never a dot-file.
JOB_INTERNAL_NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def default_time_zone() -> str:
    return str(getattr(settings, "ACCOUNT_DEFAULT_TIME_ZONE", "Europe/Berlin"))


def default_language() -> str:
    return str(getattr(settings, "ACCOUNT_DEFAULT_LANGUAGE", "en"))


class Account(models.Model):
    """A studio. Everything below is scoped to one account."""

    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="accounts", blank=True
    )
    # Every page and the ``uploads`` command show times in this zone; the doors' sentences (refusals,
    # banners, REJECTED.txt) are in this language, as photographers have no browser to ask.
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default=default_language)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff user's place in an account."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        STAFF = "staff", _("Staff")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=["owner", "staff"]), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"


class FTPUser(models.Model):
    """An SFTP/FTP login of an account. The password is kept only as a Django password hash.

    A *person* (a photographer) sees the account's planned jobs; a *device* (a camera) sees only
    its album (``devices.models.Device``, DESIGN §9).
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("person (photographer)")
        DEVICE = "device", _("device (camera)")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ftp_users")
    username = models.CharField(max_length=64)
    password = models.CharField(max_length=256, blank=True)  # hash; "" = no password login
    is_active = models.BooleanField(default=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSON)
    # Plain FTP sends the password readable: only for a camera that speaks nothing else, by choice.
    allow_plain_ftp = models.BooleanField(default=False)
    # The login banner and REJECTED.txt (DESIGN §12): on for photographers, off for devices unless
    # their owner turns it on (a camera would upload REJECTED.txt's listing back, or choke on it).
    rejection_notices = models.BooleanField(default=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_login_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FTP user"
        ordering = ["username"]
        constraints = [
            # Usernames are stored lower-case; the functional index also guards any future writer.
            models.UniqueConstraint(Lower("username"), name="ftpuser_username_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(username__regex=FTP_USERNAME_REGEX), name="ftpuser_username_valid"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["person", "device"]), name="ftpuser_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.username


class SSHKey(models.Model):
    """An OpenSSH public key an FTP user may log in with."""

    ftp_user = models.ForeignKey(FTPUser, on_delete=models.CASCADE, related_name="ssh_keys")
    key_type = models.CharField(max_length=64)
    public_key = models.TextField()  # the OpenSSH line without its comment
    fingerprint = models.CharField(max_length=64)  # "SHA256:..." as ssh-keygen -l prints it
    comment = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SSH key"
        constraints = [
            models.UniqueConstraint(fields=["ftp_user", "fingerprint"], name="sshkey_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key_type} {self.fingerprint} {self.comment}".strip()


def new_public_id() -> str:
    """A job's public id: 10 characters of A-Z and 2-7 (base32), for QR cards (DESIGN §10)."""
    import base64
    import secrets

    return base64.b32encode(secrets.token_bytes(10)).decode()[:10]


class PhotoJob(models.Model):
    """A photo job. Only planned jobs appear over SFTP.

    ``public_id`` names the job on QR cards: it never changes, not even when the job folder is renamed.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned (inactive)")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="jobs")
    internal_name = models.CharField(max_length=64)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)

    class Meta:
        verbose_name = "photo job"
        ordering = ["internal_name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "internal_name"], name="job_name_unique"),
            models.CheckConstraint(
                condition=models.Q(internal_name__regex=JOB_INTERNAL_NAME_REGEX),
                name="job_internal_name_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["planned", "active", "archived"]),
                name="job_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return self.internal_name
