"""The tree's rows (``tree.models.TreeFile``): what a folder lists, and every change to it.

Each change of a file under a final name happens in one transaction with what it means for the
album (``albums.services``: the upload recorded, the photo moved or removed), so the tree and the
upload log always agree, whatever moment a server dies at. The bytes of a temporary file that is
replaced or removed go once the change is committed; an upload's bytes stay with the upload log
(``albums.housekeeping`` purges them after the retention period).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from albums import services as album_services
from albums import storage
from albums.models import Album, Upload
from albums.services import FilePath, ReceivedFile
from jobs.exceptions import NotFound
from tree.models import TreeFile
from tree.names import is_temporary_name
from tree.principal import Client

GONE = "The album folder was removed while this file was being uploaded."


@dataclass(frozen=True)
class Stored:
    """Finished bytes in storage, ready to be put at a path."""

    name: str  # the storage name
    size: int
    sha256: str
    mtime: float


def _at(where: FilePath) -> TreeFile | None:
    return (
        TreeFile.objects.select_related("upload")
        .filter(album=where.album, folder=where.folder, name=where.filename)
        .first()
    )


def get(where: FilePath) -> TreeFile | None:
    """The file listed at ``where``, if any."""
    return _at(where)


def listing(album: Album, folder: str) -> list[TreeFile]:
    return list(TreeFile.objects.filter(album=album, folder=folder).order_by("name"))


def album_has_files(album: Album) -> bool:
    return TreeFile.objects.filter(album=album).exists()


def _drop_content_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _put(where: FilePath, *, upload: Upload | None, stored: Stored) -> None:
    """Make ``where`` list these bytes, replacing whatever it listed (POSIX rename semantics)."""
    old = TreeFile.objects.select_for_update().filter(album=where.album, folder=where.folder, name=where.filename)
    for replaced in old:
        _drop_content_on_commit(replaced.content)
    old.delete()
    TreeFile.objects.create(
        album=where.album,
        folder=where.folder,
        name=where.filename,
        size=stored.size,
        mtime=stored.mtime,
        sha256=stored.sha256,
        upload=upload,
        content="" if upload is not None else stored.name,
    )


def finished(client: Client, where: FilePath, stored: Stored, source_path: str) -> Upload | None:
    """A client finished writing ``where``: list it, and record it as an upload unless its name is temporary."""
    with transaction.atomic():
        if not Album.objects.select_for_update().filter(pk=where.album.pk).exists():
            raise NotFound(GONE)
        upload = None
        if not is_temporary_name(where.filename):
            received = _received(client, stored, source_path)
            upload = album_services.file_finished(where=where, received=received)
        _put(where, upload=upload, stored=stored)
    return upload


def _received(client: Client, stored: Stored, source_path: str) -> ReceivedFile:
    return ReceivedFile(
        stored_name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
        ftp_user=client.ftp_user,
        door=client.door,
        client_address=client.address,
        source_path=source_path,
    )


def renamed(client: Client, old: TreeFile, new: FilePath, source_path: str) -> Upload | None:
    """A listed file got a new path (within its job): what that means, in one transaction.

    temporary -> final: the upload is complete now (WinSCP, cameras), and takes the bytes;
    final -> final: its photo follows (also between sections), replacing what had the new name;
    final -> temporary: its photo goes; temporary -> temporary: only the listing changes.
    """
    where = FilePath(album=old.album, folder=old.folder, filename=old.name)
    with transaction.atomic():
        row = TreeFile.objects.select_for_update(of=("self",)).select_related("upload").filter(pk=old.pk).first()
        if row is None:
            raise NotFound(f"There is no file named {old.name!r}.")
        stored = Stored(name=row.stored_name, size=row.size, sha256=row.sha256, mtime=row.mtime)
        upload = None
        if is_temporary_name(new.filename):
            if row.upload is not None:  # a finished file made temporary again: its photo goes
                album_services.file_removed(where=where, door=client.door)
            _put(new, upload=None, stored=_own_copy(stored, row))
        elif row.upload is None:
            upload = album_services.file_finished(where=new, received=_received(client, stored, source_path))
            _put(new, upload=upload, stored=stored)
        else:
            album_services.file_renamed(old=where, new=new)
            _put(new, upload=row.upload, stored=stored)
        TreeFile.objects.filter(pk=row.pk).delete()
    return upload


def _own_copy(stored: Stored, row: TreeFile) -> Stored:
    """A temporary file needs bytes of its own: an upload's stay with the upload log."""
    if row.upload is None:
        return stored
    name = storage.copy(stored.name, storage.upload_name(account_id=row.album.job.account_id, filename=row.name))
    return Stored(name=name, size=stored.size, sha256=stored.sha256, mtime=stored.mtime)


def removed(client: Client, row: TreeFile) -> None:
    """A client deleted a listed file: its photo goes (final names), its own bytes too (temporary ones)."""
    with transaction.atomic():
        if row.upload_id is not None:
            where = FilePath(album=row.album, folder=row.folder, filename=row.name)
            album_services.file_removed(where=where, door=client.door)
        deleted, _ = TreeFile.objects.filter(pk=row.pk).delete()
        if deleted:
            _drop_content_on_commit(row.content)


def set_mtime(where: FilePath, mtime: float) -> bool:
    """Keep a file's modification time (clients set the camera's time); False when it is not listed."""
    return bool(
        TreeFile.objects.filter(album=where.album, folder=where.folder, name=where.filename).update(mtime=mtime)
    )
