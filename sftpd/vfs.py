"""The virtual SFTP tree of one session (DESIGN §3): ``/<job>/<album>/[individuals|group/]<file>``.

Names come from the database (planned jobs, albums); file bytes live on disk under ids, not names:
``SFTPD_ROOT/<account id>/<job id>/<album id>/[individuals|group/]<file name>``, so renaming an album
is a database change only and nothing a client sends ever becomes part of a directory path except a
validated file name. Every refusal is an SFTP status with a sentence a photographer can act on
(FileZilla and WinSCP show it).

Writes go to a server-chosen staging file (``SFTPD_ROOT/.staging/<uuid>``), never into a finished
file: a finished file shares its inode with the upload's stored copy, so it is only ever replaced
whole. Only a CLOSE the client sent makes the staging file durable (fsync of file and folder), reports
it to ``albums.services`` (via ``sftpd.bridge``) and moves it into place atomically. When the
connection drops instead, the partial bytes are thrown away, except under a temporary name
(``*.filepart``, ``*.part``, ``*.tmp``, dot-files): those are kept so the client can resume them, and
temporary names are never processed. Reopening a file without TRUNC (resume) starts the staging file
as a copy of the current one. The SHA-256 is computed while the bytes arrive in order and kept in an
extended attribute, so a rename from a temporary name need not read the file again.

Paths: ``.`` and ``..`` are followed only where a client navigates (REALPATH, STAT, OPENDIR, reading);
anything that changes the tree refuses them, and ``..`` never climbs above ``/``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
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

from albums.paths import is_temporary_name, section_folder, validate_name
from albums.services import FilePath
from albums.storage import fsync_dir
from jobs.exceptions import Conflict, Forbidden, Invalid, NotFound, PortalError
from sftpd import bridge

if TYPE_CHECKING:
    from albums.models import Album
    from jobs.models import PhotoJob

logger = logging.getLogger("sftpd.vfs")

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
# Writes arriving in order are gathered and written in one go: fewer hops to the I/O pool.
WRITE_BUFFER = 1024 * 1024
# The SHA-256 of a sealed file, kept with its inode (the bytes of an inode never change afterwards).
SHA256_XATTR = "user.portal.sha256"
# Staging files older than this are left-overs of a crash and are removed at start-up.
STAGING_MAX_AGE = 24 * 3600

JOB_FOLDERS_FIXED = "Job folders are managed by the studio and cannot be changed over SFTP."
NO_SUBFOLDERS = "Albums hold only files and the folders 'individuals' and 'group'."
SECTION_FOLDERS_FIXED = "The folders 'individuals' and 'group' belong to every album and cannot be changed."


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


def disk_error_message(exc: OSError) -> str:
    """What a photographer is told when the server's disk fails them."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "The server's disk is full, so this upload failed. Please tell the studio and try again later."
    return "The server could not store this file. Please try again; tell the studio if it keeps failing."


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
    resumed: bool = False  # opened on an existing file without TRUNC
    dirty: bool = False  # anything written or truncated since the open
    closed_by_client: bool = False
    refused: str = ""  # set when a write broke a limit or the disk failed; the bytes are then gone


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


