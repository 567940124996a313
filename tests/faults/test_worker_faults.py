"""Intake under faults, with real Celery workers in their own processes (``celery -A portal worker``).

The worker killed mid-task (its pool process, or the whole worker), the same task delivered twice
at once, the time limits, and the broker away while photographers upload. How a test holds a
worker in the middle of a task is described in tests/faults/support.py (``GatedStorage``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings

from albums import intake
from albums.models import Album, Photo, Upload
from albums.tasks import process_upload
from jobs.models import FTPUser, PhotoJob
from tests.conftest import PASSWORD
from tests.faults.support import (
    GATED_STORAGE,
    Service,
    SilentServer,
    arrivals,
    beat,
    child_env,
    free_port,
    redis_server,
    worker,
)
from tests.helpers import connect, file_name, register_upload, require_program, wait_for
from tests.images import jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# TypedDicts, so that mypy matches each key of a ``**`` argument to the parameter of that name.


class TimeLimits(TypedDict):
    """Celery's per-message time limits, as ``apply_async`` keywords."""

    time_limit: int
    soft_time_limit: int


class BrokerEnv(TypedDict):
    """The settings of the portal processes in the broker-away test, as ``child_env`` keywords."""

    CELERY_BROKER_URL: str
    REDIS_URL: str
    PORTAL_VAR_DIR: Path
    INTAKE_SWEEP_INTERVAL: str
    INTAKE_STUCK_AFTER: str
    CELERY_TASK_SOFT_TIME_LIMIT: str
    CELERY_TASK_TIME_LIMIT: str


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """The folder GatedStorage watches; the hold is always lifted at the end so no worker hangs."""
    folder = tmp_path / "gate"
    folder.mkdir()
    yield folder
    (folder / "hold").unlink(missing_ok=True)


def register(album: Album, ftp_user: FTPUser, tmp_path: Path, filename: str, data: bytes) -> Upload:
    return register_upload(album, filename, data, ftp_user=ftp_user)


def state(upload: Upload) -> str:
    upload.refresh_from_db()
    return upload.state


def renditions_on_disk(upload: Upload) -> list[str]:
    """Every file stored under the upload's rendition folder, whoever wrote it."""
    folder = Path(django_settings.MEDIA_ROOT) / "photos" / str(upload.account_id) / str(upload.pk)
    return (
        sorted(f"photos/{upload.account_id}/{upload.pk}/{p.name}" for p in folder.glob("*")) if folder.exists() else []
    )


def assert_one_photo_and_nothing_left_over(upload: Upload) -> Photo:
    photo = Photo.objects.get()
    upload.refresh_from_db()
    assert (upload.state, upload.photo) == ("done", photo)
    assert renditions_on_disk(upload) == sorted([file_name(photo.thumbnail), file_name(photo.preview)])
    return photo


def test_a_worker_process_killed_mid_task_runs_it_again_and_makes_one_photo(
    album: Album, ftp_user: FTPUser, gate: Path, tmp_path: Path
) -> None:
    (gate / "hold").touch()
    with worker(pool="prefork", STORAGE_BACKEND=GATED_STORAGE, INTAKE_TEST_GATE=gate) as celery:
        upload = register(album, ftp_user, tmp_path, "a.jpg", jpeg((3000, 2000)))
        (first,) = wait_for(lambda: arrivals(gate), timeout=60)
        assert first.pid != celery.pid  # a pool process runs the task
        assert (state(upload), upload.attempts) == ("processing", 1)
        assert len(renditions_on_disk(upload)) == 1  # its thumbnail is stored, its preview is not

        os.kill(first.pid, signal.SIGKILL)
        # The worker sees its pool process die and puts the message back (reject_on_worker_lost);
        # a new pool process runs the same task again.
        second = wait_for(lambda: arrivals(gate)[1:], timeout=60)[0]
        assert second.pid != first.pid
        (gate / "hold").unlink()
        wait_for(lambda: state(upload) == "done", timeout=60)

    assert upload.attempts == 2
    assert_one_photo_and_nothing_left_over(upload)  # the killed run's thumbnail was removed


def test_a_whole_worker_killed_mid_task_is_recovered_by_the_sweeper(
    album: Album, ftp_user: FTPUser, gate: Path, tmp_path: Path, settings: Settings
) -> None:
    (gate / "hold").touch()
    with worker(pool="solo", STORAGE_BACKEND=GATED_STORAGE, INTAKE_TEST_GATE=gate) as celery:
        upload = register(album, ftp_user, tmp_path, "a.jpg", jpeg((3000, 2000)))
        (first,) = wait_for(lambda: arrivals(gate), timeout=60)
        assert first.pid == celery.pid  # the solo pool runs tasks in the worker process itself
        celery.kill()
    (gate / "hold").unlink()
    assert (state(upload), upload.attempts) == ("processing", 1)

    # Beat's sweep, run here: with the threshold at 0 the dead worker's upload is stuck at once.
    settings.INTAKE_STUCK_AFTER = 0
    with worker(pool="solo", STORAGE_BACKEND=GATED_STORAGE, INTAKE_TEST_GATE=gate):
        assert intake.upload_sweep() == 1
        wait_for(lambda: state(upload) == "done", timeout=60)

    assert upload.attempts == 2
    assert_one_photo_and_nothing_left_over(upload)


