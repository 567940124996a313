"""What the tree holds: one row per file a door lists (DESIGN §3, §11).

Listings, sizes and times come from these rows, and a file's bytes from storage, so every server
node shows the same tree and a crash can never leave a listed file without its upload or an upload
without its file: the row changes in the same transaction as the upload log. Only the bytes of a
file still being written live on a node's local disk (``tree.staging``).

A file under a final name points at the upload that brought its bytes (``upload``: the bytes are
``upload.file``, wherever intake moved them). A file under a temporary name (WinSCP's ``.filepart``,
kept for a resume) is not an upload: its bytes are its own storage name (``content``), which becomes
the upload's when the file is renamed to its final name.
"""

from __future__ import annotations

from django.db import models

from albums.models import Album, Folder, Upload


class TreeFile(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="tree_files")
    folder = models.CharField(max_length=16, choices=Folder.choices, blank=True)
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    mtime = models.FloatField()  # seconds since the epoch; clients set it after an upload
    sha256 = models.CharField(max_length=64, blank=True)  # "" when the bytes came out of order
    upload = models.ForeignKey(Upload, null=True, blank=True, on_delete=models.CASCADE, related_name="tree_files")
    content = models.CharField(max_length=500, blank=True)  # storage name of a temporary file's bytes
    # A device's file: the folder it used below its album, "/" or "/a/b" (for /a/b/name.jpg, stored as
    # a__b__name.jpg); blank for everybody else's files. A device lists only the files it made.
    device_dir = models.CharField(max_length=1024, blank=True)
    device_name = models.CharField(max_length=255, blank=True)  # the name the device gave it ("name.jpg")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # By the album's id, not "album": that would join the album to sort by its name on every
        # query of the upload path (a file's own row is looked up on each open and close).
        ordering = ["album_id", "folder", "name"]
        constraints = [
            models.UniqueConstraint(fields=["album", "folder", "name"], name="treefile_path_unique"),
            models.CheckConstraint(
                condition=models.Q(folder__in=["", "individuals", "group"]), name="treefile_folder_valid"
            ),
            # Exactly one source of bytes: an upload (final names) or its own content (temporary ones).
            models.CheckConstraint(
                condition=(models.Q(upload__isnull=False) & models.Q(content=""))
                | (models.Q(upload__isnull=True) & ~models.Q(content="")),
                name="treefile_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.album}/{self.folder + '/' if self.folder else ''}{self.name}"

    @property
    def shown_name(self) -> str:
        """The name a listing shows: the device's own name for a device's file."""
        return self.device_name or self.name

    @property
    def stored_name(self) -> str:
        """Where the bytes are in storage."""
        if self.upload is not None:
            return self.upload.file.name or ""
        return self.content


class LoginBan(models.Model):
    """A login ban in force, when there is no Redis (``tree.guard.DatabaseBanStore``).

    With Redis the bans live there; without it each server process would keep them in its memory,
    where the web process cannot list or lift them. ``key`` is the guard's: ``user:ADDRESS:NAME``
    for a user name from one address, ``addr:ADDRESS`` for a whole address.
    """

    key = models.CharField(max_length=400, unique=True)
    until = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class LiveSession(models.Model):
    """A session open now at a door, as the web shows it (``tree.live``).

    The server process that holds the session writes the row at login, renews ``expires_at`` and
    ``bytes`` on its heartbeat and deletes the row when the session ends; a row whose lease ran out
    belongs to a server that died and is neither shown nor kept. ``disconnect_requested_at`` is the
    web's request to end the session, which that server carries out on its next heartbeat.
    """

    token = models.CharField(max_length=64, unique=True)
    server = models.CharField(max_length=200, db_index=True)  # host:pid:random of the server process
    account = models.ForeignKey("jobs.Account", on_delete=models.CASCADE, related_name="live_sessions")
    ftp_user = models.ForeignKey(
        "jobs.FTPUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="live_sessions"
    )
    username = models.CharField(max_length=64)
    door = models.CharField(max_length=8)
    address = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    bytes = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
    disconnect_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.username} from {self.address or '-'} ({self.door})"
