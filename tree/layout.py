"""The only files a server node keeps on its own disk: bytes still being written (DESIGN §11).

Each server process stages into a folder of its own, ``TREE_ROOT/.staging/<host>-<pid>/``, so
processes sharing a disk (``runportal`` runs the SFTP and FTP servers side by side) never touch
each other's files. What a process that died left behind is removed when the next one starts on
that host (``sweep_staging``): its folder names a process that no longer exists. Finished files
live in storage, listed by the database (``tree.models``).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from pathlib import Path

from django.conf import settings

logger = logging.getLogger("tree.layout")

# Loose staging files (from before per-process folders) older than this are left-overs of a crash.
STAGING_MAX_AGE = 24 * 3600


def root() -> Path:
    return Path(settings.TREE_ROOT)


def staging_root() -> Path:
    return root() / ".staging"


def _host() -> str:
    return socket.gethostname().replace("/", "_")


def staging_dir() -> Path:
    """This process's staging folder (made on first use)."""
    directory = staging_root() / f"{_host()}-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


def sweep_staging(max_age: float = STAGING_MAX_AGE) -> int:
    """Remove what crashed processes of this host left in staging; returns how many files went.

    Folders of other hosts are theirs to sweep (a shared volume), and live processes' folders are
    in use.
    """
    directory = staging_root()
    if not directory.is_dir():
        return 0
    prefix = f"{_host()}-"
    cutoff = time.time() - max_age
    removed = 0
    for entry in os.scandir(directory):
        try:
            if entry.is_dir(follow_symlinks=False):
                pid = entry.name[len(prefix) :] if entry.name.startswith(prefix) else ""
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    removed += sum(len(files) for _, _, files in os.walk(entry.path))
                    shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        logger.info("removed %d staging file(s) left by processes that died", removed)
    return removed
