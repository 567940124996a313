"""What a path names for a client: the top folder, a planned job, an album, a section folder or a file.

Only the planned jobs of the client's own account exist; everything else is "no such file", with a
sentence naming what is missing. A device (a camera, DESIGN §9) sees its album as ``/`` instead:
folders it made, at any depth, and its files, each stored in the album under the name
``devices.paths.album_name`` gives it. Each resolution costs one round trip to the database at most
(job and album in one go), because every request of every client starts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import QuerySet

from albums.models import Album
from albums.services import FilePath
from devices import paths as device_paths
from devices.models import Device, DeviceFolder
from jobs import selectors
from jobs.exceptions import Forbidden, IsAFolder, NotFound
from jobs.models import FTPUser, PhotoJob
from tree import refusals
from tree.names import join, section_folder, segments, validate_name
from tree.principal import Client


class Kind(StrEnum):
    ROOT = "root"
    JOB = "job"
    ALBUM = "album"
    SECTION = "section"
    FILE = "file"
    DEVICE_FOLDER = "device-folder"  # a device's ``/`` (its album) or a folder it made below


FOLDER_KINDS = (Kind.ROOT, Kind.JOB, Kind.ALBUM, Kind.SECTION, Kind.DEVICE_FOLDER)


@dataclass(frozen=True)
class Node:
    """A resolved virtual path (the file itself need not exist for ``kind == FILE``)."""

    kind: Kind
    path: str
    job: PhotoJob | None = None
    album: Album | None = None
    folder: str = ""  # "", "individuals" or "group"
    name: str = ""  # the file name in the album (FILE)
    device: Device | None = None  # set for every node a device resolves
    device_dir: str = ""  # a device's folder: the folder itself, or the one a FILE is in ("/", "/a/b")
    device_name: str = ""  # the name the device gave a FILE (``name`` is its album file name)

    @property
    def is_folder(self) -> bool:
        return self.kind in FOLDER_KINDS

    @property
    def where(self) -> FilePath:
        assert self.album is not None
        return FilePath(album=self.album, folder=self.folder, filename=self.name)


def planned_jobs(account_id: int) -> list[PhotoJob]:
    return list(selectors.planned_jobs(account_id=account_id))


def _named_job(account_id: int, name: str) -> QuerySet[PhotoJob]:
    """The planned job of this account with this folder name (at most one)."""
    return selectors.planned_jobs(account_id=account_id).filter(internal_name=name)


def find_job(account_id: int, name: str) -> PhotoJob | None:
    return _named_job(account_id, name).first()


def albums_of(job: PhotoJob) -> list[Album]:
    albums = list(Album.objects.filter(job=job))
    for album in albums:
        album.job = job  # spares a query per album whenever its path is used
    return albums


def _lookup(account_id: int, job_name: str, album_name: str | None) -> tuple[PhotoJob | None, Album | None]:
    """The planned job and its album a path names: one query when both exist (every open and close)."""
    if album_name is not None:
        album = (
            Album.objects.select_related("job")
            .filter(job__in=_named_job(account_id, job_name), name__iexact=album_name)
            .first()
        )
        if album is not None:
            return album.job, album
    return find_job(account_id, job_name), None


def device_of(client: Client) -> Device | None:
    """The device a client is, with its album and job (None for a person); its job must be planned."""
    if client.ftp_user.kind != FTPUser.Kind.DEVICE:
        return None
    device = Device.objects.select_related("album__job").filter(ftp_user_id=client.ftp_user.pk).first()
    if device is None or device.album.job.status != PhotoJob.Status.PLANNED:
        raise NotFound(refusals.DEVICE_JOB_NOT_PLANNED)
    return device


def device_folder_exists(device: Device, folders: list[str]) -> bool:
    return not folders or DeviceFolder.objects.filter(device=device, path="/".join(folders)).exists()


def device_file(device: Device, folders: list[str], name: str) -> Node:
    """The file ``name`` in a device's folder ``folders`` (which must exist)."""
    return Node(
        Kind.FILE,
        join([*folders, name]),
        job=device.album.job,
        album=device.album,
        folder=device.folder,
        name=device_paths.album_name(folders, name),
        device=device,
        device_dir=device_paths.folder_path(folders),
        device_name=name,
    )