def test_the_same_task_delivered_twice_at_once_makes_one_photo(
    album: Album, ftp_user: FTPUser, gate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (gate / "hold").touch()
    # A queue of its own: nothing an earlier test left queued, or a worker it left consuming the
    # session's queue, can take one of the two deliveries (it failed that way only in the full suite).
    queue = f"twice-{uuid.uuid4().hex[:8]}"
    with worker(
        pool="prefork", concurrency=2, queue=queue, STORAGE_BACKEND=GATED_STORAGE, INTAKE_TEST_GATE=gate
    ) as celery:
        with monkeypatch.context() as m:  # queue it ourselves, twice, under one task id
            m.setattr(intake, "upload_queue", lambda upload_id: False)
            upload = register(album, ftp_user, tmp_path, "a.jpg", jpeg((3000, 2000)))
        task_id = str(uuid.uuid4())
        process_upload.apply_async((upload.pk,), task_id=task_id, queue=queue)
        process_upload.apply_async((upload.pk,), task_id=task_id, queue=queue)

        both = wait_for(
            lambda: arrivals(gate)[1:] and arrivals(gate), timeout=60, describe=lambda: celery.output[-3000:]
        )
        assert both[0].pid != both[1].pid  # two pool processes run the same task at the same time
        (gate / "hold").unlink()
        wait_for(lambda: state(upload) == "done", timeout=60)
        # The run that lost its claim removes what it stored.
        wait_for(lambda: len(renditions_on_disk(upload)) == 2, timeout=30)

    assert upload.attempts == 2
    assert_one_photo_and_nothing_left_over(upload)


def test_runs_over_the_soft_or_hard_time_limit_end_failed_with_a_reason(
    album: Album, ftp_user: FTPUser, gate: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery puts the time limits into the message when it is sent: short ones for these two.
    limits: TimeLimits = {"time_limit": 4, "soft_time_limit": 2}
    monkeypatch.setattr(intake, "upload_queue", lambda upload_id: False)
    (gate / "hold").touch()
    with worker(pool="prefork", STORAGE_BACKEND=GATED_STORAGE, INTAKE_TEST_GATE=gate) as celery:
        slow = register(album, ftp_user, tmp_path, "slow.jpg", jpeg((900, 600)))
        process_upload.apply_async((slow.pk,), **limits)
        wait_for(lambda: state(slow) == "failed", timeout=60)
        assert slow.reason == "processing took longer than 2 seconds"

        (gate / "stubborn").touch()  # this run ignores the soft limit, as a stuck C decoder would
        stuck = register(album, ftp_user, tmp_path, "stuck.jpg", jpeg((600, 900)))
        process_upload.apply_async((stuck.pk,), **limits)
        wait_for(lambda: state(stuck) == "failed", timeout=60, describe=lambda: celery.output[-3000:])
        assert stuck.reason == "processing took longer than 4 seconds"

    assert len(arrivals(gate)) == 2
    assert not Photo.objects.exists()
    assert renditions_on_disk(slow) == renditions_on_disk(stuck) == []
    assert (slow.attempts, stuck.attempts) == (1, 1)


def test_uploads_succeed_while_the_broker_is_away_and_are_processed_when_it_is_back(
    transactional_db: None, ftp_user: FTPUser, planned_job: PhotoJob, tmp_path: Path
) -> None:
    require_program("redis-server", "redis-server")
    port = free_port()
    broker: BrokerEnv = {
        # This test's own Redis (not the session's broker), on a port where nothing listens yet.
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "PORTAL_VAR_DIR": tmp_path / "var",
        "INTAKE_SWEEP_INTERVAL": "1",
        "INTAKE_STUCK_AFTER": "3",
        "CELERY_TASK_SOFT_TIME_LIMIT": "1",
        "CELERY_TASK_TIME_LIMIT": "2",
    }
    seconds: dict[str, float] = {}

    async def upload(sftp_port: int, names: list[str]) -> None:
        async with connect(sftp_port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            if not await sftp.exists("/job00001/Class 1"):
                await sftp.mkdir("/job00001/Class 1")
            for n, name in enumerate(names):
                started = time.monotonic()
                async with sftp.open(f"/job00001/Class 1/{name}", "wb") as f:
                    await f.write(jpeg(size=(400, 300), colour=(sum(name.encode()) % 256, n, 99)))
                seconds[name] = time.monotonic() - started

    with Service([sys.executable, "manage.py", "runsftpd", "--port", "0"], child_env(**broker)) as sftpd:
        sftp_port = int(sftpd.wait_for_line("SFTP server listening on").rsplit(":", 1)[1])

        hung = SilentServer(port)  # first the broker hangs: it takes connections and never answers
        try:
            asyncio.run(upload(sftp_port, ["hung.jpg"]))
        finally:
            hung.close()
        asyncio.run(upload(sftp_port, ["down-1.jpg", "down-2.jpg"]))  # then it is gone: refused
        print("SFTP upload (open, write, close) while the broker is away:", seconds)

        uploads = list(Upload.objects.order_by("pk"))
        assert [(u.filename, u.state, u.attempts) for u in uploads] == [
            ("hung.jpg", "received", 0),
            ("down-1.jpg", "received", 0),
            ("down-2.jpg", "received", 0),
        ]

        with (
            redis_server(port, tmp_path),
            worker(pool="solo", **broker),
            beat(tmp_path / "beat-1", **broker) as beat_1,
            beat(tmp_path / "beat-2", **broker) as beat_2,  # two schedulers at once by mistake
        ):
            # The server's outbox sends them once the broker answers; the two beats sweep meanwhile.
            wait_for(lambda: Upload.objects.filter(state="done").count() == 3, timeout=90)
            wait_for(lambda: "Sending due task sweep stuck uploads" in beat_1.output + beat_2.output, timeout=30)

    assert Photo.objects.count() == 3
    assert sorted(Photo.objects.values_list("filename", flat=True)) == ["down-1.jpg", "down-2.jpg", "hung.jpg"]
    assert all(u.attempts == 1 for u in Upload.objects.all())
