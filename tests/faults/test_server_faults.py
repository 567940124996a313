"""The SFTP server killed, and its database connections cut, while photographers upload.

Judged the way every fault test is (``tests.faults.support.judge``): each acknowledged upload ends
done in exactly one photo, whole; an unacknowledged one left nothing or a whole, listed, recorded
file; and the tree and the upload log agree whatever moment the server died at.
"""

from __future__ import annotations

import asyncio
import random

import asyncssh
import psycopg
import pytest
from django.db import connection
from pytest_django import Settings

from albums import intake
from albums.models import Album, Upload
from jobs.models import FTPUser
from tests.conftest import PASSWORD
from tests.faults.support import SFTPServer, judge, runsftpd, worker
from tests.helpers import connect, database_url_for_children, wait_for
from tests.images import jpeg
from tree import layout

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALBUM = "/job00001/Class 1"


async def _photographer(port: int, username: str, prefix: str, sent: dict[str, bytes], done: dict[str, bytes]) -> None:
    """Upload files one after the other until the connection dies; note which closes were answered."""
    try:
        async with connect(port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            for n in range(200):
                name = f"{prefix}-{n:03d}.jpg"
                data = jpeg(size=(600, 400), colour=(n % 256, len(prefix) * 20 % 256, 90))
                sent[name] = data
                async with sftp.open(f"{ALBUM}/{name}", "wb") as f:
                    await f.write(data)
                done[name] = data  # the close was answered
    except (OSError, asyncssh.Error):
        return


async def _upload_until_killed(
    server: SFTPServer, username: str, round_: int
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    sent: dict[str, bytes] = {}
    done: dict[str, bytes] = {}
    clients = [
        asyncio.create_task(_photographer(server.port, username, f"r{round_}s{s}", sent, done)) for s in range(4)
    ]
    await asyncio.sleep(random.uniform(1.0, 2.5))
    await asyncio.to_thread(server.service.kill)  # SIGKILL: no cleanup of any kind
    await asyncio.gather(*clients)
    return sent, done


def _sweep_until_settled(settings: Settings) -> None:
    """What beat does: queue what a dead server's outbox never sent (its uploads are still received)."""
    settings.INTAKE_STUCK_AFTER = 1

    def settled() -> bool:
        intake.upload_sweep()
        return not Upload.objects.filter(state__in=["received", "processing"]).exists()

    wait_for(settled, timeout=240, interval=2)


def test_a_server_killed_while_clients_close_files_leaves_the_tree_and_the_log_agreeing(
    ftp_user: FTPUser, album: Album, settings: Settings
) -> None:
    acknowledged: dict[str, bytes] = {}
    unacknowledged: dict[str, bytes] = {}
    dead_pids = []
    for round_ in range(3):
        with runsftpd() as server:
            sent, done = asyncio.run(_upload_until_killed(server, ftp_user.username, round_))
            dead_pids.append(server.pid)
        acknowledged.update(done)
        unacknowledged.update({name: data for name, data in sent.items() if name not in done})
        assert done and len(sent) > len(done), "the kill did not fall in the middle of the uploads"
    with runsftpd():  # the next start on this host sweeps what the dead ones left in staging
        leftovers = [
            p for p in layout.staging_root().iterdir() if p.name.endswith(tuple(f"-{pid}" for pid in dead_pids))
        ]
        assert leftovers == []
    with worker(pool="solo"):
        _sweep_until_settled(settings)
    judge(acknowledged=acknowledged, unacknowledged=unacknowledged)
    print(f"{len(acknowledged)} acknowledged, {len(unacknowledged)} cut off by the kill")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="cuts PostgreSQL connections (set DATABASE_URL)")
def test_database_connections_cut_during_uploads_and_processing_lose_nothing(
    ftp_user: FTPUser, album: Album, settings: Settings
) -> None:
    files = {f"db-{n:02d}.jpg": jpeg(size=(800, 600), colour=(n * 7 % 256, 10, 200)) for n in range(30)}
    answered: dict[str, bytes] = {}
    refused: dict[str, str] = {}

    async def upload(port: int) -> None:
        for name, data in files.items():
            try:
                async with (
                    connect(port, ftp_user.username, PASSWORD) as conn,
                    conn.start_sftp_client() as sftp,
                    sftp.open(f"{ALBUM}/{name}", "wb") as f,
                ):
                    await f.write(data)
                answered[name] = data
            except (asyncssh.SFTPError, asyncssh.DisconnectError, OSError) as exc:
                refused[name] = str(exc)

    connection.ensure_connection()
    mine = connection.connection.info.backend_pid  # this test's own connection stays

    def cut() -> int:
        """What a PostgreSQL restart does to its clients: every other connection of this database ends."""
        with psycopg.connect(database_url_for_children(), autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                (mine,),
            ).fetchone()
        return int(row[0]) if row else 0

    async def cut_now_and_then() -> int:
        total = 0
        for _ in range(6):
            await asyncio.sleep(0.4)
            total += await asyncio.to_thread(cut)
        return total

    with runsftpd() as server, worker(pool="solo"):

        async def scenario() -> int:
            cuts = asyncio.create_task(cut_now_and_then())
            await upload(server.port)
            return await cuts

        cut_connections = asyncio.run(scenario())
        _sweep_until_settled(settings)
    assert cut_connections > 0
    # A refused close says so in words; the photographer uploads that file again.
    assert all("Traceback" not in reason for reason in refused.values())
    judge(acknowledged=answered, unacknowledged={n: files[n] for n in refused})
    print(f"{cut_connections} database connections cut; {len(answered)} uploads answered, {len(refused)} refused")
