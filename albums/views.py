"""Photo and upload files for the admin: served only to staff of the studio they belong to.

School and team photos are personal data, so originals and renditions are never public URLs: the
admin links here, and these views check the account before streaming the file from storage.

``upload_file`` answers with the bytes an upload received, wherever they are now (``uploads/``, or
``quarantine/`` once rejected): a rejected file is evidence a studio's staff may look at and
download. The upload log's admin routes to it (``/admin/albums/upload/<id>/file/``) after finding the
upload among the person's own, so another studio's answers exactly as a missing one (404). Such a
file is untrusted input: it is shown in the browser only when its name claims a picture type, always
with ``nosniff`` and a sandboxing Content-Security-Policy; anything else is a download.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from django.contrib.admin.views.decorators import staff_member_required
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest
from django.utils.http import content_disposition_header

from albums.models import Photo, Upload
from jobs import selectors

# Types a browser shows without running anything: what a rejected file may be shown as.
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}


@staff_member_required
def photo_file(request: HttpRequest, name: str) -> FileResponse:
    photos = Photo.objects.filter(Q(thumbnail=name) | Q(preview=name) | Q(original=name))
    if not request.user.is_superuser:
        photos = photos.filter(album__job__account__memberships__user_id=selectors.signed_in(request.user))
    if not photos.exists() or not default_storage.exists(name):
        raise Http404("No such photo file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def inline_type(upload: Upload) -> str | None:
    """The type an upload's file is shown in the browser as, or None when it is only downloaded."""
    content_type = mimetypes.guess_type(upload.filename)[0]
    return content_type if content_type in INLINE_TYPES else None


def upload_file(upload: Upload, *, download: bool) -> FileResponse:
    """The bytes of one upload, shown (a picture type, ``download`` false) or downloaded.

    The caller (``albums.admin.UploadAdmin.file_view``) has found the upload among those the person
    may see; a purged or missing file is a 404.
    """
    name = str(upload.file.name)
    if not name or not default_storage.exists(name):
        raise Http404("No such upload file.")
    shown = inline_type(upload)
    attachment = download or shown is None
    response = FileResponse(default_storage.open(name, "rb"), content_type=shown or "application/octet-stream")
    filename = PurePosixPath(upload.filename).name or f"upload-{upload.pk}"
    response["Content-Disposition"] = content_disposition_header(attachment, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    return response
