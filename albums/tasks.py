"""Celery tasks: thin adapters over ``albums.services`` that take ids and re-fetch."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from albums import services


@shared_task(
    name="albums.process_upload",
    bind=True,
    acks_late=True,
    # Transient trouble (database, storage): try again later with growing pauses. A bad file is not
    # an exception here: it ends as a rejected upload with its reason.
    autoretry_for=(DatabaseError, InterfaceError, OSError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def process_upload(self, upload_id: int) -> None:  # type: ignore[no-untyped-def]
    services.upload_process(upload_id=upload_id, token=self.request.id or "")


@shared_task(name="albums.sweep_uploads", acks_late=True)
def sweep_uploads() -> int:
    return services.upload_sweep()
