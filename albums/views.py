"""Photo files for the admin: served only to staff of the photo's studio.

School and team photos are personal data, so originals and renditions are never public URLs: the
admin links here, and this view checks the account before streaming the file from storage.
"""

from __future__ import annotations

import mimetypes

from django.contrib.admin.views.decorators import staff_member_required
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest

from albums.models import Photo
from jobs import selectors


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
