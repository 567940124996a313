"""The sentences the tree answers with when it refuses something (DESIGN §3, §12).

FileZilla, WinSCP, lftp and cameras' logs show the server's message, so each one says what was
wrong and what to do instead, in the photographer's words and without naming a protocol: every door
sends the same sentence with its own status code.
"""

from __future__ import annotations

import errno

from jobs.exceptions import StorageFailed, StorageFull

JOB_FOLDERS_FIXED = "Job folders are managed by the studio and cannot be changed."
NO_SUBFOLDERS = "Albums hold only files and the folders 'individuals' and 'group'."
SECTION_FOLDERS_FIXED = "The folders 'individuals' and 'group' belong to every album and cannot be changed."
TOP_FOLDER_FIXED = "The top folder cannot be changed."
NO_FILES_AT_TOP = "Files cannot be put in the top folder: open a job folder, then an album folder."
NO_FILES_IN_JOB = "Upload into an album folder inside the job folder, not into the job folder itself."
JOBS_BY_STUDIO = "Job folders are made by the studio; create album folders inside a job folder."
ONLY_SECTION_FOLDERS = "Inside an album only the folders 'individuals' and 'group' can be created."
ALBUM_NOT_EMPTY = "The album folder is not empty: delete its files first."
ALBUM_RENAME_WITHIN_JOB = "An album folder can only be renamed within its job folder."
MOVE_WITHIN_JOB = "Files can only be moved within one job."
NOT_RECORDED = "The server could not record this upload; please upload it again."


def no_job(name: str) -> str:
    return f"There is no planned job named {name!r}."


def no_album(name: str, job: str) -> str:
    return f"There is no album folder named {name!r} in {job}."


def no_file(name: str) -> str:
    return f"There is no file named {name!r}."


def job_exists(name: str) -> str:
    return f"The job folder {name!r} already exists."


def file_exists(name: str) -> str:
    return f"{name!r} already exists."


def is_a_folder(path: str) -> str:
    return f"{path} is a folder."


def not_a_folder(what: str) -> str:
    return f"{what} is a file, not a folder."


def no_folders_in_section(folder: str) -> str:
    return f"No folders can be made inside '{folder}'; put files there."


def megabytes(limit: int) -> str:
    if limit < 1024 * 1024:
        return f"{limit} bytes"
    return f"{limit / (1024 * 1024):.4g} MB"


def too_large(limit: int) -> str:
    return f"Upload refused: files larger than {megabytes(limit)} are not accepted."


def disk_error(exc: OSError) -> str:
    """What a photographer is told when the server's disk fails them."""
    if disk_full(exc):
        return "The server's disk is full, so this upload failed. Please tell the studio and try again later."
    return "The server could not store this file. Please try again; tell the studio if it keeps failing."


def disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def storage_failed(exc: OSError) -> StorageFailed:
    """The refusal for a failing disk: ``StorageFull`` when it is full, so each door can say so in its code."""
    return (StorageFull if disk_full(exc) else StorageFailed)(disk_error(exc))


# --- devices (DESIGN §9) ------------------------------------------------------------------------

DEVICE_JOB_NOT_PLANNED = "This camera's job is no longer planned: uploads are closed. Ask the studio."
DEVICE_ROOT_FIXED = "This camera's album folder cannot be changed."
DEVICE_FOLDERS_FIXED = "A camera's folders can be made and removed, not renamed."


def no_device_folder(path: str) -> str:
    return f"There is no folder {path!r}; make it first."


def device_folder_not_empty(path: str) -> str:
    return f"The folder {path!r} is not empty."
