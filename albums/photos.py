"""Which path a photo belongs to, and keeping every listed path's picture when photos are shared.

A photo lives at one path of its album (``Photo.folder``/``filename``). Identical bytes uploaded
under a second name make no second photo: that upload points at the first name's photo. Before the
first name lets go of the photo (deleted, replaced with other bytes, renamed over), the photo moves
to a name that still lists its bytes, so no listed file is ever left without its picture.
Used by ``albums.services`` (deletes and renames) and ``albums.intake`` (replacements).

A device's photos are never replaced (DESIGN §9: cameras reuse names): when a camera's new file
takes a path whose photo shows other bytes, the older photo is set aside under a name of its own
(``photo_set_aside``) and the new file becomes a new photo.
"""

from __future__ import annotations

import logging

from albums.models import SECTION_OF_FOLDER, Photo, Upload
from tree.models import TreeFile
from tree.names import MAX_NAME_BYTES

logger = logging.getLogger(__name__)


def photo_hand_over(*, photo: Photo) -> bool:
    """Give a photo whose own path is taking other bytes to a path that still lists its bytes.

    Identical bytes uploaded under a second name in an album make no second photo: that upload
    points at the photo of the first name. When the first name is deleted, replaced with other
    bytes or renamed over, the photo must not take the second name's picture with it: it moves to
    the second name instead (its bytes, metadata and renditions stay; its original becomes that
    upload's copy). Returns True when it moved, False when no other listed path depends on it.
    """
    heir = (
        TreeFile.objects.select_related("upload", "album")
        .filter(upload__photo=photo, upload__state=Upload.State.DONE, upload__sha256=photo.sha256)
        .exclude(album=photo.album, folder=photo.folder, name=photo.filename)
        .order_by("pk")
        .first()
    )
    if heir is None or heir.upload is None:
        return False
    taken = Photo.objects.filter(album=heir.album, folder=heir.folder, filename=heir.name).exclude(pk=photo.pk)
    if taken.exists():  # that path has a photo of its own after all
        return False
    photo.album, photo.folder, photo.filename = heir.album, heir.folder, heir.name
    photo.section = SECTION_OF_FOLDER[heir.folder]
    photo.original = heir.upload.file.name
    photo.uploaded_by_id = heir.upload.ftp_user_id
    photo.save()
    logger.info("photo %s handed over to %s (same bytes)", photo.pk, photo)
    return True


def aside_name(photo: Photo) -> str:
    """A name only this photo can have: ``name~<photo id>.ext``, within the length limit."""
    stem, dot, ext = photo.filename.rpartition(".")
    if not dot or not stem:
        stem, ext = photo.filename, ""
    suffix = f"~{photo.pk}" + (f".{ext}" if ext else "")
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + suffix


def photo_set_aside(*, photo: Photo) -> None:
    """Move a device's photo off its path so that a new file there becomes a new photo."""
    old = photo.filename
    photo.filename = aside_name(photo)
    photo.save(update_fields=["filename", "updated_at"])
    logger.info("photo %s set aside as %r: its device sent a new %r", photo.pk, photo.filename, old)
