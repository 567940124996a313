"""The portal's own exceptions; every adapter translates these (SFTP status, FTP reply, admin message,
CommandError). ``message`` is written for the person at the other end (a photographer or a studio admin).

The tree (DESIGN §3) uses the finer kinds below so each door can answer in its own words: SFTP's
``SSH_FX_*`` statuses and FTP's reply codes each have a counterpart for every one of them.
"""

from __future__ import annotations

from django.utils.functional import Promise


class PortalError(Exception):
    def __init__(self, message: str | Promise) -> None:
        # A lazy sentence (tree.refusals) is made here, in the language active where it is raised.
        message = str(message)
        super().__init__(message)
        self.message = message


class NotFound(PortalError):
    """The thing named does not exist (or is not visible to this account)."""


class Invalid(PortalError):
    """The input breaks a rule (a name, a status, a key)."""


class Conflict(PortalError):
    """The change collides with what exists (a name already taken, a folder not empty)."""


class Forbidden(PortalError):
    """The change is not allowed here (a closed job, a folder that takes no files)."""


class IsAFolder(Forbidden):
    """A file operation named a folder."""


class NotAFolder(Forbidden):
    """A folder operation named a file."""


class NotEmpty(Conflict):
    """A folder to remove still holds files."""


class TooLarge(PortalError):
    """An upload grew past the size limit; its bytes are gone."""


class StorageFailed(PortalError):
    """The server's disk or storage failed this operation (full, or an I/O error)."""


class StorageFull(StorageFailed):
    """The server's disk is full."""
