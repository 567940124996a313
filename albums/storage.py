"""Moving bytes into Django's storage: the only place that knows where stored files live.

Everything is addressed by storage names, so an S3-compatible backend can replace the default
FileSystemStorage by settings alone. With FileSystemStorage on the same filesystem as the SFTP tree,
a finished upload is hard-linked into storage (no second copy of the bytes); otherwise it is copied
through ``Storage.save``.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone


def fsync_dir(path: Path) -> None:
    """Make a rename or link inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def upload_name(*, account_id: int, filename: str) -> str:
    """A fresh storage name for the bytes of one upload; the extension is kept for people only."""
    ext = PurePosixPath(filename).suffix.lower()[:16]
    day = timezone.now().strftime("%Y/%m/%d")
    return f"uploads/{account_id}/{day}/{uuid.uuid4().hex}{ext}"


def store_local_file(local_path: Path, name: str) -> str:
    """Put a finished local file into storage under ``name`` and return the stored name.

    The file is durable when this returns. ``local_path`` stays where it is.
    """
    storage = default_storage
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(local_path, target)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            with open(local_path, "rb") as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
        fsync_dir(target.parent)
        return name
    with open(local_path, "rb") as f:
        return storage.save(name, File(f))


def save_bytes(name: str, data: bytes) -> str:
    """Store generated content (renditions) and return the name actually used."""
    return default_storage.save(name, ContentFile(data))


def copy(source: str, name: str) -> str:
    """Store the bytes of ``source`` under ``name`` as well and return the name used.

    The caller deletes ``source`` once the new name is recorded (a move in two steps, so a crash
    in between leaves two names for the bytes, never none). On FileSystemStorage this is a hard
    link: quarantining a 50 MB original costs no copy and no disk.
    """
    storage = default_storage
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(storage.path(source), target)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            with storage.open(source, "rb") as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
        fsync_dir(target.parent)
        return name
    with storage.open(source, "rb") as f:
        return storage.save(name, File(f))


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def delete(name: str) -> None:
    if name:
        default_storage.delete(name)


@contextmanager
def local_path(name: str) -> Iterator[Path]:
    """A local file holding the stored bytes: the file itself on FileSystemStorage, else a temp copy."""
    storage = default_storage
    if isinstance(storage, FileSystemStorage):
        yield Path(storage.path(name))
        return
    with tempfile.NamedTemporaryFile(suffix=PurePosixPath(name).suffix) as tmp:
        with storage.open(name, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield Path(tmp.name)
