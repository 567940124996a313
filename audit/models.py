"""One row per write: the audit log owners read in the admin. Rows are never changed or deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jobs.models import Account, FTPUser


class AuditEvent(models.Model):
    class ActorKind(models.TextChoices):
        STAFF = "staff", _("Staff user")
        FTP_USER = "ftp_user", _("FTP user")
        SYSTEM = "system", _("System")

    # Null only for writes that belong to no account (a new login before it joins one).
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=150)  # kept when the user is gone
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_ftp_user = models.ForeignKey(FTPUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64)  # "<entity>.<verb>", e.g. "ftp_user.create"
    object_type = models.CharField(max_length=64, blank=True)  # "app_label.model"
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "-at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_kind__in=["staff", "ftp_user", "system"]), name="audit_actor_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"
