"""The test cast and the real servers the tests talk to.

Cast (built through the services): ``account`` (a studio), ``owner`` (its staff user),
``outsider_account``, ``ftp_user`` (password ``PASSWORD``), ``planned_job`` (``job00001``) and its
``album`` ("Class 1", made by the FTP user); ``queued`` collects the upload ids sent for processing
instead of queueing them.
Servers: ``sftp_server`` (the real asyncssh listener on a free loopback port, in a thread with its
own event loop) and ``celery_worker`` (a real Celery worker thread from
``celery.contrib.testing.worker`` on the configured broker: Redis when ``REDIS_URL`` is set, kombu's
filesystem transport otherwise). Each test session gets its own queue, media and SFTP folders.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker.worker import WorkController
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connections

from albums import intake, outbox
from albums import services as album_services
from albums.models import Album
from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from portal.celery import app as celery_app

if TYPE_CHECKING:
    from sftpd.listener import PortalAcceptor

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def _isolated_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Media, SFTP tree, host keys and the embedded broker's folders live in this session's temp dir."""
    base = tmp_path_factory.mktemp("portal")
    names = ("MEDIA_ROOT", "TREE_ROOT", "SFTPD_HOST_KEY_DIR", "FTPD_TLS_DIR", "FTPD_PASSIVE_PORTS")
    saved = {k: getattr(django_settings, k) for k in names}
    django_settings.MEDIA_ROOT = base / "media"
    django_settings.TREE_ROOT = base / "tree"
    django_settings.SFTPD_HOST_KEY_DIR = base / "hostkeys"
    django_settings.FTPD_TLS_DIR = base / "tls"
    django_settings.FTPD_PASSIVE_PORTS = ""  # any free port: test runs side by side never collide
    # Server and worker threads hold their own connections; with no reuse they close them after each
    # call, so the test database can be dropped at the end of the session.
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    queue = f"test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    if celery_app.conf.broker_url.startswith("filesystem"):
        folder = base / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True)
        celery_app.conf.broker_transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
        }
    yield
    for key, value in saved.items():
        setattr(django_settings, key, value)


# --- the cast ----------------------------------------------------------------------------------


@pytest.fixture
def owner(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(username="olivia", password=PASSWORD, is_staff=True)


@pytest.fixture
def account(db: None, owner: User) -> Account:
    studio = services.account_create(name="Sunshine Studio")
    services.account_add_member(account=studio, user=owner, role="owner")
    return studio


@pytest.fixture
def outsider_account(db: None) -> Account:
    return services.account_create(name="Other Studio")


@pytest.fixture
def ftp_user(account: Account) -> FTPUser:
    return services.ftp_user_create(account=account, username="photographer", password=PASSWORD)


@pytest.fixture
def planned_job(account: Account) -> PhotoJob:
    return services.job_create(account=account, internal_name="job00001", title="Elm School")


@pytest.fixture
def album(planned_job: PhotoJob, ftp_user: FTPUser) -> Album:
    return album_services.album_create(job=planned_job, name="Class 1", ftp_user=ftp_user)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Upload ids queued for processing, collected here instead of sent to the broker."""
    ids: list[int] = []

    def record(upload_id: int) -> bool:
        ids.append(upload_id)
        return True

    monkeypatch.setattr(intake, "upload_queue", record)
    monkeypatch.setattr(outbox, "submit", record)  # what a door's close hands over
    return ids


# --- real servers ------------------------------------------------------------------------------


@dataclass
class RunningServer:
    host: str
    port: int
    loop: asyncio.AbstractEventLoop


@pytest.fixture
def sftp_server(transactional_db: None) -> Iterator[RunningServer]:
    """The real SFTP listener on a free port, served by its own event loop in a thread."""
    from sftpd import listener

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            holder["acceptor"] = loop.run_until_complete(listener.start("127.0.0.1", 0))
        except BaseException as exc:  # surfaced to the test below
            holder["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="sftpd-test", daemon=True)
    thread.start()
    assert ready.wait(30), "SFTP server did not start"
    if "error" in holder:
        raise cast(BaseException, holder["error"])
    acceptor = cast("PortalAcceptor", holder["acceptor"])
    yield RunningServer("127.0.0.1", acceptor.get_port(), loop)

    async def stop() -> None:
        acceptor.close()
        await acceptor.wait_closed()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()
    from sftpd import bridge

    bridge.drain()  # the sessions' last writes (live.open of a client that left at once, live.close)
    _end_live_sessions()


def _end_live_sessions() -> None:
    """No heartbeat of this test's server may write while the next test empties the database."""
    from tree import live

    live.registry().shutdown()


@dataclass
class RunningFTPServer:
    host: str
    port: int  # plain FTP and explicit FTPS
    implicit_port: int  # implicit FTPS


@pytest.fixture
def ftp_server(transactional_db: None) -> Iterator[RunningFTPServer]:
    """The real FTP/FTPS listeners on free ports, their accepting loop in a thread."""
    from ftpd import server

    listener = server.start("127.0.0.1", 0, 0)
    thread = threading.Thread(target=listener.serve, name="ftpd-test", daemon=True)
    thread.start()
    yield RunningFTPServer("127.0.0.1", listener.port, listener.implicit_port)
    listener.stop()
    thread.join(30)
    _end_live_sessions()


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[WorkController]:
    """A real Celery worker (solo pool, in a thread) consuming this session's queue."""
    with start_worker(
        celery_app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        shutdown_timeout=30,
        loglevel="WARNING",
    ) as worker:
        yield worker


@pytest.fixture
def askpass(tmp_path: Path) -> dict[str, str]:
    """Environment that makes OpenSSH clients read PASSWORD without a terminal."""
    script = tmp_path / "askpass.sh"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o700)
    return {**os.environ, "SSH_ASKPASS": str(script), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
