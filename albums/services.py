"""Writes for albums, photos and the upload log: the one code path for intake.

The tree (``tree.operations``, whichever door a file came through) decides what a client's action
means under DESIGN §3 and reports it here in protocol-neutral terms: a file was finished
(``file_finished``, with a ``ReceivedFile``), renamed (``file_renamed``: its photo follows) or removed
(``file_removed``: its photo goes). What happens to an upload after it is recorded (the worker's
processing, the sweeper, re-processing) is in ``albums.intake``.

A photo that moves or goes changes who the album's QR cards say its other photos belong to: once
such a change commits, the album's subjects are assigned again (``subjects.assignment``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from albums import outbox, photos, storage
from albums.models import SECTION_OF_FOLDER, Album, Door, Photo, Upload
from audit.services import event_record
from jobs.exceptions import Conflict, Forbidden, Invalid
from jobs.models import FTPUser, PhotoJob
from subjects import assignment
from tree.names import is_temporary_name, validate_name

logger = logging.getLogger(__name__)

PENDING_STATES = (Upload.State.RECEIVED, Upload.State.PROCESSING)


# --- albums -----------------------------------------------------------------------------------


def album_name_check(*, job: PhotoJob, name: str, album: Album | None = None) -> str:
    """The rules an album name must meet in ``job`` (``album``: the one being renamed); raises or returns it.

    The admin's forms call this to show the sentence next to the field; the writes below call it too.
    """
    validate_name(name)
    if is_temporary_name(name):
        raise Invalid(f"{name!r}: album names cannot start with '.' or end in .part/.tmp/.filepart.")
    taken = Album.objects.filter(job_id=job.pk, name__iexact=name)
    if album is not None:
        taken = taken.exclude(pk=album.pk)
    if taken.exists():
        raise Conflict(f"The album {name!r} already exists.")
    return name


def album_create(*, job: PhotoJob, name: str, ftp_user: FTPUser | None = None) -> Album:
    """Create an album in a planned job (a photographer's new folder, or the studio's)."""
    if job.status != PhotoJob.Status.PLANNED:
        raise Forbidden(f"The job {job.internal_name} is closed for uploads.")
    album_name_check(job=job, name=name)
    try:
        with transaction.atomic():
            album = Album.objects.create(job=job, name=name, created_by=ftp_user)
            event_record(action="album.create", account=job.account_id, target=album, detail={"job": job.internal_name})
            return album
    except IntegrityError:
        raise Conflict(f"The album {name!r} already exists.") from None


def album_rename(*, album: Album, name: str) -> Album:
    album_name_check(job=album.job, name=name, album=album)
    try:
        with transaction.atomic():
            before, album.name = album.name, name
            album.save(update_fields=["name"])
            Upload.objects.filter(album=album).update(album_name=name)
            event_record(
                action="album.rename", account=album.job.account_id, target=album, detail={"from": before, "to": name}
            )
    except IntegrityError:
        raise Conflict(f"The album {name!r} already exists.") from None
    return album


def album_delete(*, album: Album) -> None:
    """Remove an album that holds no photos (the SFTP layer checks its folder is empty)."""
    if album.photos.exists():
        raise Conflict(f"The album {album.name!r} still has photos.")
    with transaction.atomic():
        event_record(action="album.delete", account=album.job.account_id, target=album)
        album.delete()


# --- files reported by the tree ---------------------------------------------------------------


@dataclass(frozen=True)
class FilePath:
    """Where a file lives in the tree: an album, a folder inside it ("" for the album folder)."""

    album: Album
    folder: str
    filename: str

    def same_path_q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}album": self.album, f"{prefix}folder": self.folder, f"{prefix}filename": self.filename})


@dataclass(frozen=True)
class ReceivedFile:
    """A finished file as a door received it: its bytes (already durable in storage), who sent them, how
    and from where."""

    stored_name: str
    size: int
    sha256: str  # "" when the bytes did not arrive in order; the worker hashes the file then
    ftp_user: FTPUser | None
    door: Door
    client_address: str | None
    source_path: str = ""  # the path the client used (for a device: below its album)


def file_finished(*, where: FilePath, received: ReceivedFile, replaces: bool = True) -> Upload:
    """Record a finished file and queue its processing once the row is committed.

    The upload owns the stored bytes, whatever later happens to the file in the tree. An earlier
    upload of the same path still waiting to be processed is superseded: only the newest version of
    a path becomes its photo, whichever task runs first. Not for a device (``replaces=False``):
    its files never replace each other, each becomes a photo (DESIGN §9).
    """
    album = where.album  # as the caller read it in its transaction (``tree.files`` locks it, fresh)
    job = album.job
    with transaction.atomic(savepoint=False):  # the caller's transaction fails whole, or this is one
        if replaces:
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
            ftp_user=received.ftp_user,
            ftp_username=received.ftp_user.username if received.ftp_user else "",
            door=received.door,
            client_address=received.client_address,
            source_path=received.source_path,
            section=SECTION_OF_FOLDER[where.folder],
            folder=where.folder,
            filename=where.filename,
            file=received.stored_name,
            size=received.size,
            sha256=received.sha256,
        )
        # The one event of the hot path: who sent which file, from where (the actor: the door's FTP user).
        event_record(
            action="upload.receive",
            account=job.account_id,
            target=upload,
            detail={"path": upload.path, "size": received.size, "door": received.door},
        )
        # The close is answered once this commits; the outbox sends the task in the background.
        transaction.on_commit(lambda: outbox.submit(upload.pk))
    logger.info(
        "upload registered id=%s account=%s job=%s path=%s section=%s size=%s sha256=%s user=%s door=%s address=%s",
        upload.pk,
        job.account_id,
        job.internal_name,
        json.dumps(upload.path, ensure_ascii=False),  # quoted: names have spaces
        upload.section,
        received.size,
        received.sha256 or "-",
        received.ftp_user or "-",
        received.door,
        received.client_address or "-",
    )
    return upload


def file_renamed(*, old: FilePath, new: FilePath, replaces: bool = True) -> None:
    """A finished file got a new path in its job: the photo (and any pending upload) at ``old`` follows.

    A rename over an existing name replaces that file, and so its photo; moving between
    ``individuals`` and ``group`` moves the photo between sections. A device's rename
    (``replaces=False``) sets the photo at the new name aside instead: it stays a photo.
    """
    section = SECTION_OF_FOLDER[new.folder]
    with transaction.atomic():
        for replaced in Photo.objects.filter(new.same_path_q()).exclude(old.same_path_q()):
            if replaces:
                photo_leave_path(photo=replaced)
            else:
                photos.photo_set_aside(photo=replaced)
        if replaces:
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
        _assign_on_commit(old.album.pk, new.album.pk)
        event_record(
            action="file.rename",
            account=new.album.job.account_id,
            target=new.album,
            detail={"from": _path_of(old), "to": _path_of(new)},
        )


def file_removed(*, where: FilePath, door: Door) -> None:
    """A client deleted a file: its photo goes, and a pending upload of it is not processed."""
    with transaction.atomic():
        Upload.objects.filter(where.same_path_q(), state__in=PENDING_STATES).update(
            state=Upload.State.REJECTED,
            reason=f"deleted over {Door(door).label} before it was processed",
            finished_at=timezone.now(),
        )
        for photo in Photo.objects.filter(where.same_path_q()):
            photo_leave_path(photo=photo)
        event_record(
            action="file.remove",
            account=where.album.job.account_id,
            target=where.album,
            detail={"path": _path_of(where), "door": door},
        )


# --- photos -----------------------------------------------------------------------------------


def photo_leave_path(*, photo: Photo) -> None:
    """The photo's path stops listing its bytes (deleted, renamed over): hand it over, or delete it.

    Part of a file's rename or removal, whose one event (``file.rename``, ``file.remove``) covers it.
    """
    if not photos.photo_hand_over(photo=photo):
        _photo_delete(photo)


@transaction.atomic
def photo_delete(*, photo: Photo) -> None:
    """Delete a photo and its renditions; the originals stay with their uploads in the log."""
    event_record(
        action="photo.delete",
        account=Album.objects.filter(pk=photo.album_id).values_list("job__account_id", flat=True).first(),
        target=photo,
    )
    _photo_delete(photo)


def _photo_delete(photo: Photo) -> None:
    renditions = [name for name in (photo.thumbnail.name, photo.preview.name) if name]
    album_id = photo.album_id
    photo.delete()
    _assign_on_commit(album_id)

    def delete_renditions() -> None:
        for name in renditions:
            storage.delete(name)

    transaction.on_commit(delete_renditions)


def _path_of(where: FilePath) -> str:
    return "/".join(part for part in (where.album.name, where.folder, where.filename) if part)


def _assign_on_commit(*album_ids: int) -> None:
    """Assign the subjects of these albums again once the change commits (those without subjects: no-op)."""
    for album_id in dict.fromkeys(album_ids):
        # robust: the move or delete has happened; a failed recomputation is logged and redone by the next change.
        transaction.on_commit(partial(assignment.assign_album, album_id), robust=True)