def _mb(limit: int) -> str:
    if limit < 1024 * 1024:
        return f"{limit} bytes"
    return f"{limit / (1024 * 1024):.4g} MB"


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
    def _parts(path: bytes, *, navigate: bool) -> list[str]:
        """The segments of a path. ``navigate`` follows ``.``/``..``; otherwise they are refused."""
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            raise asyncssh.SFTPInvalidFilename("File names must be UTF-8.") from None
        if "\x00" in text:
            raise asyncssh.SFTPInvalidFilename("Names cannot contain NUL characters.")
        parts: list[str] = []
        for segment in text.split("/"):
            if segment == "":
                continue
            if segment in (".", ".."):
                if not navigate:
                    raise asyncssh.SFTPInvalidFilename(
                        "Paths containing '.' or '..' are not accepted here; use the folder's full path."
                    )
                if segment == ".." and parts:
                    parts.pop()  # never above "/": the tree has nothing there
                continue
            parts.append(segment)
        return parts

    async def _resolve(self, path: bytes, *, navigate: bool = True) -> Node:
        """Find what a path names; raise SFTPNoSuchFile when it names nothing."""
        return await self._resolve_parts(self._parts(path, navigate=navigate))

    async def _resolve_parts(self, parts: list[str]) -> Node:
        vpath = "/" + "/".join(parts)
        if not parts:
            return Node("root", vpath)
        job, album = await bridge.lookup(self.principal.account_id, parts[0], parts[1] if len(parts) > 1 else None)
        if job is None:
            raise asyncssh.SFTPNoSuchFile(f"There is no planned job named {parts[0]!r}.")
        if len(parts) == 1:
            return Node("job", vpath, job=job)
        if album is None:
            raise asyncssh.SFTPNoSuchFile(f"There is no album folder named {parts[1]!r} in {parts[0]}.")
        if len(parts) == 2:
            return Node("album", vpath, job=job, album=album)
        rest = parts[2:]
        folder = section_folder(rest[0])
        if folder is not None and len(rest) == 1:
            return Node("section", vpath, job=job, album=album, folder=folder)
        if folder is not None and len(rest) == 2:
            name = rest[1]
        elif folder is None and len(rest) == 1:
            folder, name = "", rest[0]
        else:
            raise asyncssh.SFTPNoSuchFile(NO_SUBFOLDERS)
        try:
            validate_name(name)
        except Invalid as exc:
            raise asyncssh.SFTPInvalidFilename(exc.message) from None
        directory = album_dir(album) / folder if folder else album_dir(album)
        return Node("file", vpath, job=job, album=album, folder=folder, name=name, disk=directory / name)

    async def _new_child(self, path: bytes) -> tuple[Node, str]:
        """For creating something: the parent folder and the new name (validated)."""
        parts = self._parts(path, navigate=False)
        if not parts:
            raise asyncssh.SFTPPermissionDenied("The top folder cannot be changed.")
        try:
            validate_name(parts[-1])
        except Invalid as exc:
            raise asyncssh.SFTPInvalidFilename(exc.message) from None
        return await self._resolve_parts(parts[:-1]), parts[-1]

    async def _file_target(self, path: bytes) -> Node:
        """The file node a write or rename goes to, with the precise refusal where there is none."""
        parent, name = await self._new_child(path)
        if parent.kind == "root":
            raise asyncssh.SFTPPermissionDenied(
                "Files cannot be put in the top folder: open a job folder, then an album folder."
            )
        if parent.kind == "job":
            raise asyncssh.SFTPPermissionDenied(
                "Upload into an album folder inside the job folder, not into the job folder itself."
            )
        if parent.kind == "file":
            raise asyncssh.SFTPNoSuchFile(NO_SUBFOLDERS)
        assert parent.album is not None
        vpath = f"{parent.path}/{name}"
        if parent.kind == "album" and section_folder(name):
            raise asyncssh.SFTPFileIsADirectory(f"{vpath} is a folder.")
        directory = album_dir(parent.album) / parent.folder if parent.folder else album_dir(parent.album)
        return Node(
            "file", vpath, job=parent.job, album=parent.album, folder=parent.folder, name=name, disk=directory / name
        )

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
        return ("/" + "/".join(self._parts(path, navigate=True))).encode()

    # --- folders ----------------------------------------------------------------------------

    async def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        parent, name = await self._new_child(path)
        if parent.kind == "root":
            if await bridge.find_job(self.principal.account_id, name):
                raise asyncssh.SFTPFileAlreadyExists(f"The job folder {name!r} already exists.")
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
        if parent.kind == "album":
            if section_folder(name):
                return  # individuals/ and group/ always exist; creating them again is fine
            raise asyncssh.SFTPPermissionDenied(
                "Inside an album only the folders 'individuals' and 'group' can be created."
            )
        if parent.kind == "section":
            raise asyncssh.SFTPPermissionDenied(f"No folders can be made inside '{parent.folder}'; put files there.")
        raise asyncssh.SFTPNoSuchFile(NO_SUBFOLDERS)

    async def rmdir(self, path: bytes) -> None:
        node = await self._resolve(path, navigate=False)
        if node.kind == "album":
            assert node.album is not None
            if await bridge.run(_has_files, album_dir(node.album)):
                raise asyncssh.SFTPFailure("The album folder is not empty: delete its files first.")
            try:
                await bridge.album_delete(node.album)
            except PortalError as exc:
                raise _as_sftp_error(exc) from None
            await bridge.run(_remove_album_dirs, album_dir(node.album))
            return
        if node.kind == "section":
            raise asyncssh.SFTPPermissionDenied(SECTION_FOLDERS_FIXED)
        if node.kind == "file":
            assert node.disk is not None
            if await bridge.run(os.path.isfile, node.disk):
                raise asyncssh.SFTPNotADirectory(f"{node.name!r} is a file, not a folder.")
            raise asyncssh.SFTPNoSuchFile(NO_SUBFOLDERS)
        raise asyncssh.SFTPPermissionDenied(JOB_FOLDERS_FIXED)

    # --- files ------------------------------------------------------------------------------

    async def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> object:
        # psftp and curl put file-type bits in attrs.permissions; permissions are ignored anyway.
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC))
        if not writing:
            node = await self._resolve(path)
            if node.kind != "file":
                raise asyncssh.SFTPFileIsADirectory(f"{node.path} is a folder.")
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
        resume = existing and not pflags & asyncssh.FXF_TRUNC
        try:
            handle = await bridge.run(_start_write, node, resume)
        except FileNotFoundError:  # deleted between the check and the copy
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None
        except OSError as exc:
            logger.warning("cannot start upload path=%s: %s", node.path, exc)
            raise asyncssh.SFTPFailure(disk_error_message(exc)) from None
        handle.append = bool(pflags & asyncssh.FXF_APPEND)
        if attrs.mtime is not None:
            handle.times = (attrs.atime or attrs.mtime, attrs.mtime)
        return handle

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if isinstance(file_obj, ReadHandle):
            return await bridge.run(os.pread, file_obj.fd, size, offset)
        if isinstance(file_obj, WriteHandle):
            h = self._usable(file_obj)
            await self._flush(h)
            return await bridge.run(os.pread, h.fd, size, offset)
        raise asyncssh.SFTPInvalidHandle("Invalid file handle")

    def _usable(self, h: WriteHandle) -> WriteHandle:
        if h.refused:
            raise asyncssh.SFTPFailure(h.refused)
        return h

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if not isinstance(file_obj, WriteHandle):
            raise asyncssh.SFTPPermissionDenied("This file was opened for reading only.")
        h = self._usable(file_obj)
        if h.append:
            offset = h.size
        end = offset + len(data)
        limit = settings.SFTPD_MAX_FILE_BYTES
        if end > limit:
            # Bounds the offsets too: nobody makes a sparse file of a terabyte here.
            await self._refuse(h, f"Upload refused: files larger than {_mb(limit)} are not accepted.")
        if h.pending and offset == h.pending_at + len(h.pending):
            h.pending += data
        else:
            await self._flush(h)
            h.pending_at = offset
            h.pending += data
        h.size = max(h.size, end)
        h.dirty = True
        if len(h.pending) >= WRITE_BUFFER:
            await self._flush(h)
        return len(data)

    async def _refuse(self, h: WriteHandle, message: str) -> None:
        """Give up an upload now: its bytes are deleted at once, and every later request says why."""
        h.refused = message
        h.pending.clear()
        await bridge.run(_discard, h)
        logger.info("upload refused path=%s user=%s: %s", h.node.path, self.principal.username, message)
        raise asyncssh.SFTPFailure(message)

    async def _flush(self, h: WriteHandle) -> None:
        if not h.pending:
            return
        # Hand the buffer over instead of copying up to a MiB of it on every flush.
        data, at = h.pending, h.pending_at
        h.pending = bytearray()
        hash_it = h.sha is not None and at == h.hashed_upto
        if h.sha is not None and not hash_it:
            h.sha = None  # out of order: the worker hashes the finished file instead
        try:
            await bridge.run(_pwrite_all, h.fd, data, at, h.sha if hash_it else None)
        except OSError as exc:
            logger.warning("write failed path=%s: %s", h.node.path, exc)
            await self._refuse(h, disk_error_message(exc))
        if hash_it:
            h.hashed_upto = at + len(data)

    async def close(self, file_obj: object) -> None:
        if isinstance(file_obj, ReadHandle):
            await bridge.run(os.close, file_obj.fd)
            return
        if not isinstance(file_obj, WriteHandle):
            return
        h = file_obj
        if h.refused:
            if h.closed_by_client:
                raise asyncssh.SFTPFailure(h.refused)
            return
        if not h.closed_by_client:
            await self._dropped(h)
            return
        node = h.node
        try:
            await self._flush(h)
            size, sha256 = await bridge.run(_seal, h)
        except OSError as exc:
            await bridge.run(_discard, h)
            logger.warning("could not seal upload path=%s: %s", node.path, exc)
            raise asyncssh.SFTPFailure(disk_error_message(exc)) from None
        if h.resumed and not h.dirty:
            # Opened and closed without a change: the file stays as it was (only its times may move).
            await bridge.run(_keep_unchanged, h)
            return
        try:
            await bridge.file_closed(
                node.where,
                local_file=h.staging,
                size=size,
                sha256=sha256,
                ftp_user=self.principal.ftp_user,
                client_address=self.address,
            )
            await bridge.run(_publish, h)
        except PortalError as exc:
            await bridge.run(_discard, h)
            raise _as_sftp_error(exc) from None
        except OSError as exc:
            await bridge.run(_discard, h)
            logger.warning("could not store upload path=%s: %s", node.path, exc)
            raise asyncssh.SFTPFailure(disk_error_message(exc)) from None
        except Exception:
            await bridge.run(_discard, h)
            logger.exception("could not record upload path=%s", node.path)
            raise asyncssh.SFTPFailure("The server could not record this upload; please upload it again.") from None
        if self.stats is not None:
            self.stats.files += 1
            self.stats.bytes += size

    async def _dropped(self, h: WriteHandle) -> None:
        """The connection went away with this file open (asyncssh closes what was left open)."""
        if self.stats is not None:
            self.stats.partial += 1
        if is_temporary_name(h.node.name) and h.dirty:
            # Kept for a resume under its temporary name, which is never processed.
            try:
                await self._flush(h)
                await bridge.run(_seal, h)
                await bridge.run(_publish, h)
                logger.info("partial upload kept for resume path=%s bytes=%s", h.node.path, h.size)
                return
            except (OSError, asyncssh.SFTPError):
                pass
        await bridge.run(_discard, h)
        logger.info("partial upload discarded path=%s user=%s bytes=%s", h.node.path, self.principal.username, h.size)

    async def fsync(self, file_obj: object) -> None:
        if isinstance(file_obj, WriteHandle):
            h = self._usable(file_obj)
            await self._flush(h)
            await bridge.run(os.fsync, h.fd)

    async def fstat(self, file_obj: object) -> SFTPAttrs:
        if isinstance(file_obj, WriteHandle):
            h = self._usable(file_obj)
            await self._flush(h)
            return _file_attrs(await bridge.run(os.fstat, h.fd))
        if isinstance(file_obj, ReadHandle):
            return _file_attrs(await bridge.run(os.fstat, file_obj.fd))
        raise asyncssh.SFTPInvalidHandle("Invalid file handle")

    async def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        # Times of files are kept (clients set the camera's time after an upload); permissions, owners,
        # sizes and folder times are accepted and ignored. A finished file is never truncated in place.
        node = await self._resolve(path)
        if node.kind == "file" and attrs.mtime is not None:
            assert node.disk is not None
            try:
                await bridge.run(os.utime, node.disk, (attrs.atime or attrs.mtime, attrs.mtime))
            except FileNotFoundError:
                raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.") from None

    async def lsetstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        await self.setstat(path, attrs)

    async def fsetstat(self, file_obj: object, attrs: SFTPAttrs) -> None:
        if isinstance(file_obj, ReadHandle):
            if attrs.mtime is not None:
                await bridge.run(os.utime, file_obj.fd, (attrs.atime or attrs.mtime, attrs.mtime))
            return
        if not isinstance(file_obj, WriteHandle):
            raise asyncssh.SFTPInvalidHandle("Invalid file handle")
        h = self._usable(file_obj)
        if attrs.mtime is not None:
            h.times = (attrs.atime or attrs.mtime, attrs.mtime)  # applied when the file is put in place
        if attrs.size is not None and attrs.size != h.size:
            if attrs.size > settings.SFTPD_MAX_FILE_BYTES:
                await self._refuse(
                    h, f"Upload refused: files larger than {_mb(settings.SFTPD_MAX_FILE_BYTES)} are not accepted."
                )
            await self._flush(h)
            await bridge.run(os.ftruncate, h.fd, attrs.size)
            if h.sha is not None and attrs.size < h.hashed_upto:
                h.sha = None
            h.size = attrs.size
            h.dirty = True

    async def remove(self, path: bytes) -> None:
        node = await self._resolve(path, navigate=False)
        if node.kind == "root" or node.kind == "job":
            raise asyncssh.SFTPPermissionDenied(JOB_FOLDERS_FIXED)
        if node.kind == "section":
            raise asyncssh.SFTPPermissionDenied(SECTION_FOLDERS_FIXED)
        if node.kind == "album":
            raise asyncssh.SFTPFileIsADirectory(f"{node.path} is a folder; remove it as a folder.")
        assert node.disk is not None
        if not await bridge.run(os.path.isfile, node.disk):
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {node.name!r}.")
        await bridge.file_removed(node.where)
        await bridge.run(_unlink, node.disk)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old = await self._resolve(oldpath, navigate=False)
        if old.kind in ("root", "job"):
            raise asyncssh.SFTPPermissionDenied(JOB_FOLDERS_FIXED)
        if old.kind == "section":
            raise asyncssh.SFTPPermissionDenied(SECTION_FOLDERS_FIXED)
        if old.kind == "album":
            await self._rename_album(old, newpath)
            return
        new = await self._file_target(newpath)
        assert old.disk is not None and new.disk is not None
        try:
            st = await bridge.run(os.stat, old.disk)
        except FileNotFoundError:
            raise asyncssh.SFTPNoSuchFile(f"There is no file named {old.name!r}.") from None
        if old.disk == new.disk:
            return
        try:
            await bridge.file_renamed(
                old.where,
                new.where,
                local_file=old.disk,
                size=st.st_size,
                sha256=await bridge.run(_stored_sha256, old.disk),
                ftp_user=self.principal.ftp_user,
                client_address=self.address,
            )
        except PortalError as exc:
            raise _as_sftp_error(exc) from None
        await bridge.run(_move, old.disk, new.disk)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self.rename(oldpath, newpath)

    async def _rename_album(self, old: Node, newpath: bytes) -> None:
        parent, name = await self._new_child(newpath)
        assert old.album is not None
        if parent.kind != "job" or parent.job is None or parent.job.pk != old.album.job_id:
            raise asyncssh.SFTPPermissionDenied("An album folder can only be renamed within its job folder.")
        if name == old.album.name:
            return
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
        raise asyncssh.SFTPOpUnsupported("Disk space queries are not supported on this server.")

    async def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("Disk space queries are not supported on this server.")


