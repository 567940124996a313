"""Intake processing (DESIGN §4): every received upload becomes exactly one photo or a rejection.

This is the processing half of the albums writes. ``albums.services`` records a finished file
(``upload_register``) and hands it to ``upload_queue``; everything after that lives here, and the
Celery tasks, the admin and the ``uploads`` command are thin adapters over these functions:

- ``upload_process`` is the worker's ensure-style step (Zulip's ``ensure_*``): it claims the
  upload, does what is missing and returns quietly when another run holds or finished it.
- ``upload_release`` and ``upload_fail`` end an attempt that ran into trouble: a transient error
  (database, storage) sends the upload back to ``received`` for a retry until its attempts are used
  up; a run that took too long ends ``failed``.
- ``upload_sweep`` is the periodic sweeper; ``upload_reprocess`` the operator's "process again".

Claims. Each run of the task has a token ``<Celery task id>/<nonce>``. A run claims an upload with
a conditional UPDATE (healthchecks' pattern) under a row lock: it succeeds when the upload is
``received``, or ``processing`` under a token of the *same task id*, which is how a redelivery of a
message whose worker died takes its claim back (retries keep the task id too). The latest claim
wins: every write that ends an attempt is conditional on ``state=processing, claimed_by=<token>``,
so a run that lost its claim commits nothing and deletes what it stored. Each claim counts one
attempt; an upload whose attempts are used up ends ``failed`` with its last error instead of
looping.

Storage names (the layout is in ``albums.storage``) are made there; nothing here touches a path.

QR cards (DESIGN §10). An individuals photo of an album that has subjects is scanned for cards
(``subjects.detect``) in the very decode its renditions are made from; what the scan found is
committed with the photo, and the album's assignment (``subjects.assignment``) is recomputed right
after. A failure there never costs the photo: assignment is recomputed by the next change anyway.

Device uploads (DESIGN §9) are read by the device's camera profile (``devices.profiles``): it may
narrow the accepted formats and size, supplies the photo's camera id, capture time and position,
and rejects a photo missing a field it requires. A device's status reports (``*.txt``) are uploads
too: read by the profile and kept with the device (``devices.reports``), they end ``done`` with the
reason "status report" and no photo, or ``rejected`` with the reason they could not be read.

A rejected upload's bytes are moved to ``quarantine/`` (same bytes, ``Upload.file`` follows), and
moved back to ``uploads/`` if a re-process later accepts them. Names written by a run carry its
claim's nonce, so the next claim knows exactly what a killed run may have left behind and removes it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from albums import broker, imaging, photos, storage
from albums.models import Photo, Section, Upload
from audit import context as audit_context
from audit.services import event_record
from devices import profiles, reports
from devices.models import Device
from jobs.models import FTPUser
from portal.celery import app as celery_app
from subjects import assignment, detect

logger = logging.getLogger(__name__)

RECEIVED, PROCESSING = Upload.State.RECEIVED, Upload.State.PROCESSING
DONE, REJECTED, FAILED = Upload.State.DONE, Upload.State.REJECTED, Upload.State.FAILED

INTERRUPTED = "processing was interrupted (the worker stopped)"
STATUS_REPORT = "status report"
# The sweeper queues at most this many uploads per run; the next run takes the rest.
SWEEP_BATCH = 1000
_REASON_LENGTH = Upload._meta.get_field("reason").max_length or 255


# --- queueing -----------------------------------------------------------------------------------


def upload_queue(upload_id: int) -> bool:
    """Queue the processing task; False when the broker cannot take it.

    Never raises: the caller is an SFTP close (or the sweeper), and the upload is already durable
    and ``received``, so the sweeper queues it once the broker is back. How long a publish may
    block on a dead broker is bounded in settings (connect/socket timeouts, publish retry policy).
    """
    try:
        # By name: the task module imports this one, and the SFTP or FTP server queueing here need
        # not import Celery task code at all.
        celery_app.send_task(broker.PROCESS_TASK, args=(upload_id,))
    except Exception:  # any broker or transport error: nothing is lost
        logger.warning("could not queue upload %s; the sweeper will queue it", upload_id, exc_info=True)
        return False
    return True


# --- claims -------------------------------------------------------------------------------------


def new_token(task_id: str | None = None) -> str:
    """A claim token for one run of the task ``task_id`` (a run outside Celery gets its own id)."""
    return f"{task_id or uuid.uuid4()}/{uuid.uuid4().hex[:12]}"


def _same_task(token: str) -> Q:
    return Q(claimed_by__startswith=token.rpartition("/")[0] + "/")


def _nonce(token: str) -> str:
    return token.rpartition("/")[2]


def _gave_up(attempts: int, last_error: str) -> str:
    text = f"could not be processed after {attempts} attempt{'s' if attempts != 1 else ''}"
    return _clip_reason(f"{text} (last error: {last_error})" if last_error else text)


def _clip_reason(text: str) -> str:
    return text if len(text) <= _REASON_LENGTH else text[: _REASON_LENGTH - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """A one-line description of a transient error for the upload log."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return _clip_reason(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def upload_claim(*, upload_id: int, token: str) -> Upload | None:
    """Take an upload for processing; None when another run holds it or it is finished.

    Counts one attempt. When the attempts are already used up (earlier runs died or kept failing)
    the upload ends ``failed`` here, with the last error, and None is returned.
    """
    now = timezone.now()
    claimable = Q(state=RECEIVED) | (Q(state=PROCESSING) & _same_task(token))
    with transaction.atomic():
        # The row lock makes "read the previous claim, then replace it" one step on PostgreSQL
        # (SQLite's IMMEDIATE transactions serialise writers anyway); the conditional UPDATE
        # below still decides on its own.
        before = (
            Upload.objects.select_for_update()
            .filter(claimable, pk=upload_id)
            .values("state", "claimed_by", "attempts", "reason")
            .first()
        )
        if before is None:
            return None
        # A claim found in "processing" belongs to a run of this same task that never finished.
        last_error = INTERRUPTED if before["state"] == PROCESSING else before["reason"]
        if before["attempts"] >= settings.INTAKE_MAX_ATTEMPTS:
            Upload.objects.filter(claimable, pk=upload_id).update(
                state=FAILED,
                reason=_gave_up(before["attempts"], last_error),
                claimed_by=token,
                finished_at=now,
                updated_at=now,
            )
            _record(upload_id, FAILED, _gave_up(before["attempts"], last_error))
            claimed = False
        else:
            claimed = bool(
                Upload.objects.filter(claimable, pk=upload_id).update(
                    state=PROCESSING,
                    claimed_by=token,
                    attempts=F("attempts") + 1,
                    reason=last_error,
                    updated_at=now,
                )
            )
        upload = Upload.objects.select_related("job", "album").get(pk=upload_id)
    if before["claimed_by"]:
        _remove_leftovers(upload, before["claimed_by"])
    if not claimed:
        logger.warning("upload %s failed: %s", upload_id, upload.reason)
        return None
    return upload


