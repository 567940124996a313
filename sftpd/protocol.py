"""The SFTP protocol handler: asyncssh's server handler with the changes real clients and safety need.

- CLOSE from the client of a written file is ``finish``; asyncssh closes handles still open when a
  connection drops through ``SFTPServer.close``, which abandons them. So only a CLOSE the client
  sent ever makes an upload of a file.
- OPENDIR resolves the folder at once, so a folder that does not exist fails at OPENDIR, not at the
  first READDIR (FileZilla decides from OPENDIR whether to create the folder).
- WRITE ignores bytes after the data, as OpenSSH's sftp-server does: rclone 1.60 sends some after
  its last short write, which stock asyncssh answers with "Unexpected data at end of packet".
- Open files and folders per session are bounded (``SFTPD_MAX_HANDLES``), and ``limits@openssh.com``
  says so.
- Only the extensions this server really implements are advertised (no hard links, no server-side
  copy, no disk-space queries, no vendor id revealing the library version).
- Refusals of the tree (the portal's exceptions) become SFTP statuses with their sentence, here for
  every request. No exception text or traceback ever reaches a client: anything unexpected is
  logged here and the client gets a plain failure sentence.
- Every request is answered in the language of the FTP user's account, set once for the session's
  task (``tree.refusals.speak_in_this_task``), not per packet.
- Every request counts as activity for the idle timeout (``sftpd.server``).
- The session ends with an exit status, as under sshd; OpenSSH's ``scp`` fails without one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from asyncssh import SSHServerChannel
from asyncssh.packet import PacketDecodeError, SSHPacket
from asyncssh.sftp import (
    FXP_CLOSE,
    FXP_OPEN,
    FXP_OPENDIR,
    FXP_WRITE,
    MAX_SFTP_PACKET_LEN,
    MAX_SFTP_READ_LEN,
    MAX_SFTP_WRITE_LEN,
    SFTPError,
    SFTPFailure,
    SFTPInvalidHandle,
    SFTPLimits,
    SFTPName,
    SFTPServerHandler,
)
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jobs.exceptions import PortalError
from sftpd.vfs import PortalSFTPServer, sftp_error
from tree import refusals
from tree.staging import StagedUpload

logger = logging.getLogger("sftpd.protocol")

INTERNAL_ERROR = _("The server had a problem with this request. Please try again; tell the studio if it keeps failing.")


async def _names(names: list[SFTPName]) -> AsyncIterator[SFTPName]:
    for name in names:
        yield name


def _guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn anything but a deliberate SFTP status into a logged, plain-language failure."""

    @functools.wraps(handler)  # asyncssh names unsupported operations after the handler
    async def run(self: PortalSFTPHandler, packet: SSHPacket) -> Any:
        try:
            return await handler(self, packet)
        except (SFTPError, PacketDecodeError, NotImplementedError):
            raise
        except PortalError as exc:
            raise sftp_error(exc) from None
        except OSError as exc:
            logger.warning("file system error in %s: %s", handler.__name__, exc)
            raise SFTPFailure(refusals.disk_error(exc)) from None
        except Exception:
            logger.exception("unexpected error in %s", handler.__name__)
            raise SFTPFailure(str(INTERNAL_ERROR)) from None

    return run


class PortalSFTPHandler(SFTPServerHandler):
    _server: PortalSFTPServer

    _extensions = [
        (b"newline", b"\n"),
        (b"posix-rename@openssh.com", b"1"),
        (b"fsync@openssh.com", b"1"),
        (b"lsetstat@openssh.com", b"1"),
        (b"limits@openssh.com", b"1"),
    ]

    def __init__(self, *args: Any, touch: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._touch = touch or (lambda: None)
        self._language = refusals.language_of(self._server.client.ftp_user)

    async def _cleanup(self, exc: Exception | None) -> None:
        # Report an exit status as sshd does for its sftp-server: OpenSSH's scp (which speaks SFTP)
        # counts a session that ends without one as failed, though every file arrived.
        if self._writer is not None:
            with contextlib.suppress(OSError):
                cast(SSHServerChannel[bytes], self._writer.channel).exit(0 if exc is None else 1)
        await super()._cleanup(exc)

    async def run(self) -> None:
        # The session's own task (``session_started`` creates it): its requests' sentences, the
        # tree's in its threads too, are in the account's language.
        refusals.speak_in_this_task(self._language)
        await super().run()

    async def _process_packet(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        self._touch()
        try:
            await super()._process_packet(pkttype, pktid, packet)
        finally:
            self._touch()  # a long request (a big CLOSE) is activity until it ends

    def _check_handle_limit(self) -> None:
        limit = settings.SFTPD_MAX_HANDLES
        if len(self._file_handles) + len(self._dir_handles) >= limit:
            raise SFTPFailure(
                gettext("Too many files and folders open at once (at most {limit}); close some first.").format(
                    limit=limit
                )
            )

    async def _process_open(self, packet: SSHPacket) -> bytes:
        self._check_handle_limit()
        return await super()._process_open(packet)

    async def _process_close(self, packet: SSHPacket) -> None:
        handle = packet.get_string()
        if self._version < 6:
            packet.check_end()
        file_obj = self._file_handles.pop(handle, None)
        if isinstance(file_obj, StagedUpload):
            await self._server.finish(file_obj)
            return
        if file_obj is not None:
            await self._server.close(file_obj)
            return
        if self._dir_handles.pop(handle, None) is not None:
            return
        raise SFTPInvalidHandle("Invalid file handle")

    async def _process_opendir(self, packet: SSHPacket) -> bytes:
        path = packet.get_string()
        if self._version < 6:
            packet.check_end()
        self._check_handle_limit()
        names = await self._server.listing(path)
        handle = self._get_next_handle()
        self._dir_handles[handle] = _names(names)
        return handle

    async def _process_write(self, packet: SSHPacket) -> int:
        handle = packet.get_string()
        offset = packet.get_uint64()
        data = packet.get_string()
        # No packet.check_end(): trailing bytes are ignored, as OpenSSH does (rclone 1.60 sends some).
        file_obj = self._file_handles.get(handle)
        if file_obj is None:
            raise SFTPInvalidHandle("Invalid file handle")
        return await self._server.write(file_obj, offset, data)

    async def _process_limits(self, packet: SSHPacket) -> SFTPLimits:
        packet.check_end()
        return SFTPLimits(MAX_SFTP_PACKET_LEN, MAX_SFTP_READ_LEN, MAX_SFTP_WRITE_LEN, settings.SFTPD_MAX_HANDLES)

    _packet_handlers = {
        key: _guarded(value)
        for key, value in {
            **SFTPServerHandler._packet_handlers,
            FXP_OPEN: _process_open,
            FXP_CLOSE: _process_close,
            FXP_OPENDIR: _process_opendir,
            FXP_WRITE: _process_write,
            b"limits@openssh.com": _process_limits,
        }.items()
        if value is not None and key not in (b"copy-data", b"ranges@asyncssh.com")
    }
