"""Authentication and sessions: who may log in, and that a session can only ever be SFTP.

``PortalSSHServer`` checks passwords (Django's hasher) and public keys (the FTP user's keys) off the
event loop through ``sftpd.bridge``. Every login must pass a check: ``begin_auth`` always answers
True, because answering False would let a client in with no credentials at all. Sessions accept
only the ``sftp`` subsystem: no shell, exec, SCP or pty.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import asyncssh
from asyncssh.stream import SSHReader, SSHServerStreamSession, SSHWriter

from sftpd import bridge
from sftpd.protocol import PortalSFTPHandler
from sftpd.vfs import PortalSFTPServer

logger = logging.getLogger("sftpd.session")

SFTP_VERSION = 3  # every photographer client and camera speaks v3; WinSCP downgrades from v6 to it


@dataclass
class SessionStats:
    started: float = field(default_factory=time.monotonic)
    files: int = 0
    bytes: int = 0


class PortalSession(SSHServerStreamSession):
    """A session channel that runs the SFTP subsystem and nothing else."""

    def __init__(self) -> None:
        super().__init__(None, PortalSFTPServer, SFTP_VERSION, allow_scp=False)

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False

    def pty_requested(self, *args: object) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp"

    def session_started(self) -> None:
        assert self._chan is not None and self._conn is not None
        if self._chan.get_subsystem() != "sftp":
            self._chan.close()
            return
        reader = SSHReader[bytes](self, self._chan)
        writer = SSHWriter[bytes](self, self._chan)
        server = self._init_sftp_server()
        handler = PortalSFTPHandler(server, reader, writer, SFTP_VERSION)
        self._conn.create_task(handler.run(), reader.logger)


class PortalSSHServer(asyncssh.SSHServer):
    """One instance per connection."""

    def __init__(self) -> None:
        self._conn: asyncssh.SSHServerConnection | None = None
        self._address: str | None = None
        self._candidate: bridge.Principal | None = None
        self._principal: bridge.Principal | None = None
        self._stats = SessionStats()
        self._username = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self._address = peer[0] if peer else None
        conn.set_extra_info(portal_stats=self._stats)

    def connection_lost(self, exc: Exception | None) -> None:
        p = self._principal
        logger.info(
            "session end user=%s address=%s auth=%s duration=%.1fs files=%d bytes=%d outcome=%s",
            p.username if p else self._username or "-",
            self._address,
            p.method if p else "-",
            time.monotonic() - self._stats.started,
            self._stats.files,
            self._stats.bytes,
            "error: " + str(exc) if exc else ("ok" if p else "not logged in"),
        )

    def begin_auth(self, username: str) -> bool:
        self._username = username
        return True  # always demand credentials

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        self._candidate = await bridge.authenticate_password(username, password)
        return self._candidate is not None

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Called for the client's probe and again for the signed request; asyncssh checks the
        # signature afterwards, so the login counts only in auth_completed.
        self._candidate = await bridge.authorized_key(username, key)
        return self._candidate is not None

    async def auth_completed(self) -> None:
        assert self._conn is not None and self._candidate is not None
        self._principal = self._candidate
        self._conn.set_extra_info(portal_principal=self._principal)
        await bridge.record_login(self._principal, self._address)

    def session_requested(self) -> PortalSession | bool:
        if self._principal is None:
            return False
        return PortalSession()