def _finish(upload: Upload, token: str, **fields: object) -> bool:
    """End the attempt under ``token``; False when the claim was lost meanwhile."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # usually inside the caller's: no savepoint round trips
        finished = bool(
            Upload.objects.filter(pk=upload.pk, state=PROCESSING, claimed_by=token).update(
                finished_at=now, updated_at=now, **fields
            )
        )
        if finished:
            _record(upload.pk, str(fields["state"]), str(fields.get("reason", "")), known=upload)
    return finished


def _record(upload_id: int, state: str, reason: str = "", *, action: str = "", known: Upload | None = None) -> None:
    """An upload's state change in the audit log: one INSERT (and a SELECT of its account and file
    name unless the caller has the row: ``known``).

    What the intake decides (done, rejected, failed) is the system's, whoever's request or task ran
    it; a re-process is whoever asked for it (``action``).
    """
    if known is not None:
        account_id, filename = known.account_id, known.filename
    else:
        account_id, filename = Upload.objects.filter(pk=upload_id).values_list("account_id", "filename").get()
    target = Upload(pk=upload_id, filename=filename, state=state)
    event = partial(
        event_record,
        action=action or f"upload.{state}",
        account=account_id,
        target=target,
        detail={"reason": reason} if reason else {},
    )
    if action:
        event()
        return
    with audit_context.acting(audit_context.SYSTEM):
        event()


class _LostClaim(Exception):
    """Another run took or finished this upload meanwhile; this run's work is rolled back."""


