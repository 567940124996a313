"""The SFTP protocol handler: asyncssh's server handler with the few changes real clients need.

- CLOSE from the client marks the handle as finished before the server closes it. asyncssh closes
  handles still open when a connection drops through the same ``SFTPServer.close``; only the mark
  tells a finished upload from a partial one.
- OPENDIR resolves the folder at once, so a folder that does not exist fails at OPENDIR, not at the
  first READDIR (FileZilla decides from OPENDIR whether to create the folder).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from asyncssh.packet import SSHPacket
from asyncssh.sftp import FXP_CLOSE, FXP_OPENDIR, SFTPInvalidHandle, SFTPName, SFTPServerHandler

from sftpd.vfs import PortalSFTPServer, WriteHandle


async def _names(names: list[SFTPName]) -> AsyncIterator[SFTPName]:
    for name in names:
        yield name


class PortalSFTPHandler(SFTPServerHandler):
    _server: PortalSFTPServer

    async def _process_close(self, packet: SSHPacket) -> None:
        handle = packet.get_string()
        if self._version < 6:
            packet.check_end()
        file_obj = self._file_handles.pop(handle, None)
        if file_obj is not None:
            if isinstance(file_obj, WriteHandle):
                file_obj.closed_by_client = True
            await self._server.close(file_obj)
            return
        if self._dir_handles.pop(handle, None) is not None:
            return
        raise SFTPInvalidHandle("Invalid file handle")

    async def _process_opendir(self, packet: SSHPacket) -> bytes:
        path = packet.get_string()
        if self._version < 6:
            packet.check_end()
        names = await self._server.listing(path)
        handle = self._get_next_handle()
        self._dir_handles[handle] = _names(names)
        return handle

    _packet_handlers = {
        **SFTPServerHandler._packet_handlers,
        FXP_CLOSE: _process_close,
        FXP_OPENDIR: _process_opendir,
    }
