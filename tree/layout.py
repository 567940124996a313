"""Where the tree's files live on the local disk, and the blocking file work on them.

Names come from the database (planned jobs, albums); file bytes live on disk under ids, not names:
``TREE_ROOT/<account id>/<job id>/<album id>/[individuals|group/]<file name>``, so renaming an
album is a database change only and nothing a client sends ever becomes part of a directory path
except a validated file name. Files being written live in ``TREE_ROOT/.staging/<uuid>`` until they
are finished (``tree.staging``).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from portal.files import fsync_dir
from tree.names import SECTION_FOLDERS

if TYPE_CHECKING:
    from albums.models import Album

# Staging files older than this are left-overs of a crash and are removed at start-up.
STAGING_MAX_AGE = 24 * 3600


def root() -> Path:
    return Path(settings.TREE_ROOT)


def album_dir(album: Album) -> Path:
    job = album.job
    return root() / str(job.account_id) / str(job.pk) / str(album.pk)


def folder_dir(album: Album, folder: str) -> Path:
    """The directory of an album's folder ("" is the album folder itself)."""
    return album_dir(album) / folder if folder else album_dir(album)


def staging_dir() -> Path:
    return root() / ".staging"


def list_files(directory: Path) -> list[tuple[str, os.stat_result]]:
    """The files in ``directory`` with their stat, sorted by name; none when it does not exist."""
    try:
        with os.scandir(directory) as entries:
            return sorted((e.name, e.stat()) for e in entries if e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []


def make_album_dirs(album: Album) -> None:
    for sub in SECTION_FOLDERS:
        (album_dir(album) / sub).mkdir(parents=True, exist_ok=True)


def remove_album_dirs(album: Album) -> None:
    directory = album_dir(album)
    for sub in (*SECTION_FOLDERS, ""):
        # Already gone, or a file arrived meanwhile: the folder is harmless either way.
        with contextlib.suppress(OSError):
            (directory / sub).rmdir()


def album_has_files(album: Album) -> bool:
    return any(list_files(folder_dir(album, sub)) for sub in ("", *SECTION_FOLDERS))


def unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def move(old: Path, new: Path) -> None:
    """Rename a finished file within the tree (replacing what is there), durably."""
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
