"""The tree's rows (``tree.models.TreeFile``): what a folder lists, and every change to it.

Each change of a file under a final name happens in one transaction with what it means for the
album (``albums.services``: the upload recorded, the photo moved or removed), so the tree and the
upload log always agree, whatever moment a server dies at. The bytes of a temporary file that is
replaced or removed go once the change is committed; an upload's bytes stay with the upload log
(``albums.housekeeping`` purges them after the retention period).

A device's files (DESIGN §9) keep their photos: the same name again is a new photo, a delete or a
rename only changes what the device lists, and a connection test (``devices.services``) is
recorded on the device and never listed or taken in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from albums import services as album_services
from albums import storage
from albums.models import Album, Upload
from albums.services import FilePath, ReceivedFile
from devices import services as device_services
from jobs.exceptions import NotFound
from tree import refusals
from tree.models import TreeFile
from tree.names import is_temporary_name
from tree.principal import Client
from tree.resolve import Node

GONE = _("The album folder was removed while this file was being uploaded.")


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


def listing(album: Album, folder: str, device_dir: str | None = None) -> list[TreeFile]:
    """The files of an album folder (a camera's among them, by their album names), or
    (``device_dir``) the files of one folder of a device's view."""
    rows = TreeFile.objects.filter(album=album, folder=folder)
    if device_dir is not None:
        rows = rows.filter(device_dir=device_dir)
    return list(rows.order_by("device_name", "name"))


def device_folder_has_files(album: Album, folder: str, device_dir: str) -> bool:
    return TreeFile.objects.filter(album=album, folder=folder, device_dir=device_dir).exists()


def album_has_files(album: Album) -> bool:
    return TreeFile.objects.filter(album=album).exists()


def _drop_content_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def is_temporary(node: Node) -> bool:
    """Whether the file ``node`` names is under a temporary name (stored and listed, never taken in)."""
    return is_temporary_name(node.device_name or node.name, device=node.device is not None)


def _put(where: FilePath, *, upload: Upload | None, stored: Stored, node: Node | None = None) -> None:
    """Make ``where`` list these bytes, replacing whatever it listed (POSIX rename semantics)."""
    old = list(TreeFile.objects.select_for_update().filter(album=where.album, folder=where.folder, name=where.filename))
    for replaced in old:
        _drop_content_on_commit(replaced.content)
    if old:  # a new name (the usual upload) has nothing to delete: no DELETE statement then
        TreeFile.objects.filter(pk__in=[replaced.pk for replaced in old]).delete()
    TreeFile.objects.create(
        album=where.album,
        folder=where.folder,
        name=where.filename,
        size=stored.size,
        mtime=stored.mtime,
        sha256=stored.sha256,
        upload=upload,
        content="" if upload is not None else stored.name,
        device_dir=node.device_dir if node is not None else "",
        device_name=node.device_name if node is not None else "",
    )


def finished(client: Client, node: Node, stored: Stored, durable: Callable[[], object] = lambda: None) -> Upload | None:
    """A client finished writing ``node``: list it, and record it as an upload unless its name is temporary.

    ``durable`` returns once the bytes are on disk (raising if they could not be): called last, so
    the transaction commits only then.
    """
    with transaction.atomic():
        where = _current(node.where)
        if _connection_test(client, node):
            durable()  # stored before the commit drops it again
            _drop_content_on_commit(stored.name)
            return None
        upload = None
        if not is_temporary(node):
            received = _received(client, stored, node.path)
            upload = album_services.file_finished(where=where, received=received, replaces=not client.is_device)
        _put(where, upload=upload, stored=stored, node=node)
        durable()
    return upload


def _current(where: FilePath) -> FilePath:
    """``where`` with its album fresh from the database and locked for this transaction.

    The album may have been renamed or removed during a long upload; ``album_services.file_finished``
    records the upload with the album as read here.
    """
    album = Album.objects.select_for_update(of=("self",)).select_related("job").filter(pk=where.album.pk).first()
    if album is None:
        raise NotFound(GONE)
    return dataclasses.replace(where, album=album)


def _connection_test(client: Client, node: Node) -> bool:
    """A device's connection test (its profile's names): recorded on the device, never a photo."""
    if node.device is None or not device_services.is_connection_test(node.device, node.device_name):
        return False
    device_services.device_test_received(device=node.device, name=node.device_name, address=client.address)
    return True


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


def renamed(client: Client, old: TreeFile, new: Node) -> Upload | None:
    """A listed file got a new path (within its job): what that means, in one transaction.

    temporary -> final: the upload is complete now (WinSCP, cameras), and takes the bytes;
    final -> final: its photo follows (also between sections), replacing what had the new name;
    final -> temporary: its photo goes; temporary -> temporary: only the listing changes.
    A device's photos stay: renamed over, its photo is set aside; made temporary, it stays a photo.
    """
    where = FilePath(album=old.album, folder=old.folder, filename=old.name)
    with transaction.atomic():
        row = TreeFile.objects.select_for_update(of=("self",)).select_related("upload").filter(pk=old.pk).first()
        if row is None:
            raise NotFound(refusals.no_file(old.shown_name))
        stored = Stored(name=row.stored_name, size=row.size, sha256=row.sha256, mtime=row.mtime)
        upload = None
        if row.upload is None and not is_temporary(new) and _connection_test(client, new):
            _drop_content_on_commit(row.content)
        elif is_temporary(new):
            if row.upload is not None and not client.is_device:  # a finished file made temporary again
                album_services.file_removed(where=where, door=client.door)
            _put(new.where, upload=None, stored=_own_copy(stored, row), node=new)
        elif row.upload is None:
            received = _received(client, stored, new.path)
            upload = album_services.file_finished(
                where=_current(new.where), received=received, replaces=not client.is_device
            )
            _put(new.where, upload=upload, stored=stored, node=new)
        else:
            album_services.file_renamed(old=where, new=new.where, replaces=not client.is_device)
            _put(new.where, upload=row.upload, stored=stored, node=new)
        TreeFile.objects.filter(pk=row.pk).delete()
    return upload


def _own_copy(stored: Stored, row: TreeFile) -> Stored:
    """A temporary file needs bytes of its own: an upload's stay with the upload log."""
    if row.upload is None:
        return stored
    name = storage.copy(stored.name, storage.upload_name(account_id=row.album.job.account_id, filename=row.name))
    return Stored(name=name, size=stored.size, sha256=stored.sha256, mtime=stored.mtime)


def removed(client: Client, row: TreeFile) -> None:
    """A client deleted a listed file: its photo goes (final names), its own bytes too (temporary ones).

    A device's delete only drops the name from what it lists: cameras delete to make room for a rename.
    """
    with transaction.atomic():
        if row.upload_id is not None and not client.is_device:
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
