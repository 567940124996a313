"""Tests for albums.intake: claims, processing, quarantine, the sweeper and re-processing.

These call the services directly (the broker is replaced by a list of queued ids); the real worker
runs in tests/albums/test_tasks.py and the end-to-end tests.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.files.storage import DefaultStorage, default_storage
from django.db import OperationalError
from django.utils import timezone
from PIL import Image
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from albums import imaging, intake, services, storage
from albums.models import Album, Door, Photo, Upload
from albums.services import FilePath, ReceivedFile
from jobs.models import FTPUser, PhotoJob
from tests.helpers import file_name, register_upload
from tests.images import camera_exif, encode, jpeg, picture

Register = Callable[..., Upload]


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    """Each test gets its own storage, so file assertions see only that test's files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def register(album: Album, ftp_user: FTPUser, queued: list[int]) -> Register:
    """Record a finished file the way the doors do."""

    def register(filename: str, data: bytes, *, folder: str = "", into: Album | None = None) -> Upload:
        return register_upload(into or album, filename, data, folder=folder, ftp_user=ftp_user)

    return register


def process(upload: Upload, task_id: str | None = None) -> str:
    """One run of the processing task."""
    return intake.upload_process(upload_id=upload.pk, token=intake.new_token(task_id))


def stored_files(media_root: Path, prefix: str = "") -> list[str]:
    base = media_root / prefix
    if not base.exists():
        return []
    return sorted(str(p.relative_to(media_root)) for p in base.rglob("*") if p.is_file())


def open_stored(name: str) -> Image.Image:
    with default_storage.open(name) as f:
        return Image.open(io.BytesIO(f.read()))


# --- claims --------------------------------------------------------------------------------------


