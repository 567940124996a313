"""The portal's refusals as FTP replies: the tree's sentence behind the code an FTP client expects.

550 for what does not exist or may not be done there, 553 for a name the tree does not take,
552 for a file over the size limit, 452 when the disk is full, 451 when the server failed, and 501
for a malformed argument. SFTP sends the same sentences with its own status codes (``sftpd.vfs``).
"""

from __future__ import annotations

from jobs.exceptions import Invalid, NotFound, PortalError, StorageFailed, StorageFull, TooLarge


def _one_line(message: str) -> str:
    return " ".join(message.split())  # a reply line must not break


def reply(exc: PortalError) -> str:
    """The reply line for a refusal of the tree."""
    if isinstance(exc, NotFound):
        code = 550
    elif isinstance(exc, Invalid):
        code = 553
    elif isinstance(exc, TooLarge):
        code = 552
    elif isinstance(exc, StorageFull):
        code = 452
    elif isinstance(exc, StorageFailed):
        code = 451
    else:  # Forbidden, IsAFolder, NotAFolder, Conflict, NotEmpty
        code = 550
    return f"{code} {_one_line(exc.message)}"


def syntax_error(message: str) -> str:
    return f"501 {_one_line(message)}"
