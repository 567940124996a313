"""Housekeeping (DESIGN §11): the disk holds what the studio still needs, and no more.

``uploads_purge`` removes the stored bytes of uploads nobody needs any more once they are older
than INTAKE_RETENTION_DAYS: uploads that were deleted or replaced (no longer listed in the tree)
and rejected ones (a rejected file still listed leaves the listing with its bytes). Their rows stay
in the upload log, marked purged. A photo's original is never purged, nor is the upload of a file
still listed (a duplicate's own copy included). Each upload is claimed with a conditional UPDATE
before its bytes go, so two runs at once purge each upload once. Staging left by a server that
died is removed when the next one starts (``tree.layout.sweep_staging``), expired bans by the
servers themselves (``tree.guard``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from albums import storage
from albums.models import Photo, Upload
from tree.models import TreeFile

logger = logging.getLogger(__name__)

BATCH = 500


def purgeable() -> QuerySet[Upload]:
    """Uploads whose bytes may go now (a queryset)."""
    cutoff = timezone.now() - timedelta(days=settings.INTAKE_RETENTION_DAYS)
    listed = TreeFile.objects.filter(upload=OuterRef("pk"))
    original = Photo.objects.filter(original=OuterRef("file"))
    return (
        Upload.objects.filter(purged_at__isnull=True, finished_at__lt=cutoff)
        .filter(state__in=(Upload.State.DONE, Upload.State.REJECTED, Upload.State.FAILED))
        .exclude(file="")
        .annotate(listed=Exists(listed), original=Exists(original))
        .filter(original=False)
        .filter(Q(listed=False) | Q(state=Upload.State.REJECTED))
    )


def uploads_purge(*, limit: int = BATCH) -> int:
    """Remove the bytes of up to ``limit`` uploads past their retention; returns how many were purged."""
    purged = 0
    for upload_id, name in purgeable().values_list("pk", "file")[:limit]:
        with transaction.atomic():
            claimed = Upload.objects.filter(pk=upload_id, purged_at__isnull=True).update(
                purged_at=timezone.now(), file=""
            )
            if not claimed:
                continue  # another run took it
            TreeFile.objects.filter(upload_id=upload_id).delete()  # a rejected file leaves the listing
        try:
            storage.delete(name)
        except Exception:
            logger.warning("could not delete %s from storage", name, exc_info=True)
        purged += 1
    if purged:
        logger.info(
            "housekeeping purged the bytes of %d upload(s) older than %d days", purged, settings.INTAKE_RETENTION_DAYS
        )
    return purged
