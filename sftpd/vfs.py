"""The SFTP face of the tree: asyncssh's ``SFTPServer`` hooks translated to ``tree.operations.Tree``.

Everything DESIGN §3 decides (what exists, what may be done where, the staged upload) lives in
``tree/``; this adapter only turns paths from bytes into text, SFTP open flags into the tree's
write modes, the tree's entries into ``SFTPAttrs``, and runs each blocking call through
``sftpd.bridge``. Refusals travel as the portal's exceptions and become SFTP statuses with their
sentence in ``sftp_error`` (``sftpd.protocol`` applies it to every request).

A client's CLOSE of a written file is ``finish`` (``sftpd.protocol`` calls it); the ``close`` asyncssh
itself performs for handles still open when a connection drops is ``abandon``.
"""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator

import asyncssh
from asyncssh import SFTPAttrs, SFTPName
from django.utils.translation import gettext_lazy as _

from audit import context as audit_context
from jobs.exceptions import (
    Conflict,
    Forbidden,
    Invalid,
    IsAFolder,
    NotAFolder,
    NotEmpty,
    NotFound,
    PortalError,
)
from sftpd import bridge
from tree.names import decode
from tree.operations import Entry, Tree
from tree.principal import Client
from tree.staging import FileInfo, ReadFile, StagedUpload

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
UNSUPPORTED_LINKS = _("Links are not supported on this server.")
UNSUPPORTED_STATVFS = _("Disk space queries are not supported on this server.")
READ_ONLY_HANDLE = _("This file was opened for reading only.")


def sftp_error(exc: PortalError) -> asyncssh.SFTPError:
    """The SFTP status (v3 codes, with the tree's sentence) for a refusal of the tree."""
    if isinstance(exc, NotFound):
        return asyncssh.SFTPNoSuchFile(exc.message)
    if isinstance(exc, IsAFolder):
        return asyncssh.SFTPFileIsADirectory(exc.message)
    if isinstance(exc, NotAFolder):
        return asyncssh.SFTPNotADirectory(exc.message)
    if isinstance(exc, Forbidden):
        return asyncssh.SFTPPermissionDenied(exc.message)
    if isinstance(exc, NotEmpty):
        return asyncssh.SFTPFailure(exc.message)  # v3 has no "directory not empty"
    if isinstance(exc, Conflict):
        return asyncssh.SFTPFileAlreadyExists(exc.message)
    if isinstance(exc, Invalid):
        return asyncssh.SFTPInvalidFilename(exc.message)
    return asyncssh.SFTPFailure(exc.message)  # too large, the disk failed, could not record


def _attrs(entry: Entry | FileInfo, *, folder: bool = False) -> SFTPAttrs:
    if folder:
        return SFTPAttrs(permissions=DIR_MODE, size=4096, mtime=int(entry.mtime), atime=int(entry.mtime), nlink=2)
    return SFTPAttrs(permissions=FILE_MODE, size=entry.size, mtime=int(entry.mtime), atime=int(entry.atime), nlink=1)


def _entry_attrs(entry: Entry) -> SFTPAttrs:
    return _attrs(entry, folder=entry.is_folder)


def _writing(pflags: int) -> bool:
    # psftp and curl put file-type bits in attrs.permissions; permissions are ignored anyway.
    return bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC))


