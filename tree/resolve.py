"""What a path names for a client: the top folder, a planned job, an album, a section folder or a file.

Only the planned jobs of the client's own account exist; everything else is "no such file", with a
sentence naming what is missing. Each resolution costs one round trip to the database at most
(job and album in one go), because every request of every client starts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from albums.models import Album
from albums.services import FilePath
from jobs import selectors
from jobs.exceptions import Forbidden, IsAFolder, NotFound
from jobs.models import PhotoJob
from tree import refusals
from tree.names import join, section_folder, segments, validate_name
from tree.principal import Client


class Kind(StrEnum):
    ROOT = "root"
    JOB = "job"
    ALBUM = "album"
    SECTION = "section"
    FILE = "file"


FOLDER_KINDS = (Kind.ROOT, Kind.JOB, Kind.ALBUM, Kind.SECTION)


@dataclass(frozen=True)
class Node:
    """A resolved virtual path (the file itself need not exist for ``kind == FILE``)."""

    kind: Kind
    path: str
    job: PhotoJob | None = None
    album: Album | None = None
    folder: str = ""  # "", "individuals" or "group"
    name: str = ""  # the file name (FILE)

    @property
    def is_folder(self) -> bool:
        return self.kind in FOLDER_KINDS

    @property
    def where(self) -> FilePath:
        assert self.album is not None
        return FilePath(album=self.album, folder=self.folder, filename=self.name)


def planned_jobs(account_id: int) -> list[PhotoJob]:
    return list(selectors.planned_jobs(account_id=account_id))


def find_job(account_id: int, name: str) -> PhotoJob | None:
    return selectors.planned_jobs(account_id=account_id).filter(internal_name=name).first()


def albums_of(job: PhotoJob) -> list[Album]:
    albums = list(Album.objects.filter(job=job))
    for album in albums:
        album.job = job  # spares a query per album whenever its path is used
    return albums


def _lookup(account_id: int, job_name: str, album_name: str | None) -> tuple[PhotoJob | None, Album | None]:
    job = find_job(account_id, job_name)
    if job is None or album_name is None:
        return job, None
    album = Album.objects.filter(job=job, name__iexact=album_name).first()
    if album is not None:
        album.job = job
    return job, album


def resolve_parts(client: Client, parts: list[str]) -> Node:
    """The node ``parts`` name; raises ``NotFound`` when it names nothing."""
    vpath = join(parts)
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
        raise Forbidden(refusals.TOP_FOLDER_FIXED)
    validate_name(parts[-1])
    return resolve_parts(client, parts[:-1]), parts[-1]


def file_target(client: Client, path: str) -> Node:
    """The file node a write or rename goes to, with the precise refusal where there can be none."""
    parent, name = new_child(client, path)
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