def _device_node(device: Device, parts: list[str], vpath: str) -> Node:
    if device_folder_exists(device, parts):
        return Node(
            Kind.DEVICE_FOLDER,
            vpath,
            job=device.album.job,
            album=device.album,
            folder=device.folder,
            device=device,
            device_dir=device_paths.folder_path(parts),
        )
    folders, name = parts[:-1], parts[-1]
    if not device_folder_exists(device, folders):
        raise NotFound(refusals.no_device_folder(join(folders)))
    validate_name(name)
    return device_file(device, folders, name)


def resolve_parts(client: Client, parts: list[str]) -> Node:
    """The node ``parts`` name; raises ``NotFound`` when it names nothing."""
    vpath = join(parts)
    device = device_of(client)
    if device is not None:
        return _device_node(device, parts, vpath)
    if not parts:
        return Node(Kind.ROOT, vpath)
    job, album = _lookup(client.account_id, parts[0], parts[1] if len(parts) > 1 else None)
    if job is None:
        raise NotFound(refusals.no_job(parts[0]))
    if len(parts) == 1:
        return Node(Kind.JOB, vpath, job=job)
    if album is None:
        raise NotFound(refusals.no_album(parts[1], parts[0]))
    if len(parts) == 2:
        return Node(Kind.ALBUM, vpath, job=job, album=album)
    rest = parts[2:]
    folder = section_folder(rest[0])
    if folder is not None and len(rest) == 1:
        return Node(Kind.SECTION, vpath, job=job, album=album, folder=folder)
    if folder is not None and len(rest) == 2:
        name = rest[1]
    elif folder is None and len(rest) == 1:
        folder, name = "", rest[0]
    else:
        raise NotFound(refusals.NO_SUBFOLDERS)
    validate_name(name)
    return Node(Kind.FILE, vpath, job=job, album=album, folder=folder, name=name)


def resolve(client: Client, path: str, *, navigate: bool = True) -> Node:
    """What ``path`` names. ``navigate`` follows ``.``/``..`` (looking around); changes refuse them."""
    return resolve_parts(client, segments(path, navigate=navigate))


def new_child(client: Client, path: str) -> tuple[Node, str]:
    """For creating something: the parent folder and the new name (validated)."""
    parts = segments(path, navigate=False)
    if not parts:
        raise Forbidden(refusals.TOP_FOLDER_FIXED if device_of(client) is None else refusals.DEVICE_ROOT_FIXED)
    validate_name(parts[-1])
    return resolve_parts(client, parts[:-1]), parts[-1]


def file_target(client: Client, path: str) -> Node:
    """The file node a write or rename goes to, with the precise refusal where there can be none."""
    parent, name = new_child(client, path)
    if parent.kind == Kind.DEVICE_FOLDER:
        assert parent.device is not None
        return device_file(parent.device, segments(parent.path, navigate=False), name)
    if parent.kind == Kind.ROOT:
        raise Forbidden(refusals.NO_FILES_AT_TOP)
    if parent.kind == Kind.JOB:
        raise Forbidden(refusals.NO_FILES_IN_JOB)
    if parent.kind == Kind.FILE:
        raise NotFound(refusals.NO_SUBFOLDERS)
    vpath = f"{parent.path}/{name}"
    if parent.kind == Kind.ALBUM and section_folder(name):
        raise IsAFolder(refusals.is_a_folder(vpath))
    return Node(Kind.FILE, vpath, job=parent.job, album=parent.album, folder=parent.folder, name=name)
