"""What the fault suite shares: the portal's processes as children, and one way of judging the outcome.

Every fault test ends with ``judge``: every upload a client saw acknowledged ends ``done`` with its
SHA-256 in exactly one photo whose original and renditions exist in storage and hold those bytes,
and nothing of an upload that was never acknowledged is left half-way.

``Service`` starts one of them as a child process configured the way production is, by
environment variables (``child_env``): the same test database, media and SFTP folders, broker and
queue as this test session. It is stopped by its PID (and its process group, for a prefork
worker's pool), never by name.

``GatedStorage`` is how a test holds a worker provably in the middle of a task, deterministically:
it is an ordinary FileSystemStorage (chosen by the real ``STORAGE_BACKEND`` setting) whose save of a
preview rendition waits while the file ``<INTAKE_TEST_GATE>/hold`` exists, like a storage whose
network went quiet. A run that reaches that save has claimed the upload, decoded it and stored its
thumbnail, which is the worst moment to die. Before waiting it writes
``<INTAKE_TEST_GATE>/reached-<pid>-<n>`` so the test knows which process runs it. While
``<INTAKE_TEST_GATE>/stubborn`` exists the wait also ignores the soft time limit, as code stuck in a
C decoder would, so the hard limit has to end it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

from albums.models import Photo, Upload
from portal.celery import app as celery_app
from tests.helpers import database_url_for_children, wait_for
from tree.models import TreeFile

BASE_DIR = Path(settings.BASE_DIR)
GATED_STORAGE = "tests.faults.support.GatedStorage"


class GatedStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        gate = os.environ.get("INTAKE_TEST_GATE")
        if gate and name.endswith("-preview.jpg"):
            _wait_at(Path(gate), name)
        # django-stubs leave out Storage._save, the hook a custom storage overrides (and calls up to).
        return cast(Any, super())._save(name, content)


def _wait_at(gate: Path, name: str) -> None:
    if not (gate / "hold").exists():
        return
    (gate / f"reached-{os.getpid()}-{uuid.uuid4().hex[:8]}").write_text(name)
    while (gate / "hold").exists():
        try:
            time.sleep(0.02)
        except Exception as exc:  # SoftTimeLimitExceeded arrives here, raised by a signal handler
            if not (gate / "stubborn").exists():
                raise
            del exc


@dataclass(frozen=True)
class Arrival:
    pid: int
    name: str  # the storage name the run was about to save


def arrivals(gate: Path) -> list[Arrival]:
    """The runs that reached the gate so far, oldest first."""
    found = sorted(gate.glob("reached-*"), key=lambda p: p.stat().st_mtime_ns)
    return [Arrival(int(p.name.split("-")[1]), p.read_text()) for p in found]


def child_env(**overrides: str | os.PathLike[str]) -> dict[str, str]:
    """The environment of a portal process that works on this test session's data."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url_for_children(),
        DB_CONN_MAX_AGE="0",  # so the test database can be dropped at the end of the session
        SECRET_KEY=settings.SECRET_KEY,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        TREE_ROOT=str(settings.TREE_ROOT),
        SFTPD_HOST_KEY_DIR=str(settings.SFTPD_HOST_KEY_DIR),
        CELERY_QUEUE=celery_app.conf.task_default_queue,
        LOG_LEVEL="INFO",
    )
    broker = celery_app.conf.broker_url
    if broker.startswith("filesystem"):
        # The embedded broker's folders are <PORTAL_VAR_DIR>/broker/{queue,processed,control}.
        env["PORTAL_VAR_DIR"] = str(Path(celery_app.conf.broker_transport_options["data_folder_in"]).parent.parent)
    else:
        env["CELERY_BROKER_URL"] = broker
    env.update({k: str(v) for k, v in overrides.items()})
    return env


