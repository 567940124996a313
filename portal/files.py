"""Durable local-file operations shared by the doors' tree, the storage and the key files.

Nothing here knows about photos or protocols: fsync of a file and of a folder (so a rename or a
link inside it survives a power cut), an early start of a file's writeback (so that fsync has
little left to wait for), a link-or-copy that never leaves a half-written target, and a
create-once write that is safe when several processes start at the same moment.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import cast

# A hard link is impossible across filesystems (EXDEV), on some filesystems (EPERM, ENOTSUP) and
# past the link count limit (EMLINK): those fall back to a copy. Anything else is a real error.
_NO_LINK = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP)
COPY_CHUNK = 1024 * 1024


def fsync_dir(path: Path) -> None:
    """Make a rename, link or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's ``sync_file_range`` from the C library (a ctypes call releases the GIL), or None."""
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    call.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], call)


_SYNC_FILE_RANGE = _sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writing the dirty pages of the range; do not wait for them


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the disk start on these bytes of ``fd`` now, without waiting for it.

    Not durability (``fsync`` is): a file being received is written out while the rest arrives,
    so the fsync when it is complete waits for its tail, not for all of it (1 GiB of dirty pages
    otherwise). Linux's ``sync_file_range``; elsewhere nothing, and a failure shows at the fsync.
    """
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link_or_copy(source: Path, target: Path) -> None:
    """Give the bytes of ``source`` the new name ``target`` (which must not exist), durably.

    A hard link where the filesystem allows it (no second copy of a 50 MB original), else a copy
    written under a temporary name, fsynced and renamed, so ``target`` is never seen half-written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            with open(source, "rb") as src, open(partial, "xb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
            os.link(partial, target)  # fails if target appeared meanwhile, as os.link above would
        finally:
            partial.unlink(missing_ok=True)
    fsync_dir(target.parent)


def create_once(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Write ``path`` with ``data`` unless it exists; True when this call created it.

    The bytes go to a unique temporary file, are fsynced and then hard-linked to ``path``, which
    fails if another process got there first: whoever starts at the same moment, exactly one
    version of the file ever exists and everybody reads that one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)
