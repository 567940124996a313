"""Logs: one structured line per session and one per upload."""

from __future__ import annotations

import logging
import re
from typing import cast

import asyncssh

from albums.models import Upload
from tests.conftest import PASSWORD
from tests.helpers import connect, wait_for
from tests.sftpd.conftest import run, sftp_session

ALBUM = "/job00001/Class 1"


def _fields(message: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', message)}


def test_one_line_per_session_and_one_per_upload(sftp_server, ftp_user, album, caplog) -> None:
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            for name, size in (("a.jpg", 1000), ("Müller Anna.jpg", 2500)):
                async with sftp.open(f"{ALBUM}/{name}", "wb") as f:
                    await f.write(b"x" * size)
            async with sftp.open(f"{ALBUM}/c.jpg.filepart", "wb") as f:
                await f.write(b"y" * 500)
            await sftp.rename(f"{ALBUM}/c.jpg.filepart", f"{ALBUM}/group/c.jpg")
        try:
            async with connect(sftp_server.port, "photographer", "wrong password"):
                pass
        except asyncssh.PermissionDenied:
            pass

    def session_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("session end ")]

    run(scenario)
    # written as each closes; wait_for returns only a truthy value, so the list, never the False
    sessions = cast(list[str], wait_for(lambda: len(session_lines()) == 2 and session_lines(), timeout=10))
    assert len(session_lines()) == 2
    ok, failed = (_fields(m) for m in sessions)
    assert ok["user"] == "photographer" and ok["address"] == "127.0.0.1" and ok["auth"] == "password"
    assert (ok["files"], ok["bytes"], ok["partial"], ok["outcome"]) == ("3", "4000", "0", "ok")
    assert re.fullmatch(r"\d+\.\d+s", ok["duration"])
    assert (failed["user"], failed["auth"], failed["outcome"]) == ("photographer", "-", "login failed")

    uploads = [r.getMessage() for r in caplog.records if r.getMessage().startswith("upload registered ")]
    assert len(uploads) == Upload.objects.count() == 3
    logged = {m.split('path="')[1].split('"')[0]: _fields(m) for m in uploads}
    assert set(logged) == {
        "/job00001/Class 1/a.jpg",
        "/job00001/Class 1/Müller Anna.jpg",
        "/job00001/Class 1/group/c.jpg",
    }
    c = logged["/job00001/Class 1/group/c.jpg"]
    assert (c["section"], c["size"], c["user"], c["address"], c["job"]) == (
        "group",
        "500",
        "photographer",
        "127.0.0.1",
        "job00001",
    )
    assert len(c["sha256"]) == 64
    assert sum(1 for r in caplog.records if r.getMessage().startswith("login failed ")) == 1
    assert PASSWORD not in caplog.text and "wrong password" not in caplog.text


def test_the_session_line_counts_the_uploads_a_dropped_connection_cut_off(sftp_server, ftp_user, album, caplog) -> None:
    caplog.set_level(logging.INFO)

    async def drop() -> None:
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn:
            sftp = await conn.start_sftp_client()
            for name in ("half.jpg", "half.jpg.filepart"):
                f = await sftp.open(f"{ALBUM}/{name}", "wb")
                await f.write(b"x" * 100_000)
            conn.abort()  # the network goes away with both files open

    run(drop)
    line = wait_for(
        lambda: next((r.getMessage() for r in caplog.records if r.getMessage().startswith("session end ")), None),
        timeout=10,
    )
    assert (_fields(line)["files"], _fields(line)["partial"]) == ("0", "2")
    wait_for(lambda: "partial upload discarded" in caplog.text and "partial upload kept for resume" in caplog.text)