@dataclass
class Service:
    """A child process whose output is collected line by line."""

    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] = field(init=False)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: a prefork pool is stopped with it
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        def find() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.argv[:6]} exited with {self.process.returncode}:\n{self.output}")
            return next((line for line in self.lines if text in line), None)

        return wait_for(find, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the process itself (not its pool), as the OOM killer or a power cut would."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        # Whatever is left of its process group (pool processes of a killed worker).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def worker(
    *,
    pool: str,
    concurrency: int = 1,
    queue: str | None = None,
    environment: Mapping[str, str | os.PathLike[str]] | None = None,
    **env: str | os.PathLike[str],
) -> Service:
    """``celery -A portal worker`` on this session's queue (or ``queue``); returns once it is ready.

    Its settings are this session's, then ``environment``, then ``env``.
    """
    queue = queue or celery_app.conf.task_default_queue
    argv = [
        sys.executable, "-m", "celery", "-A", "portal", "worker",
        "--pool", pool, "--concurrency", str(concurrency),
        "--queues", queue,
        "--hostname", f"intake-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "--loglevel", os.environ.get("INTAKE_TEST_WORKER_LOGLEVEL", "INFO"),
    ]  # fmt: skip
    service = Service(argv, child_env(**{**(environment or {}), **env, "CELERY_QUEUE": queue}))
    try:
        service.wait_for_line(" ready.")
    except BaseException:
        service.stop()
        raise
    return service


def beat(schedule: Path, **env: str | os.PathLike[str]) -> Service:
    argv = [sys.executable, "-m", "celery", "-A", "portal", "beat", "--schedule", str(schedule), "--loglevel", "INFO"]
    return Service(argv, child_env(**env))


def redis_server(port: int, folder: Path) -> Service:
    """A throw-away Redis on ``port`` (stopped by PID), for tests that take the broker away."""
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    service = Service([*argv, "--dir", str(folder)], dict(os.environ))
    service.wait_for_line("Ready to accept connections", timeout=30)
    return service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SilentServer:
    """A TCP listener that accepts connections and never answers: a broker that hangs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the other thread
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@dataclass
class SFTPServer:
    service: Service
    port: int

    @property
    def pid(self) -> int:
        return self.service.pid


@contextmanager
def runsftpd(**env: str | Path) -> Iterator[SFTPServer]:
    """``manage.py runsftpd`` on a free port, configured by environment like production."""
    service = Service([sys.executable, "manage.py", "runsftpd", "--port", "0"], child_env(**env))
    try:
        port = int(service.wait_for_line("SFTP server listening on").rsplit(":", 1)[1])
        yield SFTPServer(service, port)
    finally:
        service.stop()


def manage(*args: str, **env: str | Path) -> subprocess.CompletedProcess[str]:
    """A management command in its own process, with this session's data and ``env`` on top."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def _sha256(name: str) -> str:
    with default_storage.open(name, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def judge(*, acknowledged: dict[str, bytes], unacknowledged: dict[str, bytes] | None = None) -> None:
    """The fault suite's verdict, by file name (the names a test uses are unique within it).

    An acknowledged upload is done, in exactly one photo, stored whole and listed. One the client
    never saw acknowledged (the server died during its close) left either nothing at all, or, when
    the server had committed it just before dying, the whole file listed with its upload: never a
    partial file, never a row without its listing or a listing without its row.
    """
    for name, data in acknowledged.items():
        sha = hashlib.sha256(data).hexdigest()
        latest = Upload.objects.filter(filename=name).order_by("-pk").first()
        assert latest is not None, f"{name}: acknowledged but not in the upload log"
        assert latest.state == "done", f"{name}: {latest.state} ({latest.reason})"
        assert latest.sha256 == sha, f"{name}: the log has other bytes"
        photos = list(Photo.objects.filter(sha256=sha))
        assert len(photos) == 1, f"{name}: {len(photos)} photos hold its bytes"
        photo = photos[0]
        assert latest.photo_id == photo.pk
        assert _sha256(str(photo.original.name)) == sha, f"{name}: the photo's original is not its bytes"
        for rendition in (photo.thumbnail.name, photo.preview.name):
            assert rendition and default_storage.exists(rendition), f"{name}: rendition {rendition!r} missing"
        assert TreeFile.objects.filter(name=name, upload=latest).exists(), f"{name}: not listed with its upload"
    for name, data in (unacknowledged or {}).items():
        latest = Upload.objects.filter(filename=name).order_by("-pk").first()
        listed = TreeFile.objects.filter(name=name).first()
        if latest is None:
            assert listed is None, f"{name}: listed without an upload"
            continue
        assert listed is not None and listed.upload_id == latest.pk, f"{name}: in the log but not listed"
        assert latest.size == len(data) and _sha256(str(latest.file.name)) == hashlib.sha256(data).hexdigest()
    assert not Photo.objects.exclude(
        sha256__in=[hashlib.sha256(d).hexdigest() for d in _all(acknowledged, unacknowledged)]
    ).exists(), "a photo of bytes nobody sent"


def _all(*groups: dict[str, bytes] | None) -> list[bytes]:
    return [data for group in groups for data in (group or {}).values()]
