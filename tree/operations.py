"""DESIGN §3 as operations: what one client may see and do in the tree, whichever door it came through.

``Tree(client)`` answers listing, stat and realpath, and decides mkdir, rmdir, remove, rename, set
times and opening files for reading or writing (``tree.staging``). It refuses with the portal's own
exceptions and the sentences of ``tree.refusals``; a door only maps those to its status codes and
its wire format. What a change means for the album is recorded through ``albums.services``:

- a finished file under a final name is an upload (``file_finished``); a temporary name is stored
  and listed but never taken in, until it is renamed to a final name;
- a rename of a finished file moves its photo, also between ``individuals`` and ``group``
  (``file_renamed``), and replaces whatever had the new name (POSIX rename);
- a rename to a temporary name, or a delete, removes the photo (``file_removed``);
- folders: the top folder lists the planned jobs and cannot be changed; a job folder holds albums
  (mkdir makes one, rename renames it, rmdir removes an empty one) and no files; an album holds
  files and the folders ``individuals`` and ``group`` only;
- a device (DESIGN §9) sees its album as ``/`` and may make folders at any depth (making one that
  exists succeeds; rmdir removes an empty one); its files keep their photos (``tree.files``);
- an album folder may hold the server's read-only ``REJECTED.txt`` (DESIGN §12, ``tree.notices``).

Folders and files are rows in the database (``tree.files``); bytes are in storage, except those still
being written (``tree.staging``). Every method is synchronous and may touch the database, storage
and the disk: a threaded door calls it directly, the asyncio one through ``sftpd.bridge``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.utils.translation import gettext

from albums import services as album_services
from devices.models import DeviceFolder
from jobs.exceptions import Conflict, Forbidden, IsAFolder, NotAFolder, NotEmpty, NotFound
from tree import files, notices, refusals
from tree.models import TreeFile
from tree.names import join, section_folder, segments
from tree.principal import Client
from tree.resolve import Kind, Node, albums_of, file_target, find_job, new_child, planned_jobs, resolve
from tree.staging import ReadFile, StagedUpload

logger = logging.getLogger("tree.operations")


@dataclass(frozen=True)
class Entry:
    """One name in a listing."""

    name: str
    is_folder: bool
    size: int
    mtime: float
    atime: float


def _folder(name: str, when: float) -> Entry:
    return Entry(name=name, is_folder=True, size=0, mtime=when, atime=when)


def _file(row: TreeFile, *, device: bool = False) -> Entry:
    """A file's entry: a device sees the names it gave, everybody else the album's names."""
    name = row.shown_name if device else row.name
    return Entry(name=name, is_folder=False, size=row.size, mtime=row.mtime, atime=row.mtime)


def _notice(notice: notices.Notice) -> Entry:
    return Entry(name=notices.NAME, is_folder=False, size=notice.size, mtime=notice.mtime, atime=notice.mtime)


class Tree:
    """The tree as ``client`` sees it."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def resolve(self, path: str, *, navigate: bool = True) -> Node:
        return resolve(self.client, path, navigate=navigate)

    # --- looking ------------------------------------------------------------------------------

    @staticmethod
    def realpath(path: str) -> str:
        """The canonical form of a path (``.`` and ``..`` followed, never above ``/``)."""
        return join(segments(path, navigate=True))

    def listing(self, path: str) -> list[Entry]:
        """All entries of a folder; raises at once when the folder does not exist."""
        node = self.resolve(path)
        if node.kind == Kind.ROOT:
            return [_folder(j.internal_name, j.created_at.timestamp()) for j in planned_jobs(self.client.account_id)]
        if node.kind == Kind.JOB:
            assert node.job is not None
            return [_folder(a.name, a.created_at.timestamp()) for a in albums_of(node.job)]
        if node.kind == Kind.FILE:
            raise NotAFolder(refusals.not_a_folder(node.path))
        assert node.album is not None
        if node.kind == Kind.DEVICE_FOLDER:
            return self._device_listing(node)
        entries = []
        if node.kind == Kind.ALBUM:
            when = node.album.created_at.timestamp()
            entries = [_folder("individuals", when), _folder("group", when)]
        entries += [_file(row) for row in files.listing(node.album, node.folder)]
        return self._with_notice(node, entries) if node.kind == Kind.ALBUM else entries

    def _with_notice(self, node: Node, entries: list[Entry]) -> list[Entry]:
        """An album folder's entries with the server's ``REJECTED.txt`` for this client, when it has one."""
        if not notices.shown_to(self.client):
            return entries
        assert node.album is not None
        entries = [e for e in entries if e.is_folder or e.name != notices.NAME]
        notice = notices.notice(self.client, node.album)
        return [*entries, _notice(notice)] if notice is not None else entries

    def _the_notice(self, node: Node) -> notices.Notice:
        assert node.album is not None
        notice = notices.notice(self.client, node.album)
        if notice is None:
            raise NotFound(refusals.no_file(notices.NAME))
        return notice

    def _device_listing(self, node: Node) -> list[Entry]:
        assert node.album is not None and node.device is not None
        inside = node.device_dir.strip("/")
        prefix = f"{inside}/" if inside else ""
        below = DeviceFolder.objects.filter(device=node.device, path__startswith=prefix).exclude(path=inside)
        folders = [
            _folder(row.path[len(prefix) :], row.created_at.timestamp())
            for row in below
            if "/" not in row.path[len(prefix) :]
        ]
        rows = files.listing(node.album, node.folder, node.device_dir)
        entries = folders + [_file(row, device=True) for row in rows]
        return self._with_notice(node, entries) if node.device_dir == "/" else entries

    def stat(self, path: str) -> Entry:
        node = self.resolve(path)
        name = path.rstrip("/").rpartition("/")[2] or "/"
        if notices.is_notice(self.client, node):
            return _notice(self._the_notice(node))
        if node.kind == Kind.FILE:
            return _file(self._listed(node), device=node.device is not None)
        when = time.time()
        if node.job is not None:
            when = (node.album or node.job).created_at.timestamp()
        return _folder(name, when)

    # --- folders ------------------------------------------------------------------------------

    def mkdir(self, path: str) -> None:
        parent, name = new_child(self.client, path)
        if parent.kind == Kind.FILE and parent.device is not None:
            raise NotFound(refusals.no_device_folder(parent.path))
        if parent.kind == Kind.DEVICE_FOLDER:
            assert parent.device is not None
            inside = parent.device_dir.strip("/")
            # Cameras make their folders every time (created if missing): one that exists is fine.
            DeviceFolder.objects.get_or_create(device=parent.device, path=f"{inside}/{name}" if inside else name)
            return
        if parent.kind == Kind.ROOT:
            if find_job(self.client.account_id, name):
                # curl and lftp make every folder of a path from the top: an existing job "exists".
                raise Conflict(refusals.job_exists(name))
            raise Forbidden(refusals.JOBS_BY_STUDIO)
        if parent.kind == Kind.JOB:
            assert parent.job is not None
            album_services.album_create(job=parent.job, name=name, ftp_user=self.client.ftp_user)
            return
        if parent.kind == Kind.ALBUM:
            if section_folder(name):
                return  # individuals/ and group/ always exist; making them again is fine
            raise Forbidden(refusals.ONLY_SECTION_FOLDERS)
        if parent.kind == Kind.SECTION:
            raise Forbidden(refusals.no_folders_in_section(parent.folder))
        raise NotFound(refusals.NO_SUBFOLDERS)

    def rmdir(self, path: str) -> None:
        node = self.resolve(path, navigate=False)
        if node.kind == Kind.DEVICE_FOLDER:
            self._device_rmdir(node)
            return
        if node.kind == Kind.ALBUM:
            assert node.album is not None
            if files.album_has_files(node.album):
                raise NotEmpty(refusals.ALBUM_NOT_EMPTY)
            album_services.album_delete(album=node.album)
            return
        if node.kind == Kind.SECTION:
            raise Forbidden(refusals.SECTION_FOLDERS_FIXED)
        if node.kind == Kind.FILE:
            if notices.is_notice(self.client, node) or files.get(node.where) is not None:
                raise NotAFolder(refusals.not_a_folder(repr(node.name)))
            raise NotFound(refusals.NO_SUBFOLDERS)
        raise Forbidden(refusals.JOB_FOLDERS_FIXED)

    def _device_rmdir(self, node: Node) -> None:
        assert node.album is not None and node.device is not None
        inside = node.device_dir.strip("/")
        if not inside:
            raise Forbidden(refusals.DEVICE_ROOT_FIXED)
        below = DeviceFolder.objects.filter(device=node.device, path__startswith=f"{inside}/").exists()
        if below or files.device_folder_has_files(node.album, node.folder, node.device_dir):
            raise NotEmpty(refusals.device_folder_not_empty(node.path))
        DeviceFolder.objects.filter(device=node.device, path=inside).delete()

    def _rename_album(self, old: Node, newpath: str) -> None:
        parent, name = new_child(self.client, newpath)
        assert old.album is not None
        if parent.kind != Kind.JOB or parent.job is None or parent.job.pk != old.album.job_id:
            raise Forbidden(refusals.ALBUM_RENAME_WITHIN_JOB)
        if name != old.album.name:
            album_services.album_rename(album=old.album, name=name)

    # --- files --------------------------------------------------------------------------------

    @staticmethod
    def _listed(node: Node) -> TreeFile:
        row = files.get(node.where)
        if row is None or (node.device is not None and row.device_dir != node.device_dir):
            raise NotFound(refusals.no_file(node.device_name or node.name))
        return row

    def _fixed(self, node: Node) -> None:
        """Refuse changing a folder that only the studio (or nobody) changes."""
        if node.kind in (Kind.ROOT, Kind.JOB):
            raise Forbidden(refusals.JOB_FOLDERS_FIXED)
        if node.kind == Kind.SECTION:
            raise Forbidden(refusals.SECTION_FOLDERS_FIXED)
        if node.kind == Kind.DEVICE_FOLDER:
            raise Forbidden(refusals.DEVICE_FOLDERS_FIXED)

    def remove(self, path: str) -> None:
        node = self.resolve(path, navigate=False)
        if node.kind in (Kind.ALBUM, Kind.DEVICE_FOLDER) and node.path != "/":
            raise IsAFolder(gettext("{path} is a folder; remove it as a folder.").format(path=node.path))
        self._fixed(node)
        if notices.is_notice(self.client, node):
            assert node.album is not None
            self._the_notice(node)  # deleting what is not there is "no such file"
            notices.acknowledge(self.client, node.album)
            return
        files.removed(self.client, self._listed(node))

    def rename(self, oldpath: str, newpath: str) -> None:
        old = self.resolve(oldpath, navigate=False)
        self._fixed(old)
        if old.kind == Kind.ALBUM:
            self._rename_album(old, newpath)
            return
        if notices.is_notice(self.client, old):
            self._the_notice(old)
            raise Forbidden(notices.READ_ONLY)
        new = file_target(self.client, newpath)
        notices.refuse_write(self.client, new)
        row = self._listed(old)
        if new.where == old.where:
            return
        assert old.album is not None and new.album is not None
        if old.album.job_id != new.album.job_id:
            raise Forbidden(refusals.MOVE_WITHIN_JOB)
        files.renamed(self.client, row, new)

    def set_times(self, path: str, *, atime: float | None = None, mtime: float | None = None) -> None:
        """Keep a file's times (clients set the camera's time after an upload); folders ignore it."""
        node = self.resolve(path)
        if notices.is_notice(self.client, node):
            self._the_notice(node)  # it must be there; its time is the server's
            return
        if node.kind == Kind.FILE and mtime is not None and not files.set_mtime(node.where, mtime):
            raise NotFound(refusals.no_file(node.name))

    def open_read(self, path: str) -> ReadFile:
        node = self.resolve(path)
        if node.kind != Kind.FILE:
            raise IsAFolder(refusals.is_a_folder(node.path))
        if notices.is_notice(self.client, node):
            return notices.NoticeFile(node, self._the_notice(node))
        try:
            return ReadFile(node, self._listed(node))
        except FileNotFoundError:  # removed from storage meanwhile (housekeeping)
            raise NotFound(refusals.no_file(node.name)) from None

    def open_write(
        self, path: str, *, create: bool = True, exclusive: bool = False, truncate: bool = True, append: bool = False
    ) -> StagedUpload:
        """Start writing a file: a new one, a replacement (``truncate``) or a resume of the current bytes."""
        node = file_target(self.client, path)
        notices.refuse_write(self.client, node)
        # A plain upload (create, truncate: what every client sends for a new file) replaces whatever
        # is there when it finishes, so the open need not look: one query less per file.
        plain = create and truncate and not exclusive
        existing = None if plain else files.get(node.where)
        if existing is not None and exclusive:
            raise Conflict(refusals.file_exists(node.name))
        if existing is None and not create:
            raise NotFound(refusals.no_file(node.name))
        try:
            return StagedUpload(self.client, node, resume=None if truncate else existing, append=append)
        except FileNotFoundError:  # deleted between the check and the copy
            raise NotFound(refusals.no_file(node.name)) from None
        except OSError as exc:
            logger.warning("cannot start upload path=%s: %s", node.path, exc)
            raise refusals.storage_failed(exc) from None
