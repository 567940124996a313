"""Writes for albums, photos and the upload log: the one code path for intake.

The SFTP server reports what happened to files (``sftp_file_closed``, ``sftp_file_renamed``,
``sftp_file_removed``) and the rules of DESIGN §3 are decided here: temporary names are not taken in,
a rename to a final name is, a rename moves a photo, a delete removes it. ``upload_process`` is the
worker's ``ensure``-style step (DESIGN §4): it claims the upload, does what is missing and returns
quietly when there is nothing to do, so running it twice makes one photo.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from albums import imaging, storage
from albums.models import SECTION_OF_FOLDER, Album, Photo, Upload
from albums.paths import is_temporary_name, validate_name
from jobs.exceptions import Conflict, Forbidden, Invalid
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
    """Queue the task; if the broker is down the upload stays ``received`` for the sweeper."""
    from albums.tasks import process_upload

    try:
        process_upload.delay(upload_id)
    except Exception:  # any broker/transport error: nothing is lost, the sweeper re-queues
        logger.warning("could not queue upload %s; the sweeper will pick it up", upload_id, exc_info=True)


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
    later happens to the file in the SFTP tree.
    """
    album = where.album
    job = album.job
    stored = storage.store_local_file(
        local_file, storage.upload_name(account_id=job.account_id, filename=where.filename)
    )
    with transaction.atomic():
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
        "upload registered id=%s account=%s path=%s size=%s user=%s",
        upload.pk,
        job.account_id,
        upload.path,
        size,
        ftp_user,
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
    ftp_user: FTPUser | None,
    client_address: str | None = None,
) -> Upload | None:
    """A client renamed a file (``local_file`` is its new place on disk).

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
            where=new, local_file=local_file, size=size, ftp_user=ftp_user, client_address=client_address
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


# --- processing (the worker) --------------------------------------------------------------------


def _limits() -> imaging.ImagingLimits:
    return imaging.ImagingLimits(
        max_bytes=settings.INTAKE_MAX_BYTES,
        max_pixels=settings.INTAKE_MAX_PIXELS,
        formats=frozenset(settings.INTAKE_FORMATS),
    )


def upload_claim(*, upload_id: int, token: str) -> Upload | None:
    """Take an upload for processing, or None when another task holds it or it is finished.

    ``token`` is the Celery task id: a redelivery of the same message may take its own claim back.
    """
    now = timezone.now()
    claimed = Upload.objects.filter(
        Q(state=Upload.State.RECEIVED) | Q(state=Upload.State.PROCESSING, claimed_by=token),
        pk=upload_id,
    ).update(state=Upload.State.PROCESSING, claimed_by=token, attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return None
    upload = Upload.objects.select_related("job", "album").get(pk=upload_id)
    if upload.attempts > settings.INTAKE_MAX_ATTEMPTS:
        _finish(
            upload,
            token,
            state=Upload.State.FAILED,
            reason=f"could not be processed after {settings.INTAKE_MAX_ATTEMPTS} attempts",
        )
        return None
    return upload


def _finish(upload: Upload, token: str, *, state: str, reason: str = "", photo: Photo | None = None) -> bool:
    return bool(
        Upload.objects.filter(pk=upload.pk, state=Upload.State.PROCESSING, claimed_by=token).update(
            state=state, reason=reason, photo=photo, finished_at=timezone.now(), updated_at=timezone.now()
        )
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def upload_process(*, upload_id: int, token: str) -> None:
    """Turn a received upload into exactly one photo, or a rejection with a reason."""
    upload = upload_claim(upload_id=upload_id, token=token)
    if upload is None:
        return
    if upload.album is None:
        _finish(upload, token, state=Upload.State.REJECTED, reason="its album was deleted")
        return
    with storage.local_path(upload.file.name) as path:
        sha256 = upload.sha256 or _sha256_of(path)
        try:
            info, renditions = imaging.analyse_image(path, filename=upload.filename, limits=_limits())
        except imaging.ImageRejected as exc:
            _finish(upload, token, state=Upload.State.REJECTED, reason=exc.reason)
            logger.info("upload %s rejected: %s", upload.pk, exc.reason)
            return
    stored = {
        r.name: storage.save_bytes(f"photos/{upload.account_id}/{upload.album_id}/{upload.pk}-{r.name}.jpg", r.data)
        for r in renditions
    }
    try:
        photo = _photo_from_upload(upload, token, sha256, info, stored)
    except BaseException as exc:
        for name in stored.values():
            storage.delete(name)
        if isinstance(exc, _LostClaim):
            return
        raise
    logger.info("upload %s done: photo %s", upload.pk, photo.pk if photo else None)


@transaction.atomic
def _photo_from_upload(
    upload: Upload, token: str, sha256: str, info: imaging.ImageInfo, renditions: dict[str, str]
) -> Photo | None:
    album = upload.album
    assert album is not None
    where = FilePath(album=album, folder=upload.folder, filename=upload.filename)
    at_path = Photo.objects.select_for_update().filter(where.same_path_q()).first()
    duplicate = (
        at_path if at_path and at_path.sha256 == sha256 else (Photo.objects.filter(album=album, sha256=sha256).first())
    )
    if duplicate is not None:
        # Identical bytes into the same album: no second photo, the upload points at the first.
        if not _finish(
            upload,
            token,
            state=Upload.State.DONE,
            reason=f"duplicate of photo {duplicate.pk}" if duplicate != at_path else "",
            photo=duplicate,
        ):
            raise _LostClaim
        transaction.on_commit(lambda: [storage.delete(n) for n in renditions.values()])
        return duplicate
    photo = at_path or Photo(album=album, folder=upload.folder, filename=upload.filename)
    old_renditions = [photo.thumbnail.name, photo.preview.name] if at_path else []
    photo.section = upload.section
    photo.original = upload.file.name
    photo.thumbnail = renditions.get("thumb", "")
    photo.preview = renditions.get("preview", "")
    photo.sha256 = sha256
    photo.size = upload.size
    photo.width, photo.height, photo.format = info.width, info.height, info.format
    photo.taken_at = timezone.make_aware(info.taken_at) if info.taken_at else None
    photo.camera_make, photo.camera_model, photo.camera_serial = info.camera_make, info.camera_model, info.camera_serial
    photo.gps_latitude, photo.gps_longitude = info.gps_latitude, info.gps_longitude
    photo.uploaded_by_id = upload.ftp_user_id
    photo.save()
    if not _finish(upload, token, state=Upload.State.DONE, photo=photo):
        raise _LostClaim
    transaction.on_commit(lambda: [storage.delete(n) for n in old_renditions])
    return photo


class _LostClaim(Exception):
    """Another task finished or took this upload meanwhile; this run's work is rolled back."""


