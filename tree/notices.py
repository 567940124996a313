"""An album's ``REJECTED.txt`` (DESIGN §12): the server's read-only file listing this FTP user's rejections there.

Which rejections, and the text, are ``albums.notices`` (the one rule the login banners share); this
module is what the file is in the tree, for every door alike:

- For an FTP user with rejection notices on, the name ``REJECTED.txt`` in an album folder (for a
  device: in its ``/``, which is its album) is the server's file, listed while the album has
  rejections this user should hear of, and absent otherwise. A listed file of the same name is not
  shown to them.
- Its size is the exact length of its text and its time the time of the newest rejection it lists,
  so every listing shows the same file until a rejection comes or goes: a mirroring client that
  compares size and time (rclone, lftp, WinSCP's synchronise) never sees it change between runs.
  ``rclone copy`` and ``lftp mirror -R`` leave a destination's extra files alone; with deleting
  options (``rclone sync``, ``mirror -R --delete``) they delete it, which acknowledges it.
- It is read like any file. Deleting it acknowledges the rejections it lists
  (``albums.notices.rejections_acknowledge``) and succeeds; it comes back with the next rejection.
- It is never written: writing it, renaming it, or renaming another file over it is refused with a
  sentence saying it is read-only; setting its time is accepted and ignored (as permissions are).
- Nobody can upload a file named ``REJECTED.txt`` into an album folder, notices on or off: the name
  is the server's, so it is never taken as an upload and never confused with the server's file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from albums import notices
from albums.models import Album
from audit import context
from jobs.exceptions import Forbidden
from tree.principal import Client
from tree.resolve import Kind, Node
from tree.staging import FileInfo, ReadFile

NAME = notices.NOTICE_NAME

READ_ONLY = _(
    "REJECTED.txt is written by the server and cannot be changed: it lists the files of this album that were "
    "rejected, with the reasons. Delete it once you have read it."
)
RESERVED = _("The name REJECTED.txt belongs to the server's list of rejected files; choose another name.")


@dataclass(frozen=True)
class Notice:
    """The file as one client sees it right now."""

    content: bytes
    mtime: float

    @property
    def size(self) -> int:
        return len(self.content)


def at_notice_place(node: Node) -> bool:
    """Whether ``node`` names ``REJECTED.txt`` where the server keeps it (an album folder, a device's ``/``)."""
    if node.kind != Kind.FILE or node.album is None:
        return False
    if node.device is not None:
        return node.device_dir == "/" and node.device_name == NAME
    return node.folder == "" and node.name == NAME


def shown_to(client: Client) -> bool:
    return bool(client.ftp_user.rejection_notices)


def is_notice(client: Client, node: Node) -> bool:
    """Whether ``node`` is the server's ``REJECTED.txt`` for this client (present or not)."""
    return shown_to(client) and at_notice_place(node)


def notice(client: Client, album: Album) -> Notice | None:
    """The album's ``REJECTED.txt`` for this client, or None while there is nothing to tell."""
    if not shown_to(client):
        return None
    found = notices.rejected_file(ftp_user=client.ftp_user, album=album)
    return Notice(*found) if found is not None else None


def refuse_write(client: Client, node: Node) -> None:
    """Writes to the notice's place are refused, for everybody (read-only for those who see the file)."""
    if at_notice_place(node):
        raise Forbidden(READ_ONLY if shown_to(client) else RESERVED)


def acknowledge(client: Client, album: Album) -> int:
    with context.acting(context.ftp_user(client.ftp_user, client.address)):
        return notices.rejections_acknowledge(ftp_user=client.ftp_user, album=album)


class NoticeFile(ReadFile):
    """``REJECTED.txt`` opened for reading: its text as it was at the open."""

    def __init__(self, node: Node, notice: Notice) -> None:  # no listed row, no storage behind it
        self.node = node
        self.notice = notice
        self._file = io.BytesIO(notice.content)

    def info(self) -> FileInfo:
        return FileInfo(self.notice.size, self.notice.mtime, self.notice.mtime)

    def set_times(self, atime: float | None, mtime: float) -> None:
        pass  # read-only: accepted and ignored