def upload_release(*, upload_id: int, token: str, error: BaseException) -> bool:
    """The run under ``token`` hit a transient error; True when it should be retried.

    The upload goes back to ``received`` with the error as its reason, or ends ``failed`` when this
    was its last attempt. False also when the claim was lost (another run owns the upload).
    """
    now = timezone.now()
    text = describe_error(error)
    with transaction.atomic():
        attempts = (
            Upload.objects.select_for_update()
            .filter(pk=upload_id, state=PROCESSING, claimed_by=token)
            .values_list("attempts", flat=True)
            .first()
        )
        if attempts is None:
            return False
        mine = Upload.objects.filter(pk=upload_id, state=PROCESSING, claimed_by=token)
        if attempts >= settings.INTAKE_MAX_ATTEMPTS:
            mine.update(state=FAILED, reason=_gave_up(attempts, text), finished_at=now, updated_at=now)
            _record(upload_id, FAILED, _gave_up(attempts, text))
            logger.warning("upload %s failed after %s attempts: %s", upload_id, attempts, text)
            return False
        mine.update(state=RECEIVED, reason=text, updated_at=now)
    logger.info("upload %s attempt %s failed, will retry: %s", upload_id, attempts, text)
    return True


def upload_fail(*, upload_id: int, task_id: str, reason: str, token: str | None = None) -> bool:
    """End a run that cannot usefully go on (too slow, out of memory, a bug) as ``failed``.

    ``token`` names the run; without it (the pool killed the run at its hard time limit and only
    its task id is known) any run of ``task_id`` matches.
    """
    claim = Q(claimed_by=token) if token else _same_task(f"{task_id}/")
    now = timezone.now()
    with transaction.atomic():
        held = Upload.objects.select_for_update().filter(claim, pk=upload_id, state=PROCESSING).first()
        if held is None:
            return False
        Upload.objects.filter(pk=upload_id, state=PROCESSING, claimed_by=held.claimed_by).update(
            state=FAILED, reason=_clip_reason(reason), finished_at=now, updated_at=now
        )
        _record(upload_id, FAILED, _clip_reason(reason))
    _remove_leftovers(held, held.claimed_by)
    logger.warning("upload %s failed: %s", upload_id, reason)
    return True


# --- storage names ------------------------------------------------------------------------------


def _rendition_name(upload: Upload, token: str, rendition: str) -> str:
    return storage.rendition_name(
        account_id=upload.account_id, upload_id=upload.pk, nonce=_nonce(token), rendition=rendition
    )


def _moved_name(upload: Upload, token: str, area: str) -> str:
    return storage.moved_name(
        area=area,
        account_id=upload.account_id,
        upload_id=upload.pk,
        received_at=upload.received_at,
        filename=upload.filename,
        nonce=_nonce(token),
    )


def _remove_leftovers(upload: Upload, token: str) -> None:
    """Delete what the run under ``token`` stored, unless something refers to it.

    Called when a later claim replaces that run, so only a run that never committed (it was
    killed, or lost its claim) can have left these names behind.
    """
    names = [_rendition_name(upload, token, r) for r in imaging.RENDITION_SIZES]
    names += [_moved_name(upload, token, area) for area in (storage.QUARANTINE, storage.UPLOADS)]
    # Belt and braces: the names carry this upload's id, so only the upload itself and the photo
    # it produced could ever refer to them.
    referenced = {upload.file.name}
    if upload.photo_id:
        referenced.update(*Photo.objects.filter(pk=upload.photo_id).values_list("original", "thumbnail", "preview"))
    _delete_quietly(n for n in names if n not in referenced)


