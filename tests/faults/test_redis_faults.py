"""Redis frozen, restarted and flushed under real servers and workers: nothing lost, nothing waits.

- A frozen Redis (SIGSTOP) delays no close and no login by more than a bound far below Redis's own
  socket timeouts, and every upload is processed once it thaws (DESIGN §4, issue "Nothing lost,
  nothing waits", item 2).
- Redis going away and coming back around the end of a running task leaves the worker alive and no
  task failed by a timer of a task that already ended (item 3).
- The sweeper never doubles a backlog, and queues again exactly the uploads whose messages a flushed
  Redis lost (item 4).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from pytest_django import Settings

from albums import broker, intake
from albums.models import Album, Upload
from jobs.models import FTPUser
from portal.celery import app as celery_app
from tests.conftest import PASSWORD
from tests.faults.support import GATED_STORAGE, arrivals, free_port, judge, manage, redis_server, runsftpd, worker
from tests.helpers import connect, register_upload, require_program, wait_for
from tests.images import jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Frozen-Redis bound: far below the 5 s socket timeout a close or login would wait if it asked Redis.
BOUND = 2.0


async def _login_seconds(port: int, username: str) -> float:
    started = time.monotonic()
    async with connect(port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        await sftp.listdir("/")
    return time.monotonic() - started


async def _upload(port: int, username: str, files: dict[str, bytes], closes: dict[str, float]) -> None:
    async with connect(port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        for name, data in files.items():
            async with sftp.open(f"/job00001/Class 1/{name}", "wb") as f:
                await f.write(data)
                started = time.monotonic()
            closes[name] = time.monotonic() - started  # the close alone


def test_a_frozen_redis_holds_up_no_close_and_no_login_and_everything_is_processed_after(
    ftp_user: FTPUser, album: Album, tmp_path: Path
) -> None:
    require_program("redis-server", "redis-server")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env: dict[str, str | Path] = {"CELERY_BROKER_URL": url, "LOGIN_REDIS_URL": url, "PORTAL_VAR_DIR": tmp_path / "var"}
    files = {f"frozen-{n:02d}.jpg": jpeg(size=(640, 480), colour=(n * 9 % 256, 40, 90)) for n in range(8)}
    warm = {"warm.jpg": jpeg(colour=(1, 2, 3))}
    closes: dict[str, float] = {}
    with redis_server(port, tmp_path) as redis, runsftpd(**env) as server:
        asyncio.run(_upload(server.port, ftp_user.username, warm, {}))
        usual = [asyncio.run(_login_seconds(server.port, ftp_user.username)) for _ in range(3)]
        os.kill(redis.pid, signal.SIGSTOP)
        try:
            asyncio.run(_upload(server.port, ftp_user.username, files, closes))
            logins = [asyncio.run(_login_seconds(server.port, ftp_user.username)) for _ in range(3)]
            assert Upload.objects.filter(filename__startswith="frozen-").count() == len(files)
        finally:
            os.kill(redis.pid, signal.SIGCONT)
        close_times = list(closes.values())
        print(
            f"with Redis frozen: close median {statistics.median(close_times):.3f}s max {max(close_times):.3f}s;"
            f" login median {statistics.median(logins):.3f}s max {max(logins):.3f}s"
            f" (with Redis answering: login median {statistics.median(usual):.3f}s)"
        )
        assert max(closes.values()) < BOUND and max(logins) < BOUND
        with worker(pool="solo", environment=env):
            wait_for(lambda: Upload.objects.filter(state="done").count() == len(files) + 1, timeout=120)
    judge(acknowledged={**warm, **files})


def test_redis_gone_and_back_around_a_tasks_end_fails_no_task_and_keeps_the_worker(
    ftp_user: FTPUser, album: Album, tmp_path: Path
) -> None:
    require_program("redis-server", "redis-server")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    gate = tmp_path / "gate"
    gate.mkdir()
    env: dict[str, str | Path] = {
        "CELERY_BROKER_URL": url,
        "PORTAL_VAR_DIR": tmp_path / "var",
        "STORAGE_BACKEND": GATED_STORAGE,
        "INTAKE_TEST_GATE": gate,
        "CELERY_TASK_SOFT_TIME_LIMIT": "4",
        "CELERY_TASK_TIME_LIMIT": "6",
        "INTAKE_STUCK_AFTER": "30",
    }
    first = register_upload(album, "first.jpg", jpeg(colour=(1, 1, 1)), ftp_user=ftp_user)
    second = register_upload(album, "second.jpg", jpeg(colour=(2, 2, 2)), ftp_user=ftp_user)
    redis = redis_server(port, tmp_path)
    try:
        with worker(pool="prefork", concurrency=2, environment=env) as celery:
            (gate / "hold").write_text("")
            manage("uploads", "reprocess", str(first.pk), **env)
            wait_for(lambda: arrivals(gate), timeout=60)  # the task is in the middle of its work
            redis.stop()  # Redis goes away while it runs ...
            (gate / "hold").unlink()  # ... and the task ends while Redis is away
            wait_for(lambda: Upload.objects.get(pk=first.pk).state == "done", timeout=30)
            time.sleep(2)
            redis = redis_server(port, tmp_path)  # back, empty
            wait_for(lambda: celery.output.count("Connected to redis") >= 2, timeout=60)  # reconnected
            time.sleep(6)  # past the soft and hard limits of the task that ended
            manage("uploads", "reprocess", str(second.pk), **env)
            wait_for(lambda: Upload.objects.get(pk=second.pk).state in ("done", "failed"), timeout=60)
            assert celery.process.poll() is None, celery.output  # the worker is still there
            assert "Soft time limit" not in celery.output and "Hard time limit" not in celery.output
    finally:
        redis.stop()
    assert [Upload.objects.get(pk=u.pk).state for u in (first, second)] == ["done", "done"]


def _backlog(album: Album, ftp_user: FTPUser, count: int) -> list[int]:
    return [
        register_upload(album, f"IMG_{n:04d}.jpg", jpeg(size=(48, 32), colour=(n % 256, n // 256, 7))).pk
        for n in range(count)
    ]


def _drop_messages(upload_ids: set[int]) -> None:
    """Lose the processing messages of these uploads, as a flushed Redis (or a lost queue folder) does."""
    queue = str(celery_app.conf.task_default_queue)
    url = str(celery_app.conf.broker_url)
    if url.startswith("redis"):
        from redis import Redis

        client = Redis.from_url(url)
        kept = [raw for raw in client.lrange(queue, 0, -1) if not broker._ids([raw]) & upload_ids]
        pipe = client.pipeline()
        pipe.delete(queue)
        if kept:
            pipe.rpush(queue, *kept)
        pipe.execute()
        client.close()
        return
    folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
    for path in folder.glob(f"*.{queue}.msg"):
        if broker._ids([path.read_bytes()]) & upload_ids:
            path.unlink()


def test_the_sweeper_never_doubles_a_backlog_and_queues_again_what_a_flushed_broker_lost(
    ftp_user: FTPUser, album: Album, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INTAKE_STUCK_AFTER = 600
    sent: list[int] = []
    real_send = celery_app.send_task

    def counting_send(name: str, args: tuple[int, ...], **kwargs: Any) -> Any:
        sent.append(args[0])
        return real_send(name, args=args, **kwargs)

    monkeypatch.setattr(celery_app, "send_task", counting_send)
    ids = _backlog(album, ftp_user, 1000)  # each queued by the outbox as it was recorded
    wait_for(lambda: len(sent) == len(ids), timeout=120)
    backlog = Upload.objects.filter(pk__in=ids)
    for _ in range(3):  # no worker for hours: the backlog is old, and all its messages are there
        backlog.update(updated_at=timezone.now() - timedelta(hours=3))
        assert intake.upload_sweep(limit=5000) == 0
    lost = set(ids[:250])
    _drop_messages(lost)
    backlog.update(updated_at=timezone.now() - timedelta(hours=3))
    assert intake.upload_sweep(limit=5000) == len(lost)  # exactly the lost ones
    backlog.update(updated_at=timezone.now() - timedelta(hours=3))
    assert intake.upload_sweep(limit=5000) == 0
    assert Counter(sent) == Counter(ids) + Counter(lost)  # each at most twice, twice only when lost
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        wait_for(lambda: backlog.filter(state="done").count() == len(ids), timeout=600, interval=1)
    assert not backlog.filter(photo__isnull=True).exists()  # each in a photo (identical tiny images share one)
