"""The Celery side of intake, with a real worker (a thread on this session's queue and broker).

Faults that need the worker in its own process (killed mid-task, time limits, the broker away)
are in tests/e2e/test_intake_faults.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import task_postrun
from celery.worker.worker import WorkController
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from albums import imaging, outbox
from albums.models import Album, Photo, Upload
from albums.tasks import process_upload, retry_delay, sweep_uploads
from jobs.models import FTPUser
from portal.celery import app as celery_app
from tests.helpers import file_name, register_upload, wait_for
from tests.images import jpeg

pytestmark = pytest.mark.e2e

Register = Callable[[str, bytes], Upload]


@pytest.fixture
def register(album: Album, ftp_user: FTPUser) -> Register:
    def register(filename: str, data: bytes) -> Upload:
        return register_upload(album, filename, data, ftp_user=ftp_user)

    return register


@pytest.fixture
def runs() -> Iterator[list[tuple[str, Any]]]:
    """(task id, return value) of every process_upload run the worker finishes."""
    seen: list[tuple[str, Any]] = []

    def record(sender: Any = None, task_id: str = "", retval: Any = None, **kwargs: Any) -> None:
        if sender is not None and sender.name == "albums.process_upload":
            seen.append((task_id, retval))

    task_postrun.connect(record, weak=False)
    yield seen
    task_postrun.disconnect(record)


@contextmanager
def photo_inserts_failing() -> Iterator[Callable[[], None]]:
    """A real database error: a trigger makes every INSERT into the photo table fail.

    Yields a function that removes the trigger (also removed on exit).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER intake_test_fail BEFORE INSERT ON albums_photo "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION intake_test_fail() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER intake_test_fail BEFORE INSERT ON albums_photo "
                "FOR EACH ROW EXECUTE FUNCTION intake_test_fail()"
            )

    def remove() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("DROP TRIGGER IF EXISTS intake_test_fail")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS intake_test_fail ON albums_photo")
                cursor.execute("DROP FUNCTION IF EXISTS intake_test_fail()")

    try:
        yield remove
    finally:
        remove()


def state_of(upload: Upload) -> tuple[str, str]:
    upload.refresh_from_db()
    return upload.state, upload.reason


# --- configuration -------------------------------------------------------------------------------


def test_processing_is_configured_for_at_least_once_delivery() -> None:
    assert process_upload.name == "albums.process_upload"
    assert sweep_uploads.name == "albums.sweep_uploads"
    assert process_upload.acks_late is True
    assert process_upload.reject_on_worker_lost is True
    conf = celery_app.conf
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.task_time_limit < django_settings.INTAKE_STUCK_AFTER
    # A publish inside an SFTP close is bounded: one quick retry, no endless reconnecting.
    assert conf.task_publish_retry_policy["max_retries"] == 1
    if conf.broker_url.startswith("redis"):
        options = conf.broker_transport_options
        assert options["visibility_timeout"] > conf.task_time_limit + django_settings.INTAKE_RETRY_DELAY_MAX
        assert options["socket_connect_timeout"] and options["socket_timeout"]


def test_beat_runs_the_sweeper_every_interval_and_drops_sweeps_nobody_ran() -> None:
    entry = celery_app.conf.beat_schedule["sweep stuck uploads"]
    assert entry["task"] == "albums.sweep_uploads"
    assert entry["schedule"] == float(django_settings.INTAKE_SWEEP_INTERVAL)
    assert entry["options"]["expires"] == float(django_settings.INTAKE_SWEEP_INTERVAL)