def _delete_quietly(names: Iterable[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # a leftover file is untidy, not harmful; never fail the upload for it
            logger.warning("could not delete %s from storage", name, exc_info=True)


# --- processing ---------------------------------------------------------------------------------


def _limits(profile: profiles.Profile | None = None) -> imaging.ImagingLimits:
    limits = imaging.ImagingLimits(
        max_bytes=settings.INTAKE_MAX_BYTES,
        max_pixels=settings.INTAKE_MAX_PIXELS,
        formats=frozenset(name.upper() for name in settings.INTAKE_FORMATS),
    )
    return limits if profile is None else profile.limits(limits)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def upload_process(*, upload_id: int, token: str) -> str:
    """Turn a received upload into exactly one photo, or a rejection with a reason.

    Returns the state the upload ended in, or "" when this run had nothing to do (the upload is
    held by another run, finished, or gone). Transient errors (``OSError`` from storage, database
    errors) propagate after this run's stored files are removed; the task retries them.
    """
    upload = upload_claim(upload_id=upload_id, token=token)
    if upload is None:
        return ""
    stored: list[str] = []  # names this run wrote that nothing refers to until it commits
    try:
        return _process(upload, token, stored)
    except _LostClaim:
        logger.info("upload %s: claim lost to another run; nothing changed", upload_id)
        return ""
    except MemoryError:
        # Only a pathological file gets past the pixel limit and still exhausts memory; trying it
        # again would take the worker down again.
        _delete_quietly(stored)
        stored.clear()
        upload_fail(upload_id=upload_id, task_id="", token=token, reason="needs more memory than a worker has")
        return FAILED
    finally:
        _delete_quietly(stored)


def _device_of(upload: Upload) -> Device | None:
    if upload.ftp_user_id is None:
        return None
    return Device.objects.filter(pk=upload.ftp_user_id).first()


def _camera_path(upload: Upload) -> str:
    """The path a camera gave the file below its album (its own name, not the album's)."""
    return upload.source_path or upload.filename


def _process(upload: Upload, token: str, stored: list[str]) -> str:
    if upload.album is None:
        return _reject(upload, token, stored, sha256=upload.sha256, reason="its album was deleted")
    device = _device_of(upload)
    profile = None
    if device is not None:
        profile = profiles.get(device.profile)
        if profile.is_report(_camera_path(upload).rpartition("/")[2]):
            return _process_report(upload, token, stored, device, profile)
    rejection = ""
    # QR cards (DESIGN §10): scanned in the decode the renditions are made from.
    scanner = None
    if detect.wants_scan(album_id=upload.album_id, section=upload.section):
        scanner = detect.Scanner(job_public_id=upload.job.public_id)
    with storage.local_path(_stored(upload)) as path:
        sha256 = upload.sha256 or _sha256_of(path)
        try:
            info, renditions = imaging.analyse_image(
                path,
                filename=upload.filename,
                limits=_limits(profile),
                inspect=scanner,
                inspect_side=detect.MIN_SIDE,
            )
        except imaging.ImageRejected as exc:
            rejection = exc.reason
    if rejection:
        return _reject(upload, token, stored, sha256=sha256, reason=rejection)
    if profile is None:
        reading = profiles.Reading.from_exif(info)
    else:
        reading = profile.read(info, source_path=_camera_path(upload))
        if refusal := profile.refusal(reading):
            return _reject(upload, token, stored, sha256=sha256, reason=refusal)

    made: dict[str, str] = {}
    for rendition in renditions:
        made[rendition.name] = storage.save_bytes(_rendition_name(upload, token, rendition.name), rendition.data)
        stored.append(made[rendition.name])
    original = _accepted_original(upload, token, stored)

    with transaction.atomic():
        photo, reason, unused = _photo_from_upload(upload, sha256, info, reading, made, original)
        if not _finish(upload, token, state=DONE, reason=reason, sha256=sha256, photo=photo, file=original):
            raise _LostClaim
        if scanner is not None and scanner.found is not None:
            _record_scan(photo, sha256, info, reading, scanner.found)
    stored.clear()  # committed: these names are referred to now
    if original != _stored(upload):
        unused.append(_stored(upload))
    _delete_quietly(unused)
    logger.info("upload %s done: photo %s %s", upload.pk, photo.pk, reason)
    if scanner is not None:
        _assign(photo.album_id)
    return DONE


def _record_scan(
    photo: Photo, sha256: str, info: imaging.ImageInfo, reading: profiles.Reading, found: detect.Found
) -> None:
    """Keep what the scan found on the photo, when the photo shows these bytes as an individuals photo."""
    if photo.sha256 != sha256 or photo.section != Section.INDIVIDUALS:
        return  # a later upload's bytes, or the same bytes already a group photo
    # Sub-seconds belong to the EXIF time; a time a device profile read elsewhere has none.
    microsecond = info.taken_microsecond if reading.taken_at == info.taken_at else 0
    taken_at = detect.precise_time(photo.taken_at, microsecond)
    detect.scan_record(photo=photo, found=found, taken_at=taken_at)


def _assign(album_id: int) -> None:
    """Recompute the album's subjects now that a photo is done; the photo stands either way."""
    try:
        assignment.assign_album(album_id)
    except Exception:  # derived state: the next photo, move or review recomputes it
        logger.exception("assigning the subjects of album %s failed", album_id)


def _accepted_original(upload: Upload, token: str, stored: list[str]) -> str:
    """Where the accepted upload's bytes belong: a re-processed rejection comes back from quarantine."""
    original = _stored(upload)
    if original.startswith(f"{storage.QUARANTINE}/"):
        original = storage.copy(original, _moved_name(upload, token, storage.UPLOADS))
        stored.append(original)
    return original


def _process_report(upload: Upload, token: str, stored: list[str], device: Device, profile: profiles.Profile) -> str:
    """A device's status report: kept as the device's status, never a photo."""
    rejection = ""
    with storage.local_path(_stored(upload)) as path:
        sha256 = upload.sha256 or _sha256_of(path)
        try:
            fields = profile.parse_report(reports.read_text(path, max_bytes=profile.report_max_bytes))
        except reports.ReportRejected as exc:
            rejection = exc.reason
    if rejection:
        with transaction.atomic():  # read as a report by an earlier run, it is not one now
            reports.report_forget(upload=upload)
            return _reject(upload, token, stored, sha256=sha256, reason=rejection)
    original = _accepted_original(upload, token, stored)
    with transaction.atomic():
        reports.report_record(device=device, upload=upload, fields=fields)
        if not _finish(upload, token, state=DONE, reason=STATUS_REPORT, sha256=sha256, photo=None, file=original):
            raise _LostClaim
    stored.clear()
    if original != _stored(upload):
        _delete_quietly([_stored(upload)])
    logger.info("upload %s done: status report of device %s", upload.pk, device)
    return DONE


def _reject(upload: Upload, token: str, stored: list[str], *, sha256: str, reason: str) -> str:
    """Keep the bytes in quarantine and record the reason."""
    current = _stored(upload)
    target = current
    # The photo this upload made may still show these bytes (a re-processed upload judged by new
    # limits); its original must stay where it is.
    shown = upload.photo_id is not None and Photo.objects.filter(pk=upload.photo_id, original=current).exists()
    if not current.startswith(f"{storage.QUARANTINE}/") and not shown:
        target = storage.copy(current, _moved_name(upload, token, storage.QUARANTINE))
        stored.append(target)
    if not _finish(upload, token, state=REJECTED, reason=_clip_reason(reason), sha256=sha256, photo=None, file=target):
        raise _LostClaim
    stored.clear()
    if target != current:
        _delete_quietly([current])
    logger.info("upload %s rejected: %s", upload.pk, reason)
    return REJECTED


def _stored(upload: Upload) -> str:
    """The storage name of the bytes an upload owns (always set: ``file_finished`` stores them first)."""
    return upload.file.name or ""


def _clip(value: str, field: str) -> str:
    column = Photo._meta.get_field(field)
    assert isinstance(column, models.CharField) and column.max_length
    return value[: column.max_length]


def _photo_from_upload(
    upload: Upload,
    sha256: str,
    info: imaging.ImageInfo,
    reading: profiles.Reading,
    renditions: dict[str, str],
    original: str,
) -> tuple[Photo, str, list[str]]:
    """Create, replace or reuse the photo (inside the caller's transaction).

    Returns the photo, the reason to record and the stored names that are no longer needed.
    """
    album = upload.album
    assert album is not None
    fresh = list(renditions.values())
    at_path = (
        Photo.objects.select_for_update().filter(album=album, folder=upload.folder, filename=upload.filename).first()
    )
    if at_path is not None and _from_device(upload):
        # A camera's files never replace each other (DESIGN §9): the older photo keeps its bytes.
        if at_path.sha256 == sha256:
            return at_path, "same bytes as the photo already there", _ensure_renditions(at_path, renditions)
        photos.photo_set_aside(photo=at_path)
        at_path = None
    if at_path is not None:
        # The upload whose bytes the photo shows: a later one for the same path wins, whatever
        # order the workers finish in.
        newer = (
            Upload.objects.filter(photo=at_path, file=at_path.original.name, pk__gt=upload.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if newer is not None:
            return at_path, f"replaced by upload {newer} of the same file, received later", fresh
        if at_path.sha256 == sha256:
            return at_path, "same bytes as the photo already there", _ensure_renditions(at_path, renditions)
        if not photos.photo_hand_over(photo=at_path):  # else another path keeps that picture
            old = [at_path.thumbnail.name, at_path.preview.name]
            _fill(at_path, upload, sha256, info, reading, renditions, original)
            at_path.save()
            return at_path, "", [name for name in old if name]

    duplicate = Photo.objects.select_for_update().filter(album=album, sha256=sha256).order_by("pk").first()
    if duplicate is not None:
        where = "/".join(p for p in (duplicate.folder, duplicate.filename) if p)
        reason = f"duplicate of photo {duplicate.pk} ({where}), same bytes"
        return duplicate, reason, _ensure_renditions(duplicate, renditions)

    photo = Photo(album=album, folder=upload.folder, filename=upload.filename)
    _fill(photo, upload, sha256, info, reading, renditions, original)
    photo.save()
    return photo, "", []


def _from_device(upload: Upload) -> bool:
    return upload.ftp_user is not None and upload.ftp_user.kind == FTPUser.Kind.DEVICE


def _fill(
    photo: Photo,
    upload: Upload,
    sha256: str,
    info: imaging.ImageInfo,
    reading: profiles.Reading,
    renditions: dict[str, str],
    original: str,
) -> None:
    photo.section = upload.section
    photo.original = original
    photo.thumbnail = renditions.get("thumb", "")
    photo.preview = renditions.get("preview", "")
    photo.sha256 = sha256
    photo.size = upload.size
    photo.width, photo.height, photo.format = info.width, info.height, info.format
    # EXIF (and file-name) times are the camera's wall clock without a zone: read them in the
    # portal's TIME_ZONE.
    photo.taken_at = timezone.make_aware(reading.taken_at) if reading.taken_at else None
    # EXIF strings are whatever the camera (or a hostile file) wrote: clip them to the columns.
    photo.camera_make = _clip(info.camera_make, "camera_make")
    photo.camera_model = _clip(info.camera_model, "camera_model")
    photo.camera_serial = _clip(info.camera_serial, "camera_serial")
    photo.camera_id = _clip(reading.camera_id, "camera_id")
    photo.gps_latitude, photo.gps_longitude = reading.latitude, reading.longitude
    photo.uploaded_by_id = upload.ftp_user_id


def _ensure_renditions(photo: Photo, renditions: dict[str, str]) -> list[str]:
    """Give an existing photo the fresh renditions it is missing; return the ones not used."""
    unused = []
    changed = False
    for field, key in (("thumbnail", "thumb"), ("preview", "preview")):
        current = getattr(photo, field).name
        fresh = renditions.get(key, "")
        if fresh and (not current or not storage.exists(current)):
            setattr(photo, field, fresh)
            changed = True
        elif fresh:
            unused.append(fresh)
    if changed:
        photo.save(update_fields=["thumbnail", "preview", "updated_at"])
    return unused


# --- the sweeper and the operator ---------------------------------------------------------------


def upload_sweep(*, limit: int = SWEEP_BATCH) -> int:
    """Queue uploads stuck in ``received`` or ``processing`` beyond INTAKE_STUCK_AFTER seconds, when
    their message can really be lost.

    A ``processing`` upload that old lost its worker (the threshold is above the hard time limit):
    it goes back to ``received``, keeping its claim token so the next claim can clear what that run
    left behind. An upload whose message is still in the broker (waiting in the queue, or delivered
    and not yet acknowledged, see ``albums.broker``) is left alone: a backlog is slow, not lost, and
    queueing it again would only double it. Where the broker cannot be looked into, an upload is
    queued again at growing intervals (INTAKE_STUCK_AFTER, then twice that, four times ...). Each
    row is taken with a conditional UPDATE on its ``updated_at``, so when two schedulers sweep at
    once only one of them queues it. Returns the number of uploads queued.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.INTAKE_STUCK_AFTER)
    stuck = list(
        Upload.objects.filter(state__in=(RECEIVED, PROCESSING), updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", "state", "updated_at", "requeued")[:limit]
    )
    if not stuck:
        return 0
    waiting = broker.waiting_upload_ids()
    queued = 0
    for upload_id, state, updated_at, requeued in stuck:
        has_message = waiting is not None and upload_id in waiting
        if waiting is None and now - updated_at < timedelta(
            seconds=settings.INTAKE_STUCK_AFTER * 2 ** min(requeued, 6)
        ):
            continue  # no way to look: back off
        changes: dict[str, object] = {"updated_at": now}
        if state == PROCESSING:
            changes.update(state=RECEIVED, reason=INTERRUPTED)
        if not has_message:
            changes["requeued"] = F("requeued") + 1
        if (
            Upload.objects.filter(pk=upload_id, state=state, updated_at=updated_at).update(**changes)
            and not has_message
        ):
            upload_queue(upload_id)
            queued += 1
    if queued:
        logger.info("sweeper queued %d stuck upload(s) whose message was missing", queued)
    return queued


def upload_reprocess(*, upload_ids: list[int]) -> list[int]:
    """Process uploads again (the operator's action); returns the ids queued.

    Finished uploads go back to ``received`` with a fresh set of attempts. An upload being
    processed is left alone (if its worker is gone the sweeper re-queues it).
    """
    queued = []
    for upload_id in upload_ids:
        with transaction.atomic():
            updated = (
                Upload.objects.filter(pk=upload_id)
                .exclude(state=PROCESSING)
                .update(
                    state=RECEIVED,
                    reason="",
                    attempts=0,
                    finished_at=None,
                    updated_at=timezone.now(),
                    # A finished run's token must not be taken for a killed one's: its files are in use.
                    claimed_by=Case(When(state=RECEIVED, then=F("claimed_by")), default=Value("")),
                )
            )
            if updated:
                transaction.on_commit(partial(upload_queue, upload_id))
                queued.append(upload_id)
                _record(upload_id, RECEIVED, action="upload.reprocess")
    return queued
