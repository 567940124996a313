"""The sentences the tree answers with when it refuses something (DESIGN §3, §12).

FileZilla, WinSCP, lftp and cameras' logs show the server's message, so each one says what was
wrong and what to do instead, in the photographer's words and without naming a protocol: every door
sends the same sentence with its own status code.

Each sentence is in the language of the photographer's account (``Account.language``: a
photographer has no browser to ask), before login in the server's ``LANGUAGE_CODE``. A door makes
that language active around each request (``speaking``), so the sentences below are translated
when they are made: the constants lazily, the functions at once. The English texts are the
catalogue's message ids, so they stay exactly as they were.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jobs.exceptions import StorageFailed, StorageFull

if TYPE_CHECKING:
    from jobs.models import FTPUser


def language_of(ftp_user: FTPUser | None) -> str:
    """The language a door speaks to this FTP user: its account's, else the server's default.

    The account must be loaded with the user (the doors' logins ``select_related`` it): a door's
    event loop may not query.
    """
    language = ftp_user.account.language if ftp_user is not None else ""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Sentences made inside are in this language (and in threads started with ``sync_to_async``)."""
    with translation.override(language):
        yield


def speak_in_this_task(language: str) -> None:
    """Sentences made from here to the end of the running asyncio task are in this language.

    For a door's session task (an SFTP channel's request loop): set once, not per request. Django's
    active language is a context variable in async code, and every task runs in a copy of the
    context it was created in, so this reaches the task's ``sync_to_async`` threads and nothing
    outside the task. Costs one call per session where ``speaking`` per SFTP packet cost about
    7 µs, 0.25 s of the event loop's CPU per GB written in 32 KiB packets.
    """
    translation.activate(language)


JOB_FOLDERS_FIXED = _("Job folders are managed by the studio and cannot be changed.")
NO_SUBFOLDERS = _("Albums hold only files and the folders 'individuals' and 'group'.")
SECTION_FOLDERS_FIXED = _("The folders 'individuals' and 'group' belong to every album and cannot be changed.")
TOP_FOLDER_FIXED = _("The top folder cannot be changed.")
NO_FILES_AT_TOP = _("Files cannot be put in the top folder: open a job folder, then an album folder.")
NO_FILES_IN_JOB = _("Upload into an album folder inside the job folder, not into the job folder itself.")
JOBS_BY_STUDIO = _("Job folders are made by the studio; create album folders inside a job folder.")
ONLY_SECTION_FOLDERS = _("Inside an album only the folders 'individuals' and 'group' can be created.")
ALBUM_NOT_EMPTY = _("The album folder is not empty: delete its files first.")
ALBUM_RENAME_WITHIN_JOB = _("An album folder can only be renamed within its job folder.")
MOVE_WITHIN_JOB = _("Files can only be moved within one job.")
NOT_RECORDED = _("The server could not record this upload; please upload it again.")


def no_job(name: str) -> str:
    return gettext("There is no planned job named {name!r}.").format(name=name)


def no_album(name: str, job: str) -> str:
    return gettext("There is no album folder named {name!r} in {job}.").format(name=name, job=job)


def no_file(name: str) -> str:
    return gettext("There is no file named {name!r}.").format(name=name)


def job_exists(name: str) -> str:
    return gettext("The job folder {name!r} already exists.").format(name=name)


def file_exists(name: str) -> str:
    return gettext("{name!r} already exists.").format(name=name)


def is_a_folder(path: str) -> str:
    return gettext("{path} is a folder.").format(path=path)


def not_a_folder(what: str) -> str:
    return gettext("{what} is a file, not a folder.").format(what=what)


def no_folders_in_section(folder: str) -> str:
    return gettext("No folders can be made inside '{folder}'; put files there.").format(folder=folder)


def megabytes(limit: int) -> str:
    if limit < 1024 * 1024:
        return gettext("{limit} bytes").format(limit=limit)
    return gettext("{size:.4g} MB").format(size=limit / (1024 * 1024))


def too_large(limit: int) -> str:
    return gettext("Upload refused: files larger than {size} are not accepted.").format(size=megabytes(limit))


def disk_error(exc: OSError) -> str:
    """What a photographer is told when the server's disk fails them."""
    if disk_full(exc):
        return gettext("The server's disk is full, so this upload failed. Please tell the studio and try again later.")
    return gettext("The server could not store this file. Please try again; tell the studio if it keeps failing.")


def disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def storage_failed(exc: OSError) -> StorageFailed:
    """The refusal for a failing disk: ``StorageFull`` when it is full, so each door can say so in its code."""
    return (StorageFull if disk_full(exc) else StorageFailed)(disk_error(exc))


# --- devices (DESIGN §9) ------------------------------------------------------------------------

DEVICE_JOB_NOT_PLANNED = _("This camera's job is no longer planned: uploads are closed. Ask the studio.")
DEVICE_ROOT_FIXED = _("This camera's album folder cannot be changed.")
DEVICE_FOLDERS_FIXED = _("A camera's folders can be made and removed, not renamed.")


def no_device_folder(path: str) -> str:
    return gettext("There is no folder {path!r}; make it first.").format(path=path)


def device_folder_not_empty(path: str) -> str:
    return gettext("The folder {path!r} is not empty.").format(path=path)