def test_retries_wait_longer_each_time_with_jitter_up_to_the_maximum(settings: Settings) -> None:
    settings.INTAKE_RETRY_DELAY, settings.INTAKE_RETRY_DELAY_MAX = 2, 300
    for retries, full in [(0, 2), (1, 4), (2, 8), (7, 256), (8, 300), (30, 300)]:
        delays = [retry_delay(retries) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1


# --- with the worker -----------------------------------------------------------------------------


def test_a_database_error_during_the_task_is_retried(
    register: Register, celery_worker: WorkController, settings: Settings
) -> None:
    settings.INTAKE_RETRY_DELAY = 1  # the first retry comes 0.5-1 s later
    with photo_inserts_failing() as repair:
        upload = register("a.jpg", jpeg())
        wait_for(lambda: "injected failure" in state_of(upload)[1])
        assert upload.state in ("received", "processing")
        repair()
        wait_for(lambda: state_of(upload)[0] == "done")

    assert upload.reason == ""
    assert upload.attempts >= 2
    assert upload.photo == Photo.objects.get()


def test_a_task_whose_database_errors_persist_ends_failed(
    register: Register, celery_worker: WorkController, settings: Settings
) -> None:
    settings.INTAKE_RETRY_DELAY = 1
    settings.INTAKE_MAX_ATTEMPTS = 2
    with photo_inserts_failing():
        upload = register("a.jpg", jpeg())
        wait_for(lambda: state_of(upload)[0] == "failed")

    assert upload.attempts == 2
    assert upload.reason.startswith("could not be processed after 2 attempts (last error: ")
    assert "injected failure" in upload.reason
    assert not Photo.objects.exists()


def test_a_storage_error_during_the_task_is_retried(
    transactional_db: None, register: Register, request: pytest.FixtureRequest, settings: Settings
) -> None:
    settings.INTAKE_RETRY_DELAY = 1
    upload = register("a.jpg", jpeg())  # queued; no worker yet
    path = default_storage.path(file_name(upload.file))
    os.rename(path, path + ".away")  # the storage volume is briefly unavailable

    request.getfixturevalue("celery_worker")  # the worker starts now
    wait_for(lambda: "FileNotFoundError" in state_of(upload)[1])
    os.rename(path + ".away", path)
    wait_for(lambda: state_of(upload)[0] == "done")

    assert upload.attempts >= 2
    assert Photo.objects.count() == 1


def test_the_same_task_delivered_twice_makes_one_photo(
    transactional_db: None, register: Register, request: pytest.FixtureRequest, runs: list[tuple[str, Any]]
) -> None:
    upload = register("a.jpg", jpeg())  # queued once by the upload itself
    task_id = str(uuid.uuid4())
    process_upload.apply_async((upload.pk,), task_id=task_id)
    process_upload.apply_async((upload.pk,), task_id=task_id)  # the broker delivers it again

    request.getfixturevalue("celery_worker")
    wait_for(lambda: len(runs) == 3)

    assert sorted(result for _, result in runs) == ["", "", "done"]
    assert Photo.objects.count() == 1
    assert state_of(upload)[0] == "done"


def test_the_sweeper_task_queues_an_upload_the_broker_never_got(
    transactional_db: None,
    register: Register,
    request: pytest.FixtureRequest,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as broker_down:
        # The server died before its outbox published the task: the broker never hears of it.
        broker_down.setattr(outbox, "submit", lambda upload_id: None)
        upload = register("a.jpg", jpeg())
    settings.INTAKE_STUCK_AFTER = 600
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(seconds=601))

    request.getfixturevalue("celery_worker")
    assert state_of(upload)[0] == "received"
    sweep_uploads.delay()  # what beat sends
    wait_for(lambda: state_of(upload)[0] == "done")

    assert Photo.objects.count() == 1


def test_an_unexpected_error_ends_the_upload_failed_with_it(
    register: Register, celery_worker: WorkController, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise ValueError("unexpected value 42")

    monkeypatch.setattr(imaging, "analyse_image", bug)
    upload = register("a.jpg", jpeg())
    wait_for(lambda: state_of(upload)[0] == "failed")

    assert upload.reason == "could not be processed (ValueError: unexpected value 42)"
    assert upload.attempts == 1
