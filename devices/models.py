"""A device: an FTP user of kind *device* (a camera) with its target album, profile and health data.

The FTP user keeps the login (password, SSH keys, active flag, plain FTP allowed or not); the
``Device`` row beside it says where the camera's files go (one album of a planned job, one section),
how they are read (``profile``, see ``devices.profiles``), which names are connection tests, when
the last test came, and the last status report. Folders a camera makes below its album are rows of
``DeviceFolder``: they exist for the camera only (its files all land in the album itself).
"""

from __future__ import annotations

from django.db import models

from albums.models import Album, Section, Upload
from jobs.models import FTPUser


class Device(models.Model):
    ftp_user = models.OneToOneField(FTPUser, on_delete=models.CASCADE, primary_key=True, related_name="device")
    album = models.ForeignKey(Album, on_delete=models.PROTECT, related_name="devices")
    section = models.CharField(max_length=16, choices=Section.choices, default=Section.INDIVIDUALS)
    profile = models.CharField(max_length=32, default="generic")
    # Connection tests: comma-separated shell patterns of file names; blank: the profile's own.
    test_patterns = models.CharField(max_length=255, blank=True)
    # Hours without anything from the camera before the device page says it is silent; null: never.
    expected_interval_hours = models.PositiveIntegerField(null=True, blank=True, default=24)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_address = models.GenericIPAddressField(null=True, blank=True)
    last_test_name = models.CharField(max_length=255, blank=True)
    status = models.JSONField(default=dict, blank=True)  # the last status report's fields
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ftp_user__username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(section__in=["individuals", "group"]), name="device_section_valid"
            )
        ]

    def __str__(self) -> str:
        return self.ftp_user.username

    @property
    def folder(self) -> str:
        """The album folder the device's files are stored in ("" is the individuals area)."""
        return "group" if self.section == Section.GROUP else ""


class DeviceFolder(models.Model):
    """A folder a device made below its album (``Camera/2026/05/14/09``), virtual: it holds no files."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="folders")
    path = models.CharField(max_length=1024)  # "a/b/c", no leading or trailing slash
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device", "path"]
        constraints = [models.UniqueConstraint(fields=["device", "path"], name="devicefolder_unique")]

    def __str__(self) -> str:
        return f"{self.device}:/{self.path}"


class StatusReport(models.Model):
    """One status report a device uploaded, as its profile read it."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="reports")
    upload = models.OneToOneField(Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="report")
    fields = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.device} report {self.received_at:%Y-%m-%d %H:%M}"
