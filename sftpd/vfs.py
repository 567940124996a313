"""The virtual SFTP tree of one session (DESIGN §3): ``/<job>/<album>/[individuals|group/]<file>``.

Names come from the database (planned jobs, albums); file bytes live on disk under ids, not names:
``SFTPD_ROOT/<account id>/<job id>/<album id>/[individuals|group/]<file name>``, so renaming an album
is a database change only and nothing a client sends ever becomes part of a directory path except a
validated file name. Writes go to a server-chosen staging file; only a CLOSE the client sent makes
the file visible under its name and reports it to ``albums.services`` (via ``sftpd.bridge``).
Every refusal is an SFTP status with a sentence a photographer can act on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import stat
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh
from asyncssh import SFTPAttrs, SFTPName
from django.conf import settings

from albums.paths import section_folder, validate_name
from albums.services import FilePath
from albums.storage import fsync_dir
from jobs.exceptions import Conflict, Forbidden, Invalid, NotFound, PortalError
from sftpd import bridge

if TYPE_CHECKING:
    from albums.models import Album
    from jobs.models import PhotoJob

logger = logging.getLogger(__name__)

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
# Writes arriving in order are gathered and written in one go: fewer hops to the I/O pool.
WRITE_BUFFER = 1024 * 1024


def _as_sftp_error(exc: PortalError) -> asyncssh.SFTPError:
    if isinstance(exc, NotFound):
        return asyncssh.SFTPNoSuchFile(exc.message)
    if isinstance(exc, Forbidden):
        return asyncssh.SFTPPermissionDenied(exc.message)
    if isinstance(exc, Conflict):
        return asyncssh.SFTPFileAlreadyExists(exc.message)
    if isinstance(exc, Invalid):
        return asyncssh.SFTPInvalidFilename(exc.message)
    return asyncssh.SFTPFailure(exc.message)


@dataclass
class Node:
    """A resolved virtual path. ``kind`` is root, job, album, section or file."""

    kind: str
    path: str
    job: PhotoJob | None = None
    album: Album | None = None
    folder: str = ""
    name: str = ""
    disk: Path | None = None  # the file on disk (kind == "file")

    @property
    def where(self) -> FilePath:
        assert self.album is not None
        return FilePath(album=self.album, folder=self.folder, filename=self.name)


@dataclass
class WriteHandle:
    node: Node
    staging: Path
    fd: int
    append: bool = False
    size: int = 0
    sha: hashlib._Hash | None = field(default_factory=hashlib.sha256)
    hashed_upto: int = 0
    pending: bytearray = field(default_factory=bytearray)
    pending_at: int = 0
    times: tuple[float, float] | None = None
    closed_by_client: bool = False
    refused: str = ""  # set when a write broke a limit; the file is then never kept


@dataclass
class ReadHandle:
    node: Node
    fd: int


def album_dir(album: Album) -> Path:
    job = album.job
    return Path(settings.SFTPD_ROOT) / str(job.account_id) / str(job.pk) / str(album.pk)


def staging_dir() -> Path:
    return Path(settings.SFTPD_ROOT) / ".staging"


def _dir_attrs(mtime: float) -> SFTPAttrs:
    return SFTPAttrs(permissions=DIR_MODE, size=4096, mtime=int(mtime), atime=int(mtime), nlink=2)


def _file_attrs(st: os.stat_result) -> SFTPAttrs:
    return SFTPAttrs(permissions=FILE_MODE, size=st.st_size, mtime=int(st.st_mtime), atime=int(st.st_atime), nlink=1)


def _list_files(directory: Path) -> list[tuple[str, os.stat_result]]:
    try:
        with os.scandir(directory) as entries:
            return [(e.name, e.stat()) for e in entries if e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []


class PortalSFTPServer(asyncssh.SFTPServer):
    """One SFTP session of a logged-in FTP user."""

    def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
        super().__init__(chan)
        conn = chan.get_connection()
        self.principal: bridge.Principal = conn.get_extra_info("portal_principal")
        peer = conn.get_extra_info("peername")
        self.address: str | None = peer[0] if peer else None
        self.stats = conn.get_extra_info("portal_stats")

    # --- paths ------------------------------------------------------------------------------

    @staticmethod
    def _normalise(path: bytes) -> str:
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            raise asyncssh.SFTPInvalidFilename("File names must be UTF-8.") from None
        if "\x00" in text:
            raise asyncssh.SFTPInvalidFilename("File names cannot contain NUL.")
        return posixpath.normpath(posixpath.join("/", text)).replace("//", "/")

    async def _resolve(self, path: bytes) -> Node:
        """Find what a path names; raise SFTPNoSuchFile when it names nothing."""
        vpath = self._normalise(path)
        parts = [p for p in vpath.split("/") if p]
        if not parts:
            return Node("root", vpath)
        account_id = self.principal.account_id
        if len(parts) == 1:
            job = await bridge.find_job(account_id, parts[0])
            if job is None:
                raise asyncssh.SFTPNoSuchFile(f"There is no planned job named {parts[0]!r}.")
            return Node("job", vpath, job=job)
        album = await bridge.find_album(account_id, parts[0], parts[1])
        if album is None:
            if await bridge.find_job(account_id, parts[0]) is None:
                raise asyncssh.SFTPNoSuchFile(f"There is no planned job named {parts[0]!r}.")
            raise asyncssh.SFTPNoSuchFile(f"There is no album folder named {parts[1]!r}.")
        if len(parts) == 2:
            return Node("album", vpath, job=album.job, album=album)
        rest = parts[2:]
        folder = section_folder(rest[0])
        if folder is not None and len(rest) == 1:
            return Node("section", vpath, job=album.job, album=album, folder=folder)
        if folder is not None and len(rest) == 2:
            folder_name, name = folder, rest[1]
        elif folder is None and len(rest) == 1:
            folder_name, name = "", rest[0]
        else:
            raise asyncssh.SFTPNoSuchFile("Albums hold only files and the folders individuals and group.")
        try:
            validate_name(name)
        except Invalid as exc:
            raise asyncssh.SFTPInvalidFilename(exc.message) from None
        disk = album_dir(album) / folder_name / name if folder_name else album_dir(album) / name
        return Node("file", vpath, job=album.job, album=album, folder=folder_name, name=name, disk=disk)

    async def _resolve_new_child(self, path: bytes) -> tuple[Node | None, str, str]:
        """For mkdir/open-create: the parent node and the new name (validated)."""
        vpath = self._normalise(path)
        parent, name = posixpath.split(vpath)
        if not name:
            raise asyncssh.SFTPPermissionDenied("The top folder cannot be changed.")
        try:
            validate_name(name)
        except Invalid as exc:
            raise asyncssh.SFTPInvalidFilename(exc.message) from None
        return await self._resolve(parent.encode()), name, vpath

    # --- listing ----------------------------------------------------------------------------

    def format_user(self, uid: int | None) -> str:
        return "ftp"

    def format_group(self, gid: int | None) -> str:
        return "ftp"

    async def listing(self, path: bytes) -> list[SFTPName]:
        """All entries of a folder; raises at once when the folder does not exist."""
        node = await self._resolve(path)
        if node.kind == "root":
            jobs = await bridge.planned_jobs(self.principal.account_id)
            return [SFTPName(j.internal_name.encode(), attrs=_dir_attrs(j.created_at.timestamp())) for j in jobs]
        if node.kind == "job":
            assert node.job is not None
            albums = await bridge.albums_of(node.job)
            return [SFTPName(a.name.encode(), attrs=_dir_attrs(a.created_at.timestamp())) for a in albums]
        if node.kind == "album":
            assert node.album is not None
            mtime = node.album.created_at.timestamp()
            names = [SFTPName(b"individuals", attrs=_dir_attrs(mtime)), SFTPName(b"group", attrs=_dir_attrs(mtime))]
            files = await bridge.run(_list_files, album_dir(node.album))
            return names + [SFTPName(n.encode(), attrs=_file_attrs(st)) for n, st in sorted(files)]
        if node.kind == "section":
            assert node.album is not None
            files = await bridge.run(_list_files, album_dir(node.album) / node.folder)
            return [SFTPName(n.encode(), attrs=_file_attrs(st)) for n, st in sorted(files)]
        raise asyncssh.SFTPNotADirectory(f"{node.path} is a file, not a folder.")

    async def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        for name in await self.listing(path):
            yield name

    async def _attrs(self, node: Node) -> SFTPAttrs:
        if node.kind == "file":
            assert node.disk is not None
            try:
                return _file_attrs(await bridge.run(os.stat, node.disk))
            except FileNotFoundError:
                raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None
        when = time.time()
        if node.job is not None:
            when = (node.album or node.job).created_at.timestamp()
        return _dir_attrs(when)

    async def stat(self, path: bytes) -> SFTPAttrs:
        return await self._attrs(await self._resolve(path))

    async def lstat(self, path: bytes) -> SFTPAttrs:
        return await self.stat(path)

    async def realpath(self, path: bytes) -> bytes:
        return self._normalise(path).encode()

    # --- folders ----------------------------------------------------------------------------

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        parent, name, vpath = await self._resolve_new_child(path)
        assert parent is not None
        if parent.kind == "root":
            exists = await bridge.find_job(self.principal.account_id, name)
            if exists:
                raise asyncssh.SFTPFileAlreadyExists(f"{vpath} already exists.")
            raise asyncssh.SFTPPermissionDenied(
                "Job folders are made by the studio; create album folders inside a job folder."
            )
        if parent.kind == "job":
            assert parent.job is not None
            try:
                album = await bridge.album_create(parent.job, name, self.principal)
            except PortalError as exc:
                raise _as_sftp_error(exc) from None
            await bridge.run(_make_album_dirs, album_dir(album))
            return
        if parent.kind == "album" and section_folder(name):
            return  # individuals/ and group/ always exist; creating them again is fine
        if parent.kind == "album":
            raise asyncssh.SFTPPermissionDenied(
                "Inside an album only the folders 'individuals' and 'group' can be created."
            )
        raise asyncssh.SFTPPermissionDenied("No folders can be created here.")

    async def rmdir(self, path: bytes) -> None:
        node = await self._resolve(path)
        if node.kind == "album":
            assert node.album is not None
            if await bridge.run(_has_files, album_dir(node.album)):
                raise asyncssh.SFTPFailure("The album folder is not empty.")
            try:
                await bridge.album_delete(node.album)
            except PortalError as exc:
                raise _as_sftp_error(exc) from None
            return
        if node.kind == "section":
            raise asyncssh.SFTPPermissionDenied("The individuals and group folders belong to every album.")
        if node.kind == "file":
            raise asyncssh.SFTPNotADirectory(f"{node.path} is a file.")
        raise asyncssh.SFTPPermissionDenied("Job folders are managed by the studio.")

    # --- files ------------------------------------------------------------------------------

    def _file_node_or_refuse(self, node: Node) -> Node:
        if node.kind == "file":
            return node
        if node.kind == "root":
            raise asyncssh.SFTPPermissionDenied("Files cannot be put here: open a job folder first.")
        if node.kind == "job":
            raise asyncssh.SFTPPermissionDenied("Upload into an album folder inside the job folder.")
        raise asyncssh.SFTPFileIsADirectory(f"{node.path} is a folder.")

    async def _file_target(self, path: bytes) -> Node:
        """The file node a write or delete goes to, with the precise refusal where there is none."""
        parent, _name, vpath = await self._resolve_new_child(path)
        assert parent is not None
        if parent.kind in ("root", "job"):
            self._file_node_or_refuse(parent)
        return self._file_node_or_refuse(await self._resolve(vpath.encode()))

    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND))
        if not writing:
            node = self._file_node_or_refuse(await self._resolve(path))
            assert node.disk is not None
            try:
                fd = await bridge.run(os.open, node.disk, os.O_RDONLY)
            except FileNotFoundError:
                raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None
            return ReadHandle(node=node, fd=fd)
        node = await self._file_target(path)
        assert node.disk is not None
        existing = await bridge.run(os.path.exists, node.disk)
        if existing and pflags & asyncssh.FXF_EXCL:
            raise asyncssh.SFTPFileAlreadyExists(f"{node.name!r} already exists.")
        if not existing and not pflags & asyncssh.FXF_CREAT:
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.")
        keep = existing and not pflags & asyncssh.FXF_TRUNC
        handle = await bridge.run(_start_write, node, keep)
        handle.append = bool(pflags & asyncssh.FXF_APPEND)
        if attrs.mtime is not None:
            handle.times = (attrs.atime or attrs.mtime, attrs.mtime)
        return handle

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if isinstance(file_obj, ReadHandle):
            return await bridge.run(os.pread, file_obj.fd, size, offset)
        if isinstance(file_obj, WriteHandle):
            await self._flush(file_obj)
            return await bridge.run(os.pread, file_obj.fd, size, offset)
        raise asyncssh.SFTPInvalidHandle("Invalid file handle")

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if not isinstance(file_obj, WriteHandle):
            raise asyncssh.SFTPPermissionDenied("This file was opened for reading only.")
        h = file_obj
        if h.refused:
            raise asyncssh.SFTPFailure(h.refused)
        if h.append:
            offset = h.size
        end = offset + len(data)
        limit = settings.SFTPD_MAX_FILE_BYTES
        if end > limit:
            h.refused = f"Upload refused: the file is larger than {limit // (1024 * 1024)} MB."
            raise asyncssh.SFTPFailure(h.refused)
        if h.pending and offset == h.pending_at + len(h.pending):
            h.pending += data
        else:
            await self._flush(h)
            h.pending_at = offset
            h.pending += data
        h.size = max(h.size, end)
        if len(h.pending) >= WRITE_BUFFER:
            await self._flush(h)
        return len(data)

    async def _flush(self, h: WriteHandle) -> None:
        if not h.pending:
            return
        data, at = bytes(h.pending), h.pending_at
        h.pending.clear()
        hash_it = h.sha is not None and at == h.hashed_upto
        if h.sha is not None and not hash_it and at < h.hashed_upto:
            h.sha = None  # rewriting bytes already hashed: the worker hashes the final file instead
        await bridge.run(_pwrite_all, h.fd, data, at, h.sha if hash_it else None)
        if hash_it:
            h.hashed_upto = at + len(data)

    async def close(self, file_obj: object) -> None:
        if isinstance(file_obj, ReadHandle):
            await bridge.run(os.close, file_obj.fd)
            return
        if not isinstance(file_obj, WriteHandle):
            return
        h = file_obj
        if not h.closed_by_client or h.refused:
            # The connection dropped (asyncssh closes what was left open) or a limit was broken:
            # the partial bytes never become a file or an upload.
            await bridge.run(_discard, h)
            logger.info(
                "partial upload discarded path=%s user=%s bytes=%s", h.node.path, self.principal.username, h.size
            )
            if h.refused:
                raise asyncssh.SFTPFailure(h.refused)
            return
        try:
            await self._flush(h)
            size, sha256 = await bridge.run(_seal, h)
        except OSError:
            await bridge.run(_discard, h)
            raise
        node = h.node
        try:
            await bridge.file_closed(
                node.where,
                local_file=h.staging,
                size=size,
                sha256=sha256,
                ftp_user=self.principal.ftp_user,
                client_address=self.address,
            )
        except Exception:
            await bridge.run(_discard, h)
            logger.exception("could not record upload path=%s", node.path)
            raise asyncssh.SFTPFailure("The server could not record this upload; please upload it again.") from None
        await bridge.run(_publish, h)
        if self.stats is not None:
            self.stats.files += 1
            self.stats.bytes += size

    async def fsync(self, file_obj: object) -> None:
        if isinstance(file_obj, WriteHandle):
            await self._flush(file_obj)
            await bridge.run(os.fsync, file_obj.fd)

    async def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, WriteHandle):
            await self._flush(file_obj)
        fd = file_obj.fd  # type: ignore[attr-defined]
        return _file_attrs(await bridge.run(os.fstat, fd))

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        node = await self._resolve(path)
        if node.kind == "file" and attrs.mtime is not None:
            assert node.disk is not None
            try:
                await bridge.run(os.utime, node.disk, (attrs.atime or attrs.mtime, attrs.mtime))
            except FileNotFoundError:
                raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None
        # Permissions, owners and folder times: accepted and ignored (clients set them by habit).

    async def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self.setstat(path, attrs)

    async def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        if isinstance(file_obj, WriteHandle) and attrs.mtime is not None:
            file_obj.times = (attrs.atime or attrs.mtime, attrs.mtime)

    async def remove(self, path: bytes) -> None:
        node = await self._file_target(path)
        assert node.disk is not None
        try:
            await bridge.run(os.unlink, node.disk)
        except FileNotFoundError:
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None
        await bridge.file_removed(node.where)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old = await self._resolve(oldpath)
        if old.kind == "album":
            await self._rename_album(old, newpath)
            return
        old = self._file_node_or_refuse(old)
        new = await self._file_target(newpath)
        assert old.disk is not None and new.disk is not None
        if old.disk == new.disk:
            return
        try:
            size = (await bridge.run(os.stat, old.disk)).st_size
        except FileNotFoundError:
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {old.name!r}.") from None
        try:
            await bridge.file_renamed(
                old.where,
                new.where,
                local_file=old.disk,
                size=size,
                ftp_user=self.principal.ftp_user,
                client_address=self.address,
            )
        except PortalError as exc:
            raise _as_sftp_error(exc) from None
        await bridge.run(_move, old.disk, new.disk)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self.rename(oldpath, newpath)

    async def _rename_album(self, old: Node, newpath: bytes) -> None:
        parent, name, _ = await self._resolve_new_child(newpath)
        assert parent is not None and old.album is not None
        if parent.kind != "job" or parent.job is None or parent.job.pk != old.album.job_id:
            raise asyncssh.SFTPPermissionDenied("An album folder can only be renamed within its job.")
        try:
            await bridge.album_rename(old.album, name)
        except PortalError as exc:
            raise _as_sftp_error(exc) from None

    async def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPOpUnsupported("Links are not supported on this server.")

    async def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("Links are not supported on this server.")

    async def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("Links are not supported on this server.")

    async def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("statvfs is not supported on this server.")

    async def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("statvfs is not supported on this server.")


# --- blocking file work (runs in the I/O pool) --------------------------------------------------


def _make_album_dirs(directory: Path) -> None:
    for sub in ("individuals", "group"):
        (directory / sub).mkdir(parents=True, exist_ok=True)


def _has_files(directory: Path) -> bool:
    return any(_list_files(directory / sub) for sub in ("", "individuals", "group"))


def _start_write(node: Node, keep: bool) -> WriteHandle:
    """Open a fresh staging file; for a resume (no TRUNC) it starts as a copy of the file."""
    staging_dir().mkdir(parents=True, exist_ok=True)
    staging = staging_dir() / uuid.uuid4().hex
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
    handle = WriteHandle(node=node, staging=staging, fd=fd)
    if keep:
        assert node.disk is not None
        with open(node.disk, "rb") as src:
            while chunk := src.read(WRITE_BUFFER):
                _pwrite_all(fd, chunk, handle.size, handle.sha)
                handle.size += len(chunk)
        handle.hashed_upto = handle.size
    return handle


def _pwrite_all(fd: int, data: bytes, offset: int, sha: hashlib._Hash | None) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
    if sha is not None:
        sha.update(data)


def _seal(h: WriteHandle) -> tuple[int, str]:
    """Make the staging file durable; return its size and SHA-256 ("" when writes were out of order)."""
    os.fsync(h.fd)
    size = os.fstat(h.fd).st_size
    os.close(h.fd)
    h.fd = -1
    sha = h.sha.hexdigest() if h.sha is not None and h.hashed_upto == size else ""
    return size, sha


def _publish(h: WriteHandle) -> None:
    """Put the sealed staging file in place under its name (atomic), durably."""
    target = h.node.disk
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    if h.times is not None:
        os.utime(h.staging, h.times)
    os.replace(h.staging, target)
    fsync_dir(target.parent)


def _discard(h: WriteHandle) -> None:
    if h.fd >= 0:
        os.close(h.fd)
        h.fd = -1
    h.staging.unlink(missing_ok=True)


def _move(old: Path, new: Path) -> None:
    new.parent.mkdir(parents=True, exist_ok=True)
    os.replace(old, new)
    fsync_dir(new.parent)
    if old.parent != new.parent:
        fsync_dir(old.parent)
