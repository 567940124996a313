"""Durability: staging names, fsync of the file and of its folder in storage before CLOSE is answered,
the listing and the upload log changed together, nothing from a dropped connection, a full disk that
fails one upload only, and the SHA-256 taken on the way in."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

import asyncssh
from django.conf import settings as django_settings
from django.core.files.storage import default_storage

from albums.models import Photo, Upload
from tests.conftest import PASSWORD
from tests.helpers import connect, wait_for
from tests.images import jpeg
from tests.sftpd.conftest import refusal, run, sftp_session
from tree import layout, staging
from tree.models import TreeFile

ALBUM = "/job00001/Class 1"


def _staging() -> list[Path]:
    """The staging files of every server process."""
    return sorted(p for p in layout.staging_root().rglob("*") if p.is_file())


def test_bytes_are_staged_fsynced_and_linked_into_storage_with_their_folder_before_close_is_answered(
    sftp_server, ftp_user, album, monkeypatch
) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def link(src: str, dst: str) -> None:
        events.append(("link", f"{src} -> {dst}"))
        real_link(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    data = jpeg()

    async def scenario() -> tuple[list[Path], list[tuple[str, str]], list[tuple[str, str]]]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/a.jpg", "wb")
            await f.write(data)
            staged = _staging()
            before_close = list(events)
            await f.close()
            return staged, before_close, list(events)

    staged, before_close, after_close = run(scenario)
    upload = Upload.objects.get()
    stored = Path(django_settings.MEDIA_ROOT) / str(upload.file.name)
    assert len(staged) == 1 and len(staged[0].name) == 32  # a server-chosen name, not the client's
    assert not before_close
    assert stored.read_bytes() == data and not _staging()
    assert TreeFile.objects.get().upload == upload and upload.size == len(data)  # listed with its row
    # All of it happened before the client's CLOSE returned.
    staging_sync = after_close.index(("fsync", str(staged[0])))
    linked = after_close.index(("link", f"{staged[0]} -> {stored}"))
    folder_sync = after_close.index(("fsync", str(stored.parent)))
    assert staging_sync < linked < folder_sync


def test_a_dropped_connection_leaves_no_upload_no_file_and_no_bytes(sftp_server, ftp_user, album) -> None:
    async def drop() -> None:
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn:
            sftp = await conn.start_sftp_client()
            f = await sftp.open(ALBUM + "/half.jpg", "wb")
            await f.write(b"x" * 300_000)
            conn.abort()  # the network goes away: no CLOSE is ever sent

    async def listing() -> list[str]:
        async with sftp_session(sftp_server.port) as sftp:
            return list(await sftp.listdir(ALBUM))

    run(drop)
    wait_for(lambda: not _staging(), timeout=10)
    assert "half.jpg" not in run(listing)
    assert not Upload.objects.exists() and not Photo.objects.exists()


def test_a_dropped_upload_under_a_temporary_name_is_kept_for_resume_and_never_taken_in(
    sftp_server, ftp_user, album
) -> None:
    data = jpeg(size=(1600, 1200))
    half = len(data) // 2

    async def drop() -> None:
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn:
            sftp = await conn.start_sftp_client()
            f = await sftp.open(ALBUM + "/big.jpg.filepart", "wb")
            await f.write(data[:half])
            conn.abort()

    async def resume() -> tuple[int, bytes]:
        async with sftp_session(sftp_server.port) as sftp:
            size = (await sftp.stat(ALBUM + "/big.jpg.filepart")).size
            assert size is not None
            async with sftp.open(ALBUM + "/big.jpg.filepart", "ab") as f:
                await f.write(data[size:])
            await sftp.rename(ALBUM + "/big.jpg.filepart", ALBUM + "/big.jpg")
            async with sftp.open(ALBUM + "/big.jpg", "rb") as f:
                return size, await f.read()

    run(drop)
    kept = wait_for(lambda: TreeFile.objects.filter(name="big.jpg.filepart").first(), timeout=10)
    assert kept.size == half and default_storage.open(kept.content).read() == data[:half]
    assert not Upload.objects.exists()
    size, back = run(resume)
    assert size == half and back == data
    upload = Upload.objects.get()
    assert (upload.filename, upload.size, upload.sha256) == ("big.jpg", len(data), hashlib.sha256(data).hexdigest())


def test_a_full_disk_fails_that_upload_with_a_message_and_other_sessions_go_on(
    sftp_server, ftp_user, album, monkeypatch
) -> None:
    real_pwrite = staging._pwrite_all

    def pwrite(fd: int, data: bytearray, offset: int) -> None:
        if data.startswith(b"FULL"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_pwrite(fd, data, offset)

    monkeypatch.setattr(staging, "_pwrite_all", pwrite)
    good = jpeg()

    async def scenario() -> tuple[asyncssh.SFTPError, asyncssh.SFTPError, list[str]]:
        async with sftp_session(sftp_server.port) as first, sftp_session(sftp_server.port) as second:
            full = await first.open(ALBUM + "/full.jpg", "wb")
            other = await second.open(ALBUM + "/fine.jpg", "wb")
            await full.write(b"FULL" + b"x" * 1000)
            await other.write(good)
            failed = await refusal(full.close())
            again = await refusal(full.write(b"more"))
            await other.close()
            return failed, again, list(await first.listdir(ALBUM))  # the failing session itself goes on too

    failed, again, listing = run(scenario)
    assert failed.reason.startswith("The server's disk is full, so this upload failed.")
    assert again.code == asyncssh.FX_FAILURE
    assert "fine.jpg" in listing and "full.jpg" not in listing
    assert list(Upload.objects.values_list("filename", flat=True)) == ["fine.jpg"]
    assert not _staging()


def test_a_disk_error_in_a_write_behind_the_requests_fails_the_upload_on_a_later_request(
    sftp_server, ftp_user, album, monkeypatch
) -> None:
    """Full buffers are written in the pool while the next requests are answered (``sftpd.vfs.write``)."""
    real_pwrite = staging._pwrite_all
    calls: list[int] = []

    def pwrite(fd: int, data: bytearray, offset: int) -> None:
        calls.append(offset)
        if offset == 0:  # the first full buffer, written behind the requests
            raise OSError(errno.ENOSPC, "No space left on device")
        real_pwrite(fd, data, offset)

    monkeypatch.setattr(staging, "_pwrite_all", pwrite)
    block = b"x" * staging.WRITE_BUFFER

    async def scenario() -> tuple[asyncssh.SFTPError, list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/big.jpg", "wb")
            try:
                for n in range(4):  # the error is reported by the request after the failed write
                    await f.write(block, n * len(block))
                error = await refusal(f.close())
            except asyncssh.SFTPError as exc:
                error = exc
                with contextlib.suppress(asyncssh.SFTPError):
                    await f.close()
            return error, list(await sftp.listdir(ALBUM))

    error, listing = run(scenario)
    assert error.reason.startswith("The server's disk is full, so this upload failed.")
    assert calls[0] == 0
    assert "big.jpg" not in listing
    assert not Upload.objects.exists()
    assert not _staging()


def test_a_storage_failure_at_close_leaves_no_upload_record(sftp_server, ftp_user, album, monkeypatch) -> None:
    from albums import storage

    def no_space(*args: object, **kwargs: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "store_local_file", no_space)

    async def scenario() -> tuple[asyncssh.SFTPError, list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/a.jpg", "wb")
            await f.write(jpeg())
            return await refusal(f.close()), list(await sftp.listdir(ALBUM))

    error, listing = run(scenario)
    assert "disk is full" in error.reason
    assert "a.jpg" not in listing
    assert not Upload.objects.exists()
    assert not _staging()


def test_the_sha256_is_taken_while_bytes_arrive_in_order_and_left_to_the_worker_otherwise(
    sftp_server, ftp_user, album
) -> None:
    data = jpeg(size=(1500, 1000))
    middle = len(data) // 2

    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            async with sftp.open(ALBUM + "/in-order.jpg", "wb") as f:
                for start in range(0, len(data), 32768):
                    await f.write(data[start : start + 32768], start)
            async with sftp.open(ALBUM + "/backwards.jpg", "wb") as f:
                await f.write(data[middle:], middle)
                await f.write(data[:middle], 0)

    run(scenario)
    in_order = Upload.objects.get(filename="in-order.jpg")
    backwards = Upload.objects.get(filename="backwards.jpg")
    assert in_order.sha256 == hashlib.sha256(data).hexdigest()
    assert backwards.sha256 == ""  # the worker hashes the finished file instead
    for upload in (in_order, backwards):
        with upload.file.open("rb") as f:
            assert f.read() == data


def test_staging_files_left_by_a_process_that_died_are_swept_at_start(settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        folders = {
            "dead": tmp_path / ".staging" / f"{host}-{dead.pid}",
            "alive": tmp_path / ".staging" / f"{host}-{alive.pid}",
            "other host": tmp_path / ".staging" / f"elsewhere-{dead.pid}",
        }
        for folder in folders.values():
            folder.mkdir(parents=True)
            (folder / ("a" * 32)).write_bytes(b"bytes being written")
        old_loose = tmp_path / ".staging" / ("b" * 32)  # from before per-process folders
        old_loose.write_bytes(b"left by a crash")
        two_days_ago = time.time() - 2 * 86400
        os.utime(old_loose, (two_days_ago, two_days_ago))
        assert layout.sweep_staging() == 2
        assert not folders["dead"].exists() and not old_loose.exists()
        assert folders["alive"].exists() and folders["other host"].exists()
    finally:
        alive.kill()
        alive.wait()