# --- blocking file work (runs in the I/O pool) --------------------------------------------------


def _make_album_dirs(directory: Path) -> None:
    for sub in ("individuals", "group"):
        (directory / sub).mkdir(parents=True, exist_ok=True)


def _remove_album_dirs(directory: Path) -> None:
    for sub in ("individuals", "group", ""):
        # Already gone, or a file arrived meanwhile: the folder is harmless either way.
        with contextlib.suppress(OSError):
            (directory / sub).rmdir()


def _has_files(directory: Path) -> bool:
    return any(_list_files(directory / sub) for sub in ("", "individuals", "group"))


def _start_write(node: Node, resume: bool) -> WriteHandle:
    """Open a fresh staging file; for a resume (no TRUNC) it starts as a copy of the file."""
    staging_dir().mkdir(parents=True, exist_ok=True)
    staging = staging_dir() / uuid.uuid4().hex
    fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
    handle = WriteHandle(node=node, staging=staging, fd=fd, resumed=resume)
    if resume:
        assert node.disk is not None
        try:
            with open(node.disk, "rb") as src:
                while chunk := src.read(WRITE_BUFFER):
                    _pwrite_all(fd, chunk, handle.size, handle.sha)
                    handle.size += len(chunk)
        except OSError:
            _discard(handle)
            raise
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
    sha = h.sha.hexdigest() if h.sha is not None and h.hashed_upto == size else ""
    if sha:
        # On a filesystem without user xattrs the worker hashes renamed files itself.
        with contextlib.suppress(OSError):
            os.setxattr(h.fd, SHA256_XATTR, sha.encode())
    os.close(h.fd)
    h.fd = -1
    return size, sha


def _stored_sha256(path: Path) -> str:
    try:
        return os.getxattr(path, SHA256_XATTR).decode()
    except OSError:
        return ""


def _publish(h: WriteHandle) -> None:
    """Put the sealed staging file in place under its name (atomic), durably."""
    target = h.node.disk
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    if h.times is not None:
        os.utime(h.staging, h.times)
    os.replace(h.staging, target)
    fsync_dir(target.parent)


def _keep_unchanged(h: WriteHandle) -> None:
    _discard(h)
    if h.times is not None and h.node.disk is not None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(h.node.disk, h.times)


def _discard(h: WriteHandle) -> None:
    if h.fd >= 0:
        os.close(h.fd)
        h.fd = -1
    h.staging.unlink(missing_ok=True)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _move(old: Path, new: Path) -> None:
    new.parent.mkdir(parents=True, exist_ok=True)
    os.replace(old, new)
    fsync_dir(new.parent)
    if old.parent != new.parent:
        fsync_dir(old.parent)


def sweep_staging(max_age: float = STAGING_MAX_AGE) -> int:
    """Remove staging files a crashed server left behind (several servers may share the folder)."""
    directory = staging_dir()
    if not directory.is_dir():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for entry in os.scandir(directory):
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
