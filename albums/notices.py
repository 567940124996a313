"""Telling the photographer what went wrong (DESIGN §12): which rejections an FTP user hears of, and the texts.

``rejections`` is the one rule, and the login banner (SFTP's authentication banner, FTP's ``230``
reply), an album's ``REJECTED.txt`` (``tree.notices``) and anything else that tells a photographer
call it. An FTP user hears of an upload when

- the FTP user has ``rejection_notices`` on (photographers start with it on, devices with it off:
  a camera could choke on an extra file, or upload it back);
- it is this FTP user's upload and it was **rejected** (``failed`` ones are the server's trouble,
  retried or looked at by the studio, not something the photographer did wrong);
- it is still listed in the tree (``tree.models.TreeFile``): a rejected file the photographer has
  since replaced, renamed away to a temporary name or deleted was dealt with, and so were the
  server's own rejections of a file replaced or deleted before it was processed;
- it is not acknowledged (``acknowledged_at``: set when the photographer deletes the album's
  ``REJECTED.txt``, ``rejections_acknowledge``).

The banner lists those of the last ``BANNER_WINDOW`` (newest first, at most ``BANNER_MAX_LINES``,
then "and N more"); ``REJECTED.txt`` lists an album's, whenever they came. Texts are in the account's
language (Django's translation machinery: photographers have no browser to ask) and times in its
time zone. They are deterministic for a given set of rejections, so a file's size and time stay put
between listings (mirroring clients compare them). The acknowledgement is the module's one write.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from albums.models import Album, Upload
from audit.services import event_record
from jobs.models import Account, FTPUser
from tree.models import TreeFile

NOTICE_NAME = "REJECTED.txt"
BANNER_WINDOW = timedelta(hours=24)
BANNER_MAX_LINES = 10


# --- the rule ---------------------------------------------------------------------------------


def rejections(*, ftp_user: FTPUser, album: Album | None = None, since: datetime | None = None) -> QuerySet[Upload]:
    """The rejected uploads ``ftp_user`` should hear of (the rules in the module docstring), newest first.

    ``album`` narrows them to one album, ``since`` to those rejected since then.
    """
    if not ftp_user.rejection_notices:
        return Upload.objects.none()
    qs = Upload.objects.filter(
        ftp_user=ftp_user, state=Upload.State.REJECTED, acknowledged_at__isnull=True, album__isnull=False
    ).filter(Exists(TreeFile.objects.filter(upload=OuterRef("pk"))))
    if album is not None:
        qs = qs.filter(album=album)
    if since is not None:
        qs = qs.filter(finished_at__gte=since)
    return qs.select_related("job", "album", "account").order_by("-finished_at", "-id")


def rejections_acknowledge(*, ftp_user: FTPUser, album: Album) -> int:
    """The photographer read (and deleted) the album's ``REJECTED.txt``: its rejections are acknowledged.

    Returns how many were; a rejection arriving afterwards brings the file back.
    """
    with transaction.atomic():
        ids = list(rejections(ftp_user=ftp_user, album=album).values_list("pk", flat=True))
        if not ids:
            return 0
        count = Upload.objects.filter(pk__in=ids, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
        event_record(
            action="upload.acknowledge",
            account=album.job.account,
            target=album,
            detail={"uploads": ids, "ftp_user": ftp_user.username},
        )
    return count


# --- the texts --------------------------------------------------------------------------------


@contextmanager
def _in_language_of(account: Account) -> Iterator[None]:
    with translation.override(account.language or "en"):
        yield


def _zone(account: Account) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(account.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _when(upload: Upload, zone: zoneinfo.ZoneInfo) -> str:
    """The rejection's time in the account's zone: ``2026-12-02 16:03 CET`` (the same in every language)."""
    at = upload.finished_at or upload.received_at
    return timezone.localtime(at, zone).strftime("%Y-%m-%d %H:%M %Z")


def _in_album(upload: Upload, ftp_user: FTPUser) -> str:
    """The file's path inside its album, as the photographer put it (a camera: below its album)."""
    if upload.source_path and ftp_user.kind == FTPUser.Kind.DEVICE:
        return upload.source_path.lstrip("/")
    return f"{upload.folder}/{upload.filename}" if upload.folder else upload.filename


def _one_line(text: str) -> str:
    return " ".join(text.split())


def banner_lines(*, ftp_user: FTPUser, now: datetime | None = None) -> list[str]:
    """The login banner's lines: this FTP user's rejections of the last day; no lines when there are none."""
    since = (now or timezone.now()) - BANNER_WINDOW
    found = list(rejections(ftp_user=ftp_user, since=since)[: BANNER_MAX_LINES + 1])
    if not found:
        return []
    total = len(found) if len(found) <= BANNER_MAX_LINES else rejections(ftp_user=ftp_user, since=since).count()
    account = ftp_user.account
    zone = _zone(account)
    with _in_language_of(account):
        lines = [
            ngettext(
                "%(count)d upload was rejected in the last 24 hours:",
                "%(count)d uploads were rejected in the last 24 hours:",
                total,
            )
            % {"count": total}
        ]
        for upload in found[:BANNER_MAX_LINES]:
            path = f"{upload.job.internal_name}/{upload.album_name}/{_in_album(upload, ftp_user)}"
            lines.append(
                _one_line(
                    _("- %(path)s: %(reason)s (%(when)s)")
                    % {"path": path, "reason": upload.reason, "when": _when(upload, zone)}
                )
            )
        if total > BANNER_MAX_LINES:
            lines.append(_("... and %(count)d more.") % {"count": total - BANNER_MAX_LINES})
        lines.append(
            _("Each album folder with rejected files holds %(name)s with the reasons.") % {"name": NOTICE_NAME}
        )
    return lines


def banner_text(*, ftp_user: FTPUser, now: datetime | None = None) -> str:
    """The banner as one text (SSH authentication banner); "" when there is nothing to tell."""
    lines = banner_lines(ftp_user=ftp_user, now=now)
    return "\r\n".join(lines) + "\r\n" if lines else ""


def rejected_file(*, ftp_user: FTPUser, album: Album) -> tuple[bytes, float] | None:
    """The content of the album's ``REJECTED.txt`` for ``ftp_user`` (UTF-8) and its time, or None.

    Its time is that of the newest rejection listed: it changes only when the listing does.
    """
    found = list(rejections(ftp_user=ftp_user, album=album))
    if not found:
        return None
    account = album.job.account
    zone = _zone(account)
    with _in_language_of(account):
        lines = [
            _("Files in the album folder %(album)s that were not taken in:") % {"album": album.name},
            "",
        ]
        for upload in found:
            lines.append(f"{_in_album(upload, ftp_user)}  ({_when(upload, zone)})")
            lines.append("    " + _one_line(_("Reason: %(reason)s") % {"reason": upload.reason}))
            lines.append("")
        lines.append(_("Fix these files and upload them again under the same name, or ask the studio."))
        lines.append(
            _("This file is written by the server and cannot be changed. Delete it when you have read it:")
            + " "
            + _("it comes back when another file is rejected.")
        )
    newest = max((u.finished_at or u.received_at) for u in found)
    return ("\n".join(lines) + "\n").encode("utf-8"), newest.timestamp()
