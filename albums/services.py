"""Writes for albums, photos and the upload log: the one code path for intake.

The SFTP server reports what happened to files (``sftp_file_closed``, ``sftp_file_renamed``,
``sftp_file_removed``) and the rules of DESIGN §3 are decided here: temporary names are not taken in,
a rename to a final name is, a rename moves a photo, a delete removes it. What happens to an upload
after it is recorded (the worker's processing, the sweeper, re-processing) is in ``albums.intake``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from albums import intake, storage
from albums.models import SECTION_OF_FOLDER, Album, Photo, Upload
from albums.paths import is_temporary_name, validate_name
from jobs.exceptions import Conflict, Forbidden, Invalid, NotFound
from jobs.models import FTPUser, PhotoJob

logger = logging.getLogger(__name__)

PENDING_STATES = (Upload.State.RECEIVED, Upload.State.PROCESSING)


# --- albums -----------------------------------------------------------------------------------


def _check_album_name(name: str) -> str:
    validate_name(name)
    if is_temporary_name(name):
        raise Invalid(f"{name!r}: album names cannot start with '.' or end in .part/.tmp/.filepart.")
    return name


def album_create(*, job: PhotoJob, name: str, ftp_user: FTPUser | None = None) -> Album:
    """Create the album a photographer made as a folder in a planned job."""
    _check_album_name(name)
    if job.status != PhotoJob.Status.PLANNED:
        raise Forbidden(f"The job {job.internal_name} is closed for uploads.")
    try:
        with transaction.atomic():
            return Album.objects.create(job=job, name=name, created_by=ftp_user)
    except IntegrityError:
        raise Conflict(f"The album {name!r} already exists.") from None


def album_rename(*, album: Album, name: str) -> Album:
    _check_album_name(name)
    if Album.objects.filter(job_id=album.job_id, name__iexact=name).exclude(pk=album.pk).exists():
        raise Conflict(f"The album {name!r} already exists.")
    try:
        with transaction.atomic():
            album.name = name
            album.save(update_fields=["name"])
            Upload.objects.filter(album=album).update(album_name=name)
    except IntegrityError:
        raise Conflict(f"The album {name!r} already exists.") from None
    return album


def album_delete(*, album: Album) -> None:
    """Remove an album that holds no photos (the SFTP layer checks its folder is empty)."""
    if album.photos.exists():
        raise Conflict(f"The album {album.name!r} still has photos.")
    album.delete()


# --- files reported by the SFTP server ----------------------------------------------------------


@dataclass(frozen=True)
class FilePath:
    """Where a file lives in the SFTP tree: an album, a folder inside it ("" for the album folder)."""

    album: Album
    folder: str
    filename: str

    def same_path_q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}album": self.album, f"{prefix}folder": self.folder, f"{prefix}filename": self.filename})


def _queue_processing(upload_id: int) -> None:
    """Queue the processing; if the broker is down the upload stays ``received`` for the sweeper."""
    intake.upload_queue(upload_id)


def upload_register(
    *,
    where: FilePath,
    local_file: Path,
    size: int,
    sha256: str = "",
    ftp_user: FTPUser | None,
    client_address: str | None = None,
) -> Upload:
    """Record a finished file and queue its processing once the row is committed.

    The bytes are put into storage under a fresh name first, so the upload owns them whatever
    later happens to the file in the SFTP tree. An earlier upload of the same path still waiting to
    be processed is superseded: only the newest version of a path becomes its photo, whichever task
    runs first.
    """
    # Fresh from the database: the album may have been renamed (or removed) during a long upload.
    album = Album.objects.select_related("job").filter(pk=where.album.pk).first()
    if album is None:
        raise NotFound("The album folder was removed while this file was being uploaded.")
    job = album.job
    stored = storage.store_local_file(
        local_file, storage.upload_name(account_id=job.account_id, filename=where.filename)
    )
    with transaction.atomic():
        Upload.objects.filter(where.same_path_q(), state__in=PENDING_STATES).update(
            state=Upload.State.REJECTED,
            reason="replaced by a newer upload of the same file",
            finished_at=timezone.now(),
        )
        upload = Upload.objects.create(
            account_id=job.account_id,
            job=job,
            album=album,
            album_name=album.name,
            ftp_user=ftp_user,
            client_address=client_address,
            section=SECTION_OF_FOLDER[where.folder],
            folder=where.folder,
            filename=where.filename,
            file=stored,
            size=size,
            sha256=sha256,
        )
        transaction.on_commit(lambda: _queue_processing(upload.pk))
    logger.info(
        "upload registered id=%s account=%s job=%s path=%s section=%s size=%s sha256=%s user=%s address=%s",
        upload.pk,
        job.account_id,
        job.internal_name,
        json.dumps(upload.path, ensure_ascii=False),  # quoted: names have spaces
        upload.section,
        size,
        sha256 or "-",
        ftp_user or "-",
        client_address or "-",
    )
    return upload


def sftp_file_closed(
    *,
    where: FilePath,
    local_file: Path,
    size: int,
    sha256: str = "",
    ftp_user: FTPUser | None,
    client_address: str | None = None,
) -> Upload | None:
    """A client closed a file it wrote: take it in, unless it still has a temporary name."""
    if is_temporary_name(where.filename):
        return None
    return upload_register(
        where=where,
        local_file=local_file,
        size=size,
        sha256=sha256,
        ftp_user=ftp_user,
        client_address=client_address,
    )


def _move_photo(old: FilePath, new: FilePath) -> None:
    """Let the photo (and any pending upload) at ``old`` follow the file to ``new``."""
    section = SECTION_OF_FOLDER[new.folder]
    with transaction.atomic():
        # A rename over an existing name replaces that file, and so its photo.
        for replaced in Photo.objects.filter(new.same_path_q()).exclude(old.same_path_q()):
            photo_delete(photo=replaced)
        Upload.objects.filter(new.same_path_q(), state__in=PENDING_STATES).exclude(old.same_path_q()).update(
            state=Upload.State.REJECTED,
            reason="replaced by a file renamed over it",
            finished_at=timezone.now(),
        )
        Photo.objects.filter(old.same_path_q()).update(
            album=new.album, folder=new.folder, filename=new.filename, section=section
        )
        Upload.objects.filter(old.same_path_q(), state__in=PENDING_STATES).update(
            album=new.album,
            album_name=new.album.name,
            folder=new.folder,
            filename=new.filename,
            section=section,
        )


def sftp_file_renamed(
    *,
    old: FilePath,
    new: FilePath,
    local_file: Path,
    size: int,
    sha256: str = "",
    ftp_user: FTPUser | None,
    client_address: str | None = None,
) -> Upload | None:
    """A client renamed a file (``local_file`` is where it is on disk; ``sha256`` when already known).

    A temporary name renamed to a final one is a finished upload; a final name renamed moves the
    photo with it (between sections and albums too).
    """
    if old.album.job_id != new.album.job_id:
        raise Forbidden("Files can only be moved within one job.")
    if is_temporary_name(new.filename):
        sftp_file_removed(where=old)
        return None
    if is_temporary_name(old.filename):
        return upload_register(
            where=new,
            local_file=local_file,
            size=size,
            sha256=sha256,
            ftp_user=ftp_user,
            client_address=client_address,
        )
    _move_photo(old, new)
    return None


def sftp_file_removed(*, where: FilePath) -> None:
    """A client deleted a file: its photo goes, and a pending upload of it is not processed."""
    with transaction.atomic():
        Upload.objects.filter(where.same_path_q(), state__in=PENDING_STATES).update(
            state=Upload.State.REJECTED,
            reason="deleted over SFTP before it was processed",
            finished_at=timezone.now(),
        )
        for photo in Photo.objects.filter(where.same_path_q()):
            photo_delete(photo=photo)


def photo_delete(*, photo: Photo) -> None:
    """Delete a photo and its renditions; the originals stay with their uploads in the log."""
    renditions = [photo.thumbnail.name, photo.preview.name]
    photo.delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in renditions])