class PortalSFTPServer(asyncssh.SFTPServer):
    """One SFTP session of a logged-in FTP user."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        super().__init__(chan)
        conn = chan.get_connection()
        self.client: Client = conn.get_extra_info("portal_client")
        # asyncssh starts this session's task right after making this object: the task (and every
        # bridge.run, which copies it) acts as this FTP user in the audit log.
        audit_context.enter(audit_context.ftp_user(self.client.ftp_user, self.client.address))
        self.tree = Tree(self.client)
        self.stats = conn.get_extra_info("portal_stats")
        self._writing: dict[StagedUpload, asyncio.Future[None]] = {}  # one buffer write in flight per upload

    # --- looking ------------------------------------------------------------------------------

    def format_user(self, uid: int | None) -> str:
        return "ftp"

    def format_group(self, gid: int | None) -> str:
        return "ftp"

    async def listing(self, path: bytes) -> list[SFTPName]:
        """All entries of a folder; raises at once when the folder does not exist."""
        entries = await bridge.run(self.tree.listing, decode(path))
        return [SFTPName(e.name.encode(), attrs=_entry_attrs(e)) for e in entries]

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        for name in await self.listing(path):
            yield name

    async def stat(self, path: bytes) -> SFTPAttrs:
        return _entry_attrs(await bridge.run(self.tree.stat, decode(path)))

    async def lstat(self, path: bytes) -> SFTPAttrs:
        return await self.stat(path)

    async def realpath(self, path: bytes) -> bytes:
        return Tree.realpath(decode(path)).encode()

    # --- changing the tree --------------------------------------------------------------------

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        await bridge.run(self.tree.mkdir, decode(path))

    async def rmdir(self, path: bytes) -> None:
        await bridge.run(self.tree.rmdir, decode(path))

    async def remove(self, path: bytes) -> None:
        await bridge.run(self.tree.remove, decode(path))

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await bridge.run(self.tree.rename, decode(oldpath), decode(newpath))

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self.rename(oldpath, newpath)

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        # Times of files are kept (clients set the camera's time after an upload); permissions, owners,
        # sizes and folder times are accepted and ignored. A finished file is never truncated in place.
        await bridge.run(self.tree.set_times, decode(path), atime=attrs.atime, mtime=attrs.mtime)

    async def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self.setstat(path, attrs)

    # --- files --------------------------------------------------------------------------------

    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        text = decode(path)
        if not _writing(pflags):
            return await bridge.run(self.tree.open_read, text)
        upload = await bridge.run(
            self.tree.open_write,
            text,
            create=bool(pflags & asyncssh.FXF_CREAT),
            exclusive=bool(pflags & asyncssh.FXF_EXCL),
            truncate=bool(pflags & asyncssh.FXF_TRUNC),
            append=bool(pflags & asyncssh.FXF_APPEND),
        )
        if attrs.mtime is not None:
            upload.set_times(attrs.atime, attrs.mtime)
        if self.stats is not None:
            self.stats.open_uploads += 1
        return upload

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if isinstance(file_obj, StagedUpload):
            await self._written(file_obj)
        if isinstance(file_obj, ReadFile | StagedUpload):
            return await bridge.run(file_obj.read, offset, size)
        raise asyncssh.SFTPInvalidHandle("Invalid file handle")

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        """Buffer on the loop; when a buffer is full, write it in the pool behind the next requests.

        asyncssh answers a session's requests one after the other, so a write that waited for the
        disk would hold up the bytes behind it. The buffer goes to a thread instead, and the next
        full buffer waits for it (one write in flight per upload); whatever reads or ends the
        upload waits too (``_written``), so a disk error is reported on the next request or the
        CLOSE. A refusal (too large) is answered on the write that caused it.
        """
        if not isinstance(file_obj, StagedUpload):
            raise asyncssh.SFTPPermissionDenied(str(READ_ONLY_HANDLE))
        if file_obj.accept(offset, data):
            await self._written(file_obj)
            if file_obj.refusal is not None:
                await bridge.run(file_obj.flush)  # drops the bytes and raises the refusal
            pieces = file_obj.take()
            self._writing[file_obj] = asyncio.ensure_future(bridge.run(file_obj.write_pieces, pieces))
        return len(data)

    async def _written(self, upload: StagedUpload) -> None:
        """Wait for this upload's write in flight; raises its error."""
        pending = self._writing.pop(upload, None)
        if pending is not None:
            await pending

    async def finish(self, upload: StagedUpload) -> None:
        """The client closed a file it wrote: the answer waits until it is durable and recorded."""
        changed = upload.dirty or not upload.resumed
        try:
            await self._written(upload)
            await bridge.run(upload.finish)
        finally:
            if self.stats is not None:
                self.stats.open_uploads -= 1
        if self.stats is not None and changed:
            self.stats.files += 1
            self.stats.bytes += upload.size

    async def close(self, file_obj: object) -> None:
        if isinstance(file_obj, ReadFile):
            await bridge.run(file_obj.close)
        elif isinstance(file_obj, StagedUpload):
            # Only asyncssh closes a written file here: the connection went away with it open.
            if self.stats is not None:
                self.stats.open_uploads -= 1
                self.stats.partial += 1
            with contextlib.suppress(PortalError):  # a failed write: abandon drops the bytes
                await self._written(file_obj)
            await bridge.run(file_obj.abandon)

    async def fsync(self, file_obj: object) -> None:
        if isinstance(file_obj, StagedUpload):
            await self._written(file_obj)
            await bridge.run(file_obj.fsync)

    async def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, StagedUpload):
            await self._written(file_obj)
        if isinstance(file_obj, ReadFile | StagedUpload):
            return _attrs(await bridge.run(file_obj.info))
        raise asyncssh.SFTPInvalidHandle("Invalid file handle")

    async def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        if isinstance(file_obj, ReadFile):
            if attrs.mtime is not None:
                await bridge.run(file_obj.set_times, attrs.atime, attrs.mtime)
            return
        if not isinstance(file_obj, StagedUpload):
            raise asyncssh.SFTPInvalidHandle("Invalid file handle")
        if attrs.mtime is not None:
            file_obj.set_times(attrs.atime, attrs.mtime)  # applied when the file is put in place
        if attrs.size is not None:
            await self._written(file_obj)
            await bridge.run(file_obj.truncate, attrs.size)

    # --- not offered --------------------------------------------------------------------------

    async def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPOpUnsupported(str(UNSUPPORTED_LINKS))

    async def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported(str(UNSUPPORTED_LINKS))

    async def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported(str(UNSUPPORTED_LINKS))

    async def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported(str(UNSUPPORTED_STATVFS))

    async def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported(str(UNSUPPORTED_STATVFS))
