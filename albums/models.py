"""Albums of a job, their photos, and the upload log (one row per finished file).

An ``Upload`` is the intake record: it owns an immutable copy of the bytes that arrived (``file``),
moves through ``received -> processing -> done | rejected | failed``, and points at the photo it
produced. A ``Photo`` remembers the SFTP path it lives at (``folder``/``filename`` in its album), so a
re-upload of that path replaces it, a rename moves it and a delete removes it.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from jobs.models import Account, FTPUser, PhotoJob


class Section(models.TextChoices):
    INDIVIDUALS = "individuals", _("Individuals")
    GROUP = "group", _("Group")


class Folder(models.TextChoices):
    """Where in the album folder a file was put; the album folder itself is the individuals area."""

    ROOT = "", _("(album folder)")
    INDIVIDUALS = "individuals", "individuals"
    GROUP = "group", "group"


class Door(models.TextChoices):
    """The protocol a file came in through."""

    SFTP = "sftp", "SFTP"
    FTP = "ftp", "FTP"
    FTPS = "ftps", "FTPS"


SECTION_OF_FOLDER = {"": Section.INDIVIDUALS, "individuals": Section.INDIVIDUALS, "group": Section.GROUP}


class Album(models.Model):
    job = models.ForeignKey(PhotoJob, on_delete=models.CASCADE, related_name="albums")
    name = models.CharField(max_length=255)
    created_by = models.ForeignKey(FTPUser, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Windows clients treat "Class 1" and "class 1" as one folder, so must we.
            models.UniqueConstraint("job", Lower("name"), name="album_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Photo(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="photos")
    section = models.CharField(max_length=16, choices=Section.choices)
    folder = models.CharField(max_length=16, choices=Folder.choices, blank=True)
    filename = models.CharField(max_length=255)
    original = models.FileField(max_length=500)
    thumbnail = models.FileField(max_length=500, blank=True)
    preview = models.FileField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=16)
    taken_at = models.DateTimeField(null=True, blank=True)
    camera_make = models.CharField(max_length=100, blank=True)
    camera_model = models.CharField(max_length=100, blank=True)
    camera_serial = models.CharField(max_length=100, blank=True)
    camera_id = models.CharField(max_length=100, blank=True)  # a device's camera id, as its profile reads it
    gps_latitude = models.FloatField(null=True, blank=True)
    gps_longitude = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(FTPUser, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["album", "section", "filename"]
        constraints = [
            models.UniqueConstraint(fields=["album", "folder", "filename"], name="photo_path_unique"),
            models.CheckConstraint(
                condition=models.Q(section__in=["individuals", "group"]), name="photo_section_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(folder__in=["", "individuals", "group"]), name="photo_folder_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.album}/{self.folder + '/' if self.folder else ''}{self.filename}"


class Upload(models.Model):
    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="uploads")
    job = models.ForeignKey(PhotoJob, on_delete=models.CASCADE, related_name="uploads")
    album = models.ForeignKey(Album, null=True, on_delete=models.SET_NULL, related_name="uploads")
    album_name = models.CharField(max_length=255)  # kept when the album is gone
    ftp_user = models.ForeignKey(FTPUser, null=True, blank=True, on_delete=models.SET_NULL)
    ftp_username = models.CharField(max_length=64, blank=True)  # kept when the FTP user is deleted
    door = models.CharField(max_length=8, choices=Door.choices, default=Door.SFTP)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    # The path the client used, as it sent it (normalised); for a device, below its album.
    source_path = models.CharField(max_length=1024, blank=True)
    section = models.CharField(max_length=16, choices=Section.choices)
    folder = models.CharField(max_length=16, choices=Folder.choices, blank=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(max_length=500)  # the bytes as received, never altered; moved to quarantine/ if rejected
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requeued = models.PositiveIntegerField(default=0)  # times the sweeper had to queue it again
    # The Celery task id that holds the claim while processing: a redelivery of that same message
    # (its worker died) may take the claim over; any other task may not.
    claimed_by = models.CharField(max_length=64, blank=True)
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads")
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When housekeeping removed the bytes of an upload nothing needs any more (the row stays).
    purged_at = models.DateTimeField(null=True, blank=True)
    # A rejection the photographer acknowledged by deleting the album's REJECTED.txt (DESIGN §12).
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["received", "processing", "done", "rejected", "failed"]),
                name="upload_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(section__in=["individuals", "group"]), name="upload_section_valid"
            ),
            models.CheckConstraint(condition=models.Q(door__in=["sftp", "ftp", "ftps"]), name="upload_door_valid"),
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"upload {self.pk} {self.filename} ({self.state})"

    @property
    def path(self) -> str:
        """The path in the tree as the photographer sees it now (the album may have been renamed since)."""
        parts = [self.job.internal_name, self.album_name, self.folder, self.filename]
        return "/" + "/".join(p for p in parts if p)