def upload_sweep() -> int:
    """Re-queue uploads stuck in ``received`` or ``processing`` (the periodic sweeper).

    A ``processing`` row older than the threshold lost its worker: it goes back to ``received`` with
    a cleared claim. Two schedulers sweeping at once only queue a task twice, which the claim makes
    harmless.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.INTAKE_STUCK_AFTER)
    Upload.objects.filter(state=Upload.State.PROCESSING, updated_at__lt=cutoff).update(
        state=Upload.State.RECEIVED, claimed_by="", updated_at=timezone.now()
    )
    stuck = list(Upload.objects.filter(state=Upload.State.RECEIVED, updated_at__lt=cutoff).values_list("pk", flat=True))
    for upload_id in stuck:
        Upload.objects.filter(pk=upload_id, state=Upload.State.RECEIVED).update(updated_at=timezone.now())
        _queue_processing(upload_id)
    if stuck:
        logger.info("sweeper re-queued %d uploads", len(stuck))
    return len(stuck)


def upload_reprocess(*, upload_ids: list[int]) -> int:
    """Queue uploads again (operator's action): finished ones go back to ``received`` first."""
    count = 0
    for upload_id in upload_ids:
        with transaction.atomic():
            updated = (
                Upload.objects.filter(pk=upload_id)
                .exclude(state=Upload.State.PROCESSING)
                .update(state=Upload.State.RECEIVED, claimed_by="", reason="", attempts=0, updated_at=timezone.now())
            )
            if updated:
                transaction.on_commit(lambda uid=upload_id: _queue_processing(uid))
                count += 1
    return count
