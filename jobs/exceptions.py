"""The portal's own exceptions; every adapter translates these (SFTP status, admin message, CommandError).

``message`` is written for the person at the other end (a photographer or a studio admin).
"""

from __future__ import annotations


class PortalError(Exception):
    def __init__(self, message: str) -> None:
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
