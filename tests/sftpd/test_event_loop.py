"""The event loop never waits for a password hash: a transfer keeps flowing while twenty other
connections log in with passwords (the real Argon2id hasher, each login checked: no record of verified
credentials, which would spare all but the first)."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from jobs import services
from sftpd import bridge
from sftpd.vfs import PortalSFTPServer
from tests.conftest import PASSWORD
from tests.helpers import connect
from tests.sftpd.conftest import run, sftp_session

ALBUM = "/job00001/Class 1"
LOGINS = 20


def test_a_transfer_keeps_flowing_while_twenty_connections_log_in_with_passwords(
    settings, sftp_server, ftp_user, album, monkeypatch
) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = LOGINS + 5
    settings.LOGIN_MAX_UNAUTH_PER_ADDRESS = LOGINS + 5
    settings.LOGIN_VERIFIED_TTL = 0  # every login computes its hash, as twenty different users would
    # Server-side events in the order they happen: "hash+"/"hash-" around each password check (in the
    # authentication threads) and "write" for each WRITE the event loop handles.
    events: list[str] = []
    lock = threading.Lock()

    def record(event: str) -> None:
        with lock:
            events.append(event)

    real_check, real_write = services.check_password, PortalSFTPServer.write

    def timed_check(*args: Any, **kwargs: Any) -> bool:
        record("hash+")
        try:
            return real_check(*args, **kwargs)
        finally:
            record("hash-")

    async def counted_write(self: PortalSFTPServer, file_obj: object, offset: int, data: bytes) -> int:
        record("write")
        return await real_write(self, file_obj, offset, data)

    monkeypatch.setattr(services, "check_password", timed_check)
    monkeypatch.setattr(PortalSFTPServer, "write", counted_write)

    async def scenario() -> int:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/stream.jpg", "wb")
            logins_done = asyncio.Event()

            async def transfer() -> int:
                written, chunk = 0, b"\xff" * 32768
                while not logins_done.is_set():
                    await f.write(chunk, written % (4 * 1024 * 1024))  # rewrites stay under the size limit
                    written += len(chunk)
                return written

            async def login() -> None:
                async with connect(sftp_server.port, "photographer", PASSWORD):
                    pass

            writer = asyncio.create_task(transfer())
            await asyncio.gather(*(login() for _ in range(LOGINS)))
            logins_done.set()
            written = await writer
            await f.close()
            return written

    written = run(scenario)
    assert events.count("hash+") == LOGINS + 1  # the twenty, and the transferring session's own login
    # Count the writes the loop handled while some password hash was being computed.
    running, during_hashes = 0, 0
    for event in events[events.index("hash-") + 1 :]:  # after the transferring session logged in
        if event == "hash+":
            running += 1
        elif event == "hash-":
            running -= 1
        elif running > 0:
            during_hashes += 1
    assert during_hashes >= LOGINS, f"only {during_hashes} writes were handled while passwords were hashed"
    assert written > 0


def test_password_checks_run_at_a_lower_cpu_priority_than_the_transfers() -> None:
    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    base = priority()
    assert asyncio.run(bridge.run_auth(priority)) == min(19, base + bridge.AUTH_NICENESS)
    assert asyncio.run(bridge.run(priority)) == base  # file work keeps the process's priority
