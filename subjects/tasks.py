"""Celery tasks of the subjects: scanning an album's photos that were never scanned for cards.

The worker scans each individuals photo as it arrives, once its album has subjects. Photos that
came earlier (a roster imported after the upload) or from ``group`` are scanned here, queued when
subjects are created (``subjects.services``); assignment follows.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from subjects import detect

logger = logging.getLogger("subjects.tasks")


@shared_task(name="subjects.scan_album", acks_late=True)
def scan_album(album_id: int) -> int:
    return detect.scan_missing(album_id=album_id)  # assignment follows inside


def scan_album_later(album_id: int) -> None:
    """Queue ``scan_album`` once the caller's transaction commits; a broker that is away only delays it."""

    def send() -> None:
        try:
            scan_album.delay(album_id)
        except Exception:  # the next import, or an operator's `subjects` command, queues it again
            logger.warning("could not queue the card scan of album %s", album_id, exc_info=True)

    transaction.on_commit(send)
