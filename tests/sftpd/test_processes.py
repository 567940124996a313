"""Several SFTP server processes on one port (``sftpd.processes``): they all serve, they end together.

Each test runs the real ``manage.py runsftpd`` with ``--processes 2`` and real asyncssh clients.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_django import Settings

from albums.models import Album, Upload
from jobs.models import FTPUser
from sftpd import processes
from tests.conftest import PASSWORD
from tests.faults.support import BASE_DIR, Service, child_env
from tests.helpers import connect, wait_for
from tests.images import jpeg
from tree.models import TreeFile

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALBUM = "/job00001/Class 1"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def _start(**env: str) -> tuple[Service, int, set[int]]:
    service = Service([sys.executable, "manage.py", "runsftpd", "--port", "0", "--processes", "2"], child_env(**env))
    port = int(service.wait_for_line("SFTP server listening on").rsplit(":", 1)[1])
    assert "2 server processes share the port" in service.output
    children = wait_for(lambda: _children(service.pid) if len(_children(service.pid)) == 2 else None, timeout=30)
    return service, port, children


async def _upload(port: int, username: str, names: list[str]) -> None:
    async with connect(port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        for name in names:
            async with sftp.open(f"{ALBUM}/{name}", "wb") as f:
                await f.write(jpeg(size=(320, 240)))


def test_two_server_processes_share_the_port_and_every_upload_is_recorded(ftp_user: FTPUser, album: Album) -> None:
    service, port, children = _start()
    try:
        names = [[f"s{s}-{n}.jpg" for n in range(3)] for s in range(8)]

        async def sessions() -> None:
            await asyncio.gather(*[_upload(port, ftp_user.username, batch) for batch in names])

        asyncio.run(sessions())
        expected = sorted(name for batch in names for name in batch)
        assert sorted(TreeFile.objects.filter(album=album).values_list("name", flat=True)) == expected
        assert Upload.objects.filter(album=album).count() == len(expected)
        assert _children(service.pid) == children  # nothing crashed on the way
    finally:
        service.stop()
    assert not any(_alive(pid) for pid in children)
    assert service.process.returncode == 0
    assert "SFTP server stopped" in service.output


def test_a_server_process_that_dies_is_replaced_and_the_port_keeps_serving(ftp_user: FTPUser, album: Album) -> None:
    service, port, children = _start()
    try:
        victim = min(children)
        os.kill(victim, signal.SIGKILL)

        def replaced_set() -> set[int] | None:
            now = _children(service.pid)
            return now if len(now) == 2 and victim not in now else None

        replaced = wait_for(replaced_set, timeout=30)
        assert replaced - children, "no new server process was started"
        assert "ended (exit -9); starting another" in wait_for(
            lambda: service.output if "starting another" in service.output else None, timeout=10
        )
        for round_ in range(4):  # whichever process takes the connection, it serves it
            asyncio.run(_upload(port, ftp_user.username, [f"after-{round_}.jpg"]))
        assert TreeFile.objects.filter(album=album, name__startswith="after-").count() == 4
    finally:
        service.stop()


def test_killing_the_parent_stops_every_server_process(ftp_user: FTPUser, album: Album) -> None:
    service, _, children = _start()
    try:
        os.kill(service.pid, signal.SIGKILL)  # no chance to pass anything on: the children notice alone
        service.process.wait(10)
        wait_for(lambda: not any(_alive(pid) for pid in children) or None, timeout=30)
    finally:
        service.stop()


def test_auto_means_one_process_per_core_only_when_the_login_guard_is_shared(settings: Settings) -> None:
    settings.SFTPD_PROCESSES = "auto"
    settings.LOGIN_REDIS_URL = ""
    assert processes.count() == 1  # per-process ban counts would multiply a guesser's allowance
    settings.LOGIN_REDIS_URL = "redis://127.0.0.1:6379/0"
    assert processes.count() == processes.cores()
    settings.SFTPD_PROCESSES = "3"
    assert processes.count() == 3


def test_a_bad_process_count_is_refused_with_a_sentence() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "runsftpd", "--port", "0", "--processes", "many"],
        cwd=BASE_DIR,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--processes takes a number or 'auto', not 'many'" in result.stderr
    assert "Traceback" not in result.stderr