def test_a_claim_takes_a_received_upload_and_counts_an_attempt(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    token = intake.new_token("task-1")

    claimed = intake.upload_claim(upload_id=upload.pk, token=token)

    assert claimed is not None
    assert (claimed.state, claimed.claimed_by, claimed.attempts) == ("processing", token, 1)


def test_another_task_cannot_claim_an_upload_being_processed(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    assert intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-1"))

    assert intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-2")) is None
    assert process(upload, "task-2") == ""
    assert Upload.objects.get().attempts == 1


def test_a_redelivered_task_takes_back_the_claim_of_its_killed_run(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    assert intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-1"))
    # The worker dies here; the broker delivers the same message, with the same task id, again.
    again = intake.new_token("task-1")

    claimed = intake.upload_claim(upload_id=upload.pk, token=again)

    assert claimed is not None
    assert (claimed.claimed_by, claimed.attempts, claimed.reason) == (again, 2, intake.INTERRUPTED)


def test_the_next_claim_removes_what_a_killed_run_had_stored(register: Register, media_root: Path) -> None:
    upload = register("a.jpg", jpeg())
    killed = intake.new_token("task-1")
    intake.upload_claim(upload_id=upload.pk, token=killed)
    thumb = storage.save_bytes(intake._rendition_name(upload, killed, "thumb"), b"half a run")
    assert stored_files(media_root, "photos") == [thumb]

    assert process(upload, "task-1") == "done"

    photo = Photo.objects.get()
    assert stored_files(media_root, "photos") == sorted([file_name(photo.thumbnail), file_name(photo.preview)])


def test_an_upload_whose_worker_keeps_dying_ends_failed(register: Register, settings: Settings) -> None:
    settings.INTAKE_MAX_ATTEMPTS = 3
    upload = register("a.jpg", jpeg())
    for _ in range(3):  # each run is killed before it finishes
        assert intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-1"))

    assert intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-1")) is None

    upload.refresh_from_db()
    assert (upload.state, upload.attempts) == ("failed", 3)
    assert (
        upload.reason
        == "could not be processed after 3 attempts (last error: processing was interrupted (the worker stopped))"
    )
    assert upload.finished_at is not None
    assert not Photo.objects.exists()


def test_a_transient_error_sends_the_upload_back_for_a_retry(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    token = intake.new_token("task-1")
    intake.upload_claim(upload_id=upload.pk, token=token)

    assert intake.upload_release(upload_id=upload.pk, token=token, error=OperationalError("database is locked"))

    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("received", "OperationalError: database is locked")
    assert process(upload, "task-1") == "done"  # the retry
    upload.refresh_from_db()
    assert (upload.state, upload.reason, upload.attempts) == ("done", "", 2)


def test_a_transient_error_on_the_last_attempt_ends_the_upload_failed(register: Register, settings: Settings) -> None:
    settings.INTAKE_MAX_ATTEMPTS = 1
    upload = register("a.jpg", jpeg())
    token = intake.new_token("task-1")
    intake.upload_claim(upload_id=upload.pk, token=token)

    assert not intake.upload_release(upload_id=upload.pk, token=token, error=OSError(5, "Input/output error"))

    upload.refresh_from_db()
    assert upload.state == "failed"
    assert upload.reason == "could not be processed after 1 attempt (last error: OSError: [Errno 5] Input/output error)"


def test_a_release_by_a_run_that_lost_its_claim_changes_nothing(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    old = intake.new_token("task-1")
    intake.upload_claim(upload_id=upload.pk, token=old)
    new = intake.new_token("task-1")
    intake.upload_claim(upload_id=upload.pk, token=new)

    assert not intake.upload_release(upload_id=upload.pk, token=old, error=OSError("gone"))
    assert Upload.objects.get().claimed_by == new


def test_a_run_over_its_time_limit_ends_failed_and_only_that_tasks_run(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-9"))

    assert not intake.upload_fail(upload_id=upload.pk, task_id="task-8", reason="processing took longer than 6 seconds")
    assert intake.upload_fail(upload_id=upload.pk, task_id="task-9", reason="processing took longer than 6 seconds")

    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("failed", "processing took longer than 6 seconds")


# --- processing ----------------------------------------------------------------------------------


def test_a_jpeg_becomes_a_photo_with_its_metadata_and_clean_renditions(register: Register, ftp_user: FTPUser) -> None:
    data = jpeg((3000, 2000), exif=camera_exif(orientation=6))
    upload = register("IMG_0001.JPG", data, folder="group")

    assert process(upload) == "done"

    upload.refresh_from_db()
    photo = Photo.objects.get()
    assert upload.photo == photo and upload.reason == ""
    assert upload.sha256 == photo.sha256 == hashlib.sha256(data).hexdigest()
    assert (photo.section, photo.folder, photo.filename) == ("group", "group", "IMG_0001.JPG")
    assert (photo.width, photo.height, photo.format, photo.size) == (2000, 3000, "JPEG", len(data))
    assert photo.taken_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)  # TIME_ZONE is UTC
    assert (photo.camera_make, photo.camera_model, photo.camera_serial) == ("Canon", "Canon EOS R5", "032021001234")
    assert photo.gps_latitude == pytest.approx(-33.86) and photo.gps_longitude == pytest.approx(-151.215)
    assert photo.uploaded_by == ftp_user
    assert photo.original.name == upload.file.name
    assert default_storage.open(file_name(photo.original)).read() == data
    for name, long_side in ((file_name(photo.thumbnail), 400), (file_name(photo.preview), 2048)):
        img = open_stored(name)
        assert img.width < img.height and max(img.size) == long_side  # orientation applied
        assert "exif" not in img.info and dict(img.getexif()) == {}  # no metadata, so no GPS


def test_metadata_longer_than_the_columns_is_clipped(register: Register) -> None:
    exif = camera_exif()
    exif[0x010F] = "M" * 300
    exif[0x0110] = "Model " * 60
    exif.get_ifd(0x8769)[0xA431] = "9" * 150
    upload = register("a.jpg", jpeg(exif=exif))

    assert process(upload) == "done"

    photo = Photo.objects.get()
    assert photo.camera_make == "M" * 100
    assert len(photo.camera_model) == 100 and photo.camera_serial == "9" * 100


def test_running_the_task_again_after_it_finished_does_nothing(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    assert process(upload, "task-1") == "done"

    assert process(upload, "task-1") == ""
    assert process(upload, "task-2") == ""
    assert Photo.objects.count() == 1
    assert Upload.objects.get().attempts == 1


def test_identical_bytes_under_another_name_point_at_the_existing_photo(register: Register, media_root: Path) -> None:
    data = jpeg((800, 600))
    first = register("a.jpg", data)
    process(first)
    again = register("copy of a.jpg", data, folder="individuals")

    assert process(again) == "done"

    again.refresh_from_db()
    photo = Photo.objects.get()
    assert again.photo == photo
    assert again.reason == f"duplicate of photo {photo.pk} (a.jpg), same bytes"
    # The duplicate's renditions were not kept.
    assert stored_files(media_root, "photos") == sorted([file_name(photo.thumbnail), file_name(photo.preview)])


def test_identical_bytes_in_another_album_make_their_own_photo(register: Register, planned_job: PhotoJob) -> None:
    other = services.album_create(job=planned_job, name="Class 2")
    data = jpeg()
    process(register("a.jpg", data))
    process(register("a.jpg", data, into=other))

    assert Photo.objects.count() == 2


def test_a_new_upload_to_the_same_path_replaces_the_photo_content(register: Register, media_root: Path) -> None:
    first = register("a.jpg", jpeg((800, 600)))
    process(first)
    photo = Photo.objects.get()
    old_renditions = {photo.thumbnail.name, photo.preview.name}
    newer_bytes = jpeg((600, 900), quality=70)
    second = register("a.jpg", newer_bytes)

    assert process(second) == "done"

    replaced = Photo.objects.get()
    assert replaced.pk == photo.pk
    assert (replaced.width, replaced.height, replaced.size) == (600, 900, len(newer_bytes))
    assert replaced.original.name == Upload.objects.get(pk=second.pk).file.name
    assert {replaced.thumbnail.name, replaced.preview.name}.isdisjoint(old_renditions)
    assert stored_files(media_root, "photos") == sorted([file_name(replaced.thumbnail), file_name(replaced.preview)])
    assert open_stored(file_name(replaced.thumbnail)).size == (267, 400)
    # The first upload's bytes stay with it, in the log.
    assert default_storage.exists(file_name(Upload.objects.get(pk=first.pk).file))


def test_the_same_bytes_to_the_same_path_keep_the_photo(register: Register) -> None:
    data = jpeg()
    process(register("a.jpg", data))
    again = register("a.jpg", data)

    assert process(again) == "done"

    again.refresh_from_db()
    assert again.photo == Photo.objects.get()
    assert again.reason == "same bytes as the photo already there"


def test_an_older_upload_processed_late_does_not_overwrite_a_newer_one(register: Register) -> None:
    older = register("a.jpg", jpeg((800, 600)))
    process(older)
    newer = register("a.jpg", jpeg((400, 300)))
    process(newer)

    assert intake.upload_reprocess(upload_ids=[older.pk]) == [older.pk]
    assert process(older) == "done"

    older.refresh_from_db()
    photo = Photo.objects.get()
    assert older.reason == f"replaced by upload {newer.pk} of the same file, received later"
    assert older.photo == photo
    assert (photo.width, photo.height) == (400, 300)


def test_a_photo_missing_its_renditions_gets_them_back_when_processed_again(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    process(upload)
    photo = Photo.objects.get()
    default_storage.delete(file_name(photo.thumbnail))

    intake.upload_reprocess(upload_ids=[upload.pk])
    assert process(upload) == "done"

    photo.refresh_from_db()
    assert default_storage.exists(file_name(photo.thumbnail))
    assert open_stored(file_name(photo.thumbnail)).size == (300, 200)


# --- rejections and quarantine -------------------------------------------------------------------


def test_a_rejected_upload_is_kept_in_quarantine_with_its_reason(register: Register, media_root: Path) -> None:
    data = b"Shoot list: bride, groom, cake\n" * 20
    upload = register("notes.jpg", data)
    received_as = file_name(upload.file)
    assert received_as.startswith(f"uploads/{upload.account_id}/")

    assert process(upload) == "rejected"

    upload.refresh_from_db()
    assert (upload.state, upload.reason, upload.photo) == ("rejected", "not an image", None)
    day = timezone.localtime(upload.received_at).strftime("%Y/%m/%d")
    assert file_name(upload.file).startswith(f"quarantine/{upload.account_id}/{day}/{upload.pk}-")
    assert file_name(upload.file).endswith(".jpg")
    assert default_storage.open(file_name(upload.file)).read() == data
    assert not default_storage.exists(received_as)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(media_root, "photos") == []
    assert not Photo.objects.exists()


def test_a_quarantined_upload_accepted_when_processed_again_leaves_quarantine(
    register: Register, settings: Settings
) -> None:
    settings.INTAKE_FORMATS = ["JPEG"]
    upload = register("logo.png", encode(picture(), "PNG"))
    process(upload)
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("rejected", "file type .png is not accepted")
    quarantined = file_name(upload.file)

    settings.INTAKE_FORMATS = ["JPEG", "PNG"]
    intake.upload_reprocess(upload_ids=[upload.pk])
    assert process(upload) == "done"

    upload.refresh_from_db()
    assert file_name(upload.file).startswith(f"uploads/{upload.account_id}/")
    assert Photo.objects.get().original.name == upload.file.name
    assert not default_storage.exists(quarantined)
    assert default_storage.exists(file_name(upload.file))


def test_a_photos_original_stays_put_when_its_upload_is_rejected_on_reprocess(
    register: Register, settings: Settings
) -> None:
    upload = register("a.jpg", jpeg((300, 200)))
    process(upload)
    settings.INTAKE_MAX_PIXELS = 10_000  # an operator lowers the limit and processes it again

    intake.upload_reprocess(upload_ids=[upload.pk])
    assert process(upload) == "rejected"

    upload.refresh_from_db()
    photo = Photo.objects.get()
    assert upload.file.name == photo.original.name and file_name(upload.file).startswith("uploads/")
    assert default_storage.exists(file_name(photo.original))


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("INTAKE_MAX_BYTES", 1000, "larger than 0.000953674 MB"),
        ("INTAKE_MAX_PIXELS", 10_000, "image has more than 0.01 megapixels"),
        ("INTAKE_FORMATS", ["PNG"], "file type .jpg is not accepted"),
    ],
)
def test_the_limits_come_from_settings(
    register: Register, settings: Settings, setting: str, value: object, reason: str
) -> None:
    setattr(settings, setting, value)
    upload = register("a.jpg", jpeg((300, 200)))
    process(upload)
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("rejected", reason)


def test_a_file_over_the_default_size_limit_is_rejected(
    album: Album, ftp_user: FTPUser, tmp_path: Path, queued: list[int]
) -> None:
    local = tmp_path / "huge.jpg"
    with local.open("wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: costs no disk or time
    stored = storage.store_local_file(local, storage.upload_name(account_id=album.job.account_id, filename="huge.jpg"))
    upload = services.file_finished(
        where=FilePath(album=album, folder="", filename="huge.jpg"),
        received=ReceivedFile(
            stored_name=stored,
            size=local.stat().st_size,
            sha256="",
            ftp_user=ftp_user,
            door=Door.SFTP,
            client_address=None,
        ),
    )
    process(upload)
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("rejected", "larger than 50 MB")


def test_an_upload_whose_album_was_deleted_is_rejected(register: Register, album: Album) -> None:
    upload = register("a.jpg", jpeg())
    album.delete()

    assert process(upload) == "rejected"
    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("rejected", "its album was deleted")
    assert file_name(upload.file).startswith("quarantine/")


# --- runs that meet trouble ----------------------------------------------------------------------


def test_a_missing_original_is_a_storage_error_to_retry_not_a_rejection(register: Register) -> None:
    upload = register("a.jpg", jpeg())
    os.rename(default_storage.path(file_name(upload.file)), default_storage.path(file_name(upload.file)) + ".away")

    with pytest.raises(FileNotFoundError):
        process(upload)

    upload.refresh_from_db()
    assert upload.state == "processing"  # the task releases it for a retry (tests/albums/test_tasks.py)
    assert not Photo.objects.exists()


def test_a_storage_error_while_saving_renditions_leaves_no_files(
    register: Register, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = register("a.jpg", jpeg())
    real_save = storage.save_bytes
    saves: list[str] = []

    def second_save_fails(name: str, data: bytes) -> str:
        saves.append(name)
        if len(saves) == 2:
            raise OSError(28, "No space left on device")
        return real_save(name, data)

    monkeypatch.setattr(storage, "save_bytes", second_save_fails)
    with pytest.raises(OSError, match="No space left"):
        process(upload)

    assert stored_files(media_root, "photos") == []
    assert not Photo.objects.exists()


def test_a_file_deleted_over_sftp_while_it_is_processed_makes_no_photo(
    register: Register, album: Album, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = register("a.jpg", jpeg())
    real_analyse = imaging.analyse_image

    def photographer_deletes_it_meanwhile(
        *args: Any, **kwargs: Any
    ) -> tuple[imaging.ImageInfo, list[imaging.Rendition]]:
        result = real_analyse(*args, **kwargs)
        services.file_removed(where=FilePath(album=album, folder="", filename="a.jpg"), door=Door.SFTP)
        return result

    monkeypatch.setattr(imaging, "analyse_image", photographer_deletes_it_meanwhile)
    assert process(upload) == ""

    upload.refresh_from_db()
    assert upload.state == "rejected" and "deleted" in upload.reason
    assert not Photo.objects.exists()
    assert stored_files(media_root, "photos") == []


def test_a_run_that_lost_its_claim_to_a_redelivery_commits_nothing(
    register: Register, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = register("a.jpg", jpeg())
    real_analyse = imaging.analyse_image
    redelivery = intake.new_token("task-1")

    def redelivered_meanwhile(*args: Any, **kwargs: Any) -> tuple[imaging.ImageInfo, list[imaging.Rendition]]:
        result = real_analyse(*args, **kwargs)
        assert intake.upload_claim(upload_id=upload.pk, token=redelivery)
        return result

    monkeypatch.setattr(imaging, "analyse_image", redelivered_meanwhile)
    assert process(upload, "task-1") == ""

    assert not Photo.objects.exists()
    assert stored_files(media_root, "photos") == []
    assert Upload.objects.get().claimed_by == redelivery


def test_processing_works_on_a_storage_that_is_not_the_filesystem(
    register: Register, settings: Settings, media_root: Path
) -> None:
    # What S3-compatible storage looks like to the code: names and file objects, no paths.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    good = register("a.jpg", jpeg((900, 600)))
    bad = register("b.jpg", b"not a picture")

    assert process(good) == "done"
    assert process(bad) == "rejected"

    photo = Photo.objects.get()
    assert open_stored(file_name(photo.preview)).size == (900, 600)
    bad.refresh_from_db()
    assert file_name(bad.file).startswith("quarantine/")
    assert default_storage.open(file_name(bad.file)).read() == b"not a picture"
    # Really no filesystem underneath: nothing was written to disk. (default_storage is the lazy
    # DefaultStorage proxy, which django-stubs types as the Storage it stands for.)
    assert type(cast(DefaultStorage, default_storage)._wrapped).__name__ == "InMemoryStorage"
    assert stored_files(media_root) == []


# --- the sweeper and re-processing ---------------------------------------------------------------


def _age(upload: Upload, seconds: int) -> None:
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def test_the_sweeper_queues_uploads_stuck_in_received(
    register: Register, queued: list[int], settings: Settings
) -> None:
    settings.INTAKE_STUCK_AFTER = 600
    stuck = register("a.jpg", jpeg())
    register("b.jpg", jpeg((20, 20)))  # just arrived: not stuck
    _age(stuck, 601)
    queued.clear()

    assert intake.upload_sweep() == 1

    assert queued == [stuck.pk]
    assert intake.upload_sweep() == 0  # queued just now: not stuck again until the threshold passes


def test_the_sweeper_returns_uploads_of_dead_workers_to_received(register: Register, queued: list[int]) -> None:
    upload = register("a.jpg", jpeg())
    intake.upload_claim(upload_id=upload.pk, token=intake.new_token("task-1"))
    _age(upload, 3600)
    queued.clear()

    assert intake.upload_sweep() == 1

    upload.refresh_from_db()
    assert (upload.state, upload.reason) == ("received", intake.INTERRUPTED)
    assert queued == [upload.pk]
    assert process(upload, "task-2") == "done"  # the sweeper's task, a new task id


def test_two_sweepers_at_once_queue_each_stuck_upload_once(register: Register, queued: list[int]) -> None:
    uploads = [register(f"{n}.jpg", jpeg((20 + n, 20))) for n in range(4)]
    for upload in uploads:
        _age(upload, 3600)
    queued.clear()
    record = intake.upload_queue
    nested: list[int] = []

    def second_scheduler_sweeps_now(upload_id: int) -> bool:
        # The first sweep has read its list of stuck uploads and queues the first one; a second
        # scheduler sweeps in that very moment.
        if not nested:
            nested.append(-1)
            nested[0] = intake.upload_sweep()
        return record(upload_id)

    intake.upload_queue = second_scheduler_sweeps_now
    try:
        first = intake.upload_sweep()
    finally:
        intake.upload_queue = record

    assert first + nested[0] == 4
    assert sorted(queued) == sorted(u.pk for u in uploads)  # each exactly once


def test_reprocess_queues_finished_uploads_again_and_skips_one_being_processed(
    register: Register, queued: list[int], django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    done = register("a.jpg", jpeg())
    process(done)
    rejected = register("b.jpg", b"text")
    process(rejected)
    busy = register("c.jpg", jpeg((10, 10)))
    intake.upload_claim(upload_id=busy.pk, token=intake.new_token())
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        ids = intake.upload_reprocess(upload_ids=[done.pk, rejected.pk, busy.pk])

    assert ids == queued == [done.pk, rejected.pk]
    for upload in (done, rejected):
        upload.refresh_from_db()
        assert (upload.state, upload.reason, upload.attempts, upload.finished_at) == ("received", "", 0, None)
    assert Upload.objects.get(pk=busy.pk).state == "processing"


def test_reprocessing_a_done_upload_keeps_its_photo_and_renditions(register: Register, media_root: Path) -> None:
    upload = register("a.jpg", jpeg())
    process(upload)
    before = set(stored_files(media_root))

    intake.upload_reprocess(upload_ids=[upload.pk])
    assert process(upload) == "done"

    assert Photo.objects.count() == 1
    assert set(stored_files(media_root)) == before


# --- queueing ------------------------------------------------------------------------------------


def test_queueing_never_raises_when_the_broker_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from portal.celery import app as celery_app

    def broker_down(*args: object, **kwargs: object) -> None:
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    assert intake.upload_queue(42) is False
    assert "could not queue upload 42" in caplog.text


def test_describe_error_keeps_the_first_line_and_fits_the_column() -> None:
    assert intake.describe_error(OperationalError("server closed the connection\nunexpectedly")) == (
        "OperationalError: server closed the connection"
    )
    assert len(intake.describe_error(OSError("x" * 1000))) == 255
