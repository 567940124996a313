"""Moving bytes into Django's storage, and the names stored files get: the only place that knows either.

Everything is addressed by storage names, so an S3-compatible backend can replace the default
FileSystemStorage by settings alone. With FileSystemStorage on the same filesystem as the tree,
a finished upload is hard-linked into storage (no second copy of the bytes); otherwise it is copied
through ``Storage.save``.

Names::

    uploads/<account>/<yyyy>/<mm>/<dd>/<uuid><ext>                 the bytes as received
    uploads/<account>/<yyyy>/<mm>/<dd>/<upload>-<nonce><ext>       moved back from quarantine
    quarantine/<account>/<yyyy>/<mm>/<dd>/<upload>-<nonce><ext>    a rejected upload's bytes
    photos/<account>/<upload>/<nonce>-thumb.jpg | -preview.jpg     renditions

``nonce`` is the claim nonce of the processing run that wrote the name (``albums.intake``), so the
next run knows exactly what a killed run may have left behind.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

from portal.files import COPY_CHUNK, link_or_copy

UPLOADS, QUARANTINE, PHOTOS = "uploads", "quarantine", "photos"


# --- names --------------------------------------------------------------------------------------


def _ext(filename: str) -> str:
    """The extension, kept for people reading a listing only (never trusted for the format)."""
    return PurePosixPath(filename).suffix.lower()[:16]


def upload_name(*, account_id: int, filename: str) -> str:
    """A fresh storage name for the bytes of one upload."""
    day = timezone.now().strftime("%Y/%m/%d")
    return f"{UPLOADS}/{account_id}/{day}/{uuid.uuid4().hex}{_ext(filename)}"


def moved_name(*, area: str, account_id: int, upload_id: int, received_at: datetime, filename: str, nonce: str) -> str:
    """Where a processing run moves an upload's bytes: into ``quarantine`` or back to ``uploads``."""
    assert area in (UPLOADS, QUARANTINE)
    day = timezone.localtime(received_at).strftime("%Y/%m/%d")
    return f"{area}/{account_id}/{day}/{upload_id}-{nonce}{_ext(filename)}"


def rendition_name(*, account_id: int, upload_id: int, nonce: str, rendition: str) -> str:
    return f"{PHOTOS}/{account_id}/{upload_id}/{nonce}-{rendition}.jpg"


# --- bytes --------------------------------------------------------------------------------------


def _local(storage: object) -> FileSystemStorage | None:
    return storage if isinstance(storage, FileSystemStorage) else None


def keeps_names() -> bool:
    """Whether ``store_local_file`` stores under exactly the name asked for (FileSystemStorage: a link),
    so a caller may record the name before the bytes are in."""
    return _local(default_storage) is not None


def store_local_file(local_path: Path, name: str) -> str:
    """Put a finished local file into storage under ``name`` and return the stored name.

    The file is durable when this returns. ``local_path`` stays where it is.
    """
    fs = _local(default_storage)
    if fs is not None:
        link_or_copy(local_path, Path(fs.path(name)))
        return name
    with open(local_path, "rb") as f:
        return default_storage.save(name, File(f))


def save_bytes(name: str, data: bytes) -> str:
    """Store generated content (renditions) and return the name actually used."""
    return default_storage.save(name, ContentFile(data))


def copy(source: str, name: str) -> str:
    """Store the bytes of ``source`` under ``name`` as well and return the name used.

    The caller deletes ``source`` once the new name is recorded (a move in two steps, so a crash
    in between leaves two names for the bytes, never none). On FileSystemStorage this is a hard
    link: quarantining a 50 MB original costs no copy and no disk.
    """
    fs = _local(default_storage)
    if fs is not None:
        link_or_copy(Path(fs.path(source)), Path(fs.path(name)))
        return name
    with default_storage.open(source, "rb") as f:
        return default_storage.save(name, File(f))


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def delete(name: str) -> None:
    if name:
        default_storage.delete(name)


def open_bytes(name: str) -> BinaryIO:
    """The stored bytes, opened for reading (seek and read; a real file on FileSystemStorage)."""
    fs = _local(default_storage)
    if fs is not None:
        return open(fs.path(name), "rb")
    return cast(BinaryIO, default_storage.open(name, "rb"))


@contextmanager
def local_path(name: str) -> Iterator[Path]:
    """A local file holding the stored bytes: the file itself on FileSystemStorage, else a temp copy."""
    fs = _local(default_storage)
    if fs is not None:
        yield Path(fs.path(name))
        return
    with tempfile.NamedTemporaryFile(suffix=PurePosixPath(name).suffix) as tmp:
        with default_storage.open(name, "rb") as src:
            shutil.copyfileobj(src, tmp, COPY_CHUNK)
        tmp.flush()
        yield Path(tmp.name)
